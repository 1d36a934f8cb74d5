"""Reduce the value when a validation metric stops improving."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

from mmhooks.errors import check_choice
from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler, scheduler_error
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["MissingMetricError", "ReduceOnPlateauLR", "ReduceOnPlateauMomentum", "ReduceOnPlateauParamScheduler"]

log = logging.getLogger(__name__)


class MissingMetricError(KeyError):
    """The monitored metric is absent from the validation metrics (a ``KeyError``, as in MMEngine)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauParamScheduler(_ParamScheduler):
    """Multiply ``param_name`` by ``factor`` after more than ``patience`` validations without improvement.

    ``step()`` without metrics (called after every training epoch) only counts
    epochs for the window test; ``step(metrics)`` (after validation) judges the
    ``monitor`` metric, inside the window only. Construction changes nothing.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        monitor: Key of the metric in the validation metrics dict.
        rule: ``"less"`` (lower is better) or ``"greater"``.
        factor: Multiplier applied on a plateau; below 1.
        patience: Validations without improvement tolerated before reducing.
        threshold: Smallest change that counts as an improvement.
        threshold_rule: ``"rel"`` (relative to the best) or ``"abs"``.
        cooldown: Validations to wait after a reduction before counting again.
        min_value: Lower bound, a number or one per optimizer group.
        eps: Reductions smaller than this are skipped.
        begin: First epoch (inclusive) of the window.
        end: Last epoch (exclusive) of the window.
        last_step: Index of the last validation judged; ``-1`` for a fresh start.
        by_epoch: Must be True.
        verbose: Log every update.

    Raises:
        MissingMetricError: ``monitor`` is not among the metrics (names the available keys).

    State:
        Every attribute but the optimizer, as MMEngine (``best``,
        ``num_bad_epochs``, ``cooldown_counter``, ``monitor``, ``factor``...);
        no ``base_values``. It never wraps ``optimizer.step`` and never warns
        about the step order, as in MMEngine.

    MMEngine parity:
        ``convert_to_iter_based`` and ``by_epoch=False`` raise ConfigError (MMEngine:
        AttributeError and AssertionError).

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ReduceOnPlateauLR(opt, monitor="loss", factor=0.5, patience=0)
        >>> for loss in (1.0, 1.0):
        ...     sched.step({"loss": loss})
        >>> opt.param_groups[0]["lr"]
        0.5
    """

    need_val_args = True

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        monitor: str = "loss",
        rule: str = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_rule: str = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        owner = type(self).__name__
        if not by_epoch:
            raise scheduler_error(owner, "by_epoch", by_epoch, "True (it acts after validation epochs)",
                                  "remove by_epoch=False.")
        if factor >= 1.0:
            raise scheduler_error(owner, "factor", factor, "a number below 1", "use e.g. factor=0.1.")
        if threshold < 0:
            raise scheduler_error(owner, "threshold", threshold, "a number >= 0", "use e.g. threshold=1e-4.")
        check_choice("rule", rule, ("greater", "less"), where=owner)
        check_choice("threshold_rule", threshold_rule, ("abs", "rel"), where=owner)
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch, verbose)
        self._global_step = 0
        self.monitor = monitor
        self.rule = rule
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_rule = threshold_rule
        self.cooldown = cooldown
        self.eps = eps
        self.min_values = self._min_values(owner, optimizer, min_value)
        self.rule_worse: float = INF if rule == "less" else -INF
        self.best: Any = self.rule_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    @staticmethod
    def _min_values(owner: str, optimizer: OptimizerLike, min_value: float | Sequence[float]) -> list[float]:
        """One bound per group; a wrapper's extra base group repeats the last bound."""
        groups = len(optimizer.param_groups)
        if not isinstance(min_value, (list, tuple)):
            return [cast(float, min_value)] * groups
        raw_optimizer: Any = getattr(optimizer, "optimizer", optimizer)
        raw_groups = len(raw_optimizer.param_groups)
        if len(min_value) != raw_groups:
            raise scheduler_error(owner, "min_value", list(min_value),
                                  f"a number or a list of {raw_groups} (one per optimizer param group)",
                                  "give one bound per param group.")
        values = list(min_value)
        return values + values[-1:] * (groups - raw_groups)

    def _improved(self, metric: Any) -> bool:
        if self.rule == "less":
            limit = self.best * (1.0 - self.threshold) if self.threshold_rule == "rel" else self.best - self.threshold
            return bool(metric < limit)
        limit = self.best * (self.threshold + 1.0) if self.threshold_rule == "rel" else self.best + self.threshold
        return bool(metric > limit)

    def step(self, metrics: Mapping[str, Any] | None = None) -> None:
        """Count an epoch (no ``metrics``) or judge one validation result."""
        if metrics is None:
            self._global_step += 1
            self._sync_betas()
            return
        if not isinstance(metrics, Mapping):
            raise TypeError(f"{type(self).__name__}.step: metrics must be a dict, got {type(metrics).__name__}.")
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            self._judge(self._metric(metrics))
        self._sync_betas()
        self._last_value = self._current_values()

    def _metric(self, metrics: Mapping[str, Any]) -> Any:
        value = metrics.get(self.monitor)
        if value is None:
            raise MissingMetricError(
                f"{type(self).__name__}.monitor: metric {self.monitor!r} is not among the validation metrics "
                f"{sorted(metrics)}. Fix: set monitor to one of those keys, or log {self.monitor!r} during "
                "validation."
            )
        return value

    def _judge(self, metric: Any) -> None:
        if self._improved(metric):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for index, (group, value) in enumerate(zip(self.optimizer.param_groups, self._get_value())):
                if group[self.param_name] - value > self.eps:
                    self._write_one(index, group, value)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def _write_one(self, index: int, group: dict[str, Any], value: Any) -> None:
        group[self.param_name] = value
        if self.verbose:
            log.info("%s: %s of group %d set to %.4e at validation %d.", type(self).__name__, self.param_name,
                     index, value, self.last_step)

    def _get_value(self) -> list[Any]:
        return [max(float(value) * self.factor, floor) for value, floor in zip(self._current_values(), self.min_values)]

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, **kwargs: Any) -> _ParamScheduler:
        """Not possible: the scheduler acts after validation epochs."""
        raise scheduler_error(cls.__name__, "convert_to_iter_based", True, "False (it acts on validation epochs)",
                              "remove convert_to_iter_based.")


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauLR(ReduceOnPlateauParamScheduler):
    """:class:`ReduceOnPlateauParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        monitor: str = "loss",
        rule: str = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_rule: str = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", monitor=monitor, rule=rule, factor=factor, patience=patience,
                         threshold=threshold, threshold_rule=threshold_rule, cooldown=cooldown, min_value=min_value,
                         eps=eps, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch, verbose=verbose)


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauMomentum(ReduceOnPlateauParamScheduler):
    """:class:`ReduceOnPlateauParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        monitor: str = "loss",
        rule: str = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_rule: str = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", monitor=monitor, rule=rule, factor=factor,
                         patience=patience, threshold=threshold, threshold_rule=threshold_rule, cooldown=cooldown,
                         min_value=min_value, eps=eps, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch,
                         verbose=verbose)
