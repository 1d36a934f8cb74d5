"""``EarlyStoppingHook``: stop training once a validation metric has stopped improving."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, Optional

from mmhooks.errors import AssertedTypeError, ConfigError, check_choice, closest
from mmhooks.hooks.hook import Hook
from mmhooks.hooks.metric_rule import DEFAULT_GREATER_KEYS, DEFAULT_LESS_KEYS, RULES, infer_rule, rule_map
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["EarlyStoppingHook", "infer_rule"]


@HOOKS.register_module()
class EarlyStoppingHook(Hook):
    """Stop training when ``monitor`` has not improved for ``patience`` validation rounds.

    Each validation round compares ``metrics[monitor]`` with the best value so
    far; a value counts as an improvement only when it beats the best by more
    than ``min_delta``. Stopping sets ``runner.train_loop.stop_training``, so
    the current epoch (or iteration) and its validation still finish.

    Args:
        monitor: Metric key as reported to ``after_val_epoch``, e.g. ``"accuracy/top1"``.
        rule: ``"greater"`` or ``"less"``; inferred from ``monitor`` when ``None``
            (names with ``acc``, ``top``, ``mAP``, ``mIoU``, ... are greater, ``loss`` less).
        min_delta: Smallest change that counts as an improvement.
        strict: Raise when ``monitor`` is missing from the metrics, instead of warning.
        check_finite: Stop as soon as the metric is NaN or infinite.
        patience: Validation rounds without improvement before stopping.
        stopping_threshold: Stop as soon as the metric is better than this.

    Raises:
        ConfigError: ``rule`` is not ``"greater"``/``"less"``, or cannot be inferred.

    State:
        ``wait_count`` and ``best_score`` (and ``version``). Constructor
        arguments are never restored; they come from the config you resume with.

    MMEngine parity:
        ``best_score`` keeps the metric's own type (float, numpy scalar or
        tensor), as in MMEngine. MMEngine keeps no state across a resume (the
        count starts over), and its ``before_run`` fails for runs without a
        training loop; this hook only checks a training loop that exists.
        MMEngine warns on every round with a missing metric; this hook warns once.

    Example:
        >>> hook = EarlyStoppingHook("loss", patience=2)
        >>> hook.rule, hook.state_dict()
        ('less', {'version': 1, 'wait_count': 0, 'best_score': inf})
    """

    priority = "LOWEST"
    STATE_VERSION = 1

    # Class attributes, as in MMEngine, so downstream projects can extend them.
    rule_map = rule_map
    _default_greater_keys = DEFAULT_GREATER_KEYS
    _default_less_keys = DEFAULT_LESS_KEYS

    def __init__(
        self,
        monitor: str,
        rule: Optional[str] = None,
        min_delta: float = 0.1,
        strict: bool = False,
        check_finite: bool = True,
        patience: int = 5,
        stopping_threshold: Optional[float] = None,
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ConfigError(
                "monitor", monitor, "a metric name (str)", "set monitor to a key of the validation metrics.",
                "EarlyStoppingHook",
            )
        if rule is None:
            rule = self._init_rule(monitor)
        check_choice("rule", rule, RULES, where="EarlyStoppingHook")
        self.monitor = monitor
        self.rule = rule
        # Signed so that ``best + min_delta`` is the value a new score has to beat.
        self.min_delta = min_delta if rule == "greater" else -min_delta
        self.strict = strict
        self.check_finite = check_finite
        self.patience = patience
        self.stopping_threshold = stopping_threshold
        self.wait_count = 0
        # The metric's own type once a score is seen (a float, a numpy scalar or a tensor), as in MMEngine.
        self.best_score: Any = -math.inf if rule == "greater" else math.inf
        self._warned_missing = False

    def _init_rule(self, monitor: str) -> str:
        """The rule inferred from ``monitor`` with this class's key lists (see :mod:`mmhooks.hooks.metric_rule`)."""
        rule = infer_rule(monitor, self._default_greater_keys, self._default_less_keys)
        if rule is None:
            raise ConfigError(
                "rule", None, f"one of {sorted(RULES)} (no rule can be inferred from monitor={monitor!r})",
                "set rule='greater' if a larger value is better, else rule='less'.", "EarlyStoppingHook",
            )
        return rule

    @property
    def state_key(self) -> str:
        """Identifies this hook's state in a checkpoint, so two early stoppers can coexist."""
        return f"{type(self).__qualname__}{{'monitor': {self.monitor!r}, 'rule': {self.rule!r}}}"

    def _better(self, score: Any, reference: Any) -> bool:
        return bool(self.rule_map[self.rule](score, reference))

    def _should_stop(self, score: Any) -> Optional[str]:
        """Update the best score and wait count with ``score``; the reason to stop, or ``None``."""
        if self.check_finite and not math.isfinite(score):
            return f"{self.monitor} is {score}, not a finite number; the best was {self.best_score:.3f}."
        if self.stopping_threshold is not None and self._better(score, self.stopping_threshold):
            self.best_score = score
            return f"{self.monitor} = {score} reached the stopping threshold {self.stopping_threshold} ({self.rule})."
        if self._better(self.best_score + self.min_delta, score):
            self.wait_count += 1
            if self.wait_count >= self.patience:
                return (
                    f"{self.monitor} has not improved by more than {abs(self.min_delta)} in the last "
                    f"{self.wait_count} validation rounds; the best was {self.best_score:.3f}."
                )
            return None
        self.best_score = score
        self.wait_count = 0
        return None

    def before_run(self, runner: RunnerLike) -> None:
        train_loop = getattr(runner, "train_loop", None)
        if train_loop is not None and not hasattr(train_loop, "stop_training"):
            raise AssertedTypeError(
                f"EarlyStoppingHook: the runner's train_loop ({type(train_loop).__name__}) has no "
                "'stop_training' attribute. Fix: use a training loop that can be stopped, or remove the hook."
            )

    def after_val_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        metrics = {} if metrics is None else metrics
        if self.monitor not in metrics:
            self._report_missing(metrics)
            return
        reason = self._should_stop(metrics[self.monitor])
        if reason is not None:
            runner.train_loop.stop_training = True
            runner.logger.info(f"Early stopping: {reason}")

    def _report_missing(self, metrics: Mapping[str, Any]) -> None:
        keys = sorted(metrics)
        near = closest(self.monitor, keys)
        hint = f"set monitor={near!r}" if near else "set monitor to one of them"
        if self.strict:
            raise RuntimeError(
                f"EarlyStoppingHook.monitor: {self.monitor!r} is not among the validation metrics {keys}. "
                f"Fix: {hint}, or strict=False to skip early stopping while it is missing."
            )
        if not self._warned_missing:
            self._warned_missing = True
            warnings.warn(
                f"EarlyStoppingHook.monitor: {self.monitor!r} is not among the validation metrics {keys}; "
                f"early stopping is skipped for those rounds. Fix: {hint}.",
                UserWarning,
                stacklevel=2,
            )

    def state_dict(self) -> dict[str, Any]:
        return {"version": self.STATE_VERSION, "wait_count": self.wait_count, "best_score": self.best_score}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        version = state_dict.get("version", 0)
        if version > self.STATE_VERSION:
            raise RuntimeError(
                f"{self.state_key}: checkpoint state version {version} is newer than this mmhooks "
                f"({self.STATE_VERSION}). Fix: upgrade mmhooks to resume."
            )
        # Version 0 (no "version" key) had the same two entries.
        self.wait_count = int(state_dict["wait_count"])
        self.best_score = state_dict["best_score"]
