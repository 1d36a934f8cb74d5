"""The base of every parameter scheduler: the step window, chaining and resumable progress.

A scheduler rewrites one hyper-parameter (``lr``, ``momentum``...) in every
``param_group`` of an optimizer. Each ``step()`` reads the value currently in
the group and writes the next one, so several schedulers acting on the same
parameter chain in list order. Subclasses only supply :meth:`_ParamScheduler._get_value`.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

from mmhooks.errors import AssertedConfigError, ConfigError
from mmhooks.optim.scheduler.step_order import attach_step_counter, warn_if_misordered

__all__ = ["INF", "OptimizerLike", "_ParamScheduler", "optimizer_defaults", "scheduler_error"]

log = logging.getLogger(__name__)

#: MMEngine's "no end" (an int, so ``int(end * epoch_length)`` stays exact).
INF = int(1e9)

#: A ``torch.optim.Optimizer`` or any object with ``param_groups`` (an ``OptimWrapper``).
OptimizerLike = Any


def scheduler_error(owner: str, key: str, value: object, expected: str, fix: str) -> ConfigError:
    """A :class:`ConfigError` located at ``owner.key``; the builder re-locates it to the config path.

    MMEngine checks scheduler arguments with ``assert``, so the error is also an ``AssertionError``.
    """
    return AssertedConfigError(key, value, expected, fix, where=owner)


def optimizer_defaults(optimizer: OptimizerLike) -> dict[str, Any]:
    """The optimizer's ``defaults``, looked up through a wrapper's ``.optimizer`` when needed."""
    for candidate in (optimizer, getattr(optimizer, "optimizer", None)):
        defaults = getattr(candidate, "defaults", None)
        if isinstance(defaults, dict):
            return defaults
    groups = optimizer.param_groups
    return dict(groups[0]) if groups else {}


def _plain(value: Any) -> Any:
    """A copy of ``value`` that ``torch.load(weights_only=True)`` reads (containers copied, tuples kept)."""
    if isinstance(value, Counter):
        return Counter(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value


def _check_window(owner: str, begin: int, end: int) -> None:
    if end <= begin:
        raise scheduler_error(
            owner, "end", end, f"a step greater than begin ({begin!r})", "raise end or lower begin."
        )


def _check_last_step(owner: str, last_step: object) -> None:
    if isinstance(last_step, bool) or not isinstance(last_step, int) or last_step < -1:
        raise scheduler_error(
            owner, "last_step", last_step, "an int >= -1", "use -1 for a fresh start (resume with load_state_dict)."
        )


class _ParamScheduler:
    """Base class of parameter schedulers: a window ``[begin, end)`` of steps that rewrite ``param_name``.

    Construction counts as step 0: it records ``initial_<param_name>`` in every
    group (only if no earlier scheduler did), then calls :meth:`step` once, so a
    scheduler whose window starts at 0 already changes the value.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The key scheduled in every group, e.g. ``"lr"`` or ``"momentum"``.
        begin: First step (inclusive) that updates the value.
        end: Step (exclusive) after which the value is left alone.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch (else an iteration).
        verbose: Log every update at INFO level.

    Raises:
        TypeError: ``optimizer`` has no ``param_groups``.
        ConfigError: ``end <= begin``, a bad ``last_step``, or ``momentum`` on an
            optimizer that has neither ``momentum`` nor ``betas``.

    State:
        Every attribute but the optimizer, under MMEngine's names: progress
        (``_global_step``, ``last_step``, ``base_values``, ``_last_value``)
        and the hyper-parameters (``begin``, ``end``, ``gamma``, ``milestones``,
        ``T_max``...), plus ``version``. :meth:`load_state_dict` restores them
        all, so a resumed run keeps the checkpoint's schedule even if the
        config changed, as in MMEngine; MMEngine's scheduler states load too.

    Warnings:
        As MMEngine: building a scheduler wraps ``optimizer.step`` with a call
        counter, and the first :meth:`step` warns (``UserWarning``) when the
        optimizer has not stepped since, or when ``optimizer.step`` was
        replaced (see :mod:`~mmhooks.optim.scheduler.step_order`).

    MMEngine parity:
        Bad arguments raise :class:`~mmhooks.errors.ConfigError` (a ``ValueError``)
        where MMEngine asserts. ``momentum`` on an Adam-style optimizer is
        handled here rather than in a mixin. The state holds plain data only
        (``torch.load(weights_only=True)`` reads it).
    """

    STATE_VERSION: ClassVar[int] = 1
    #: Constructor arguments counted in steps, multiplied by ``epoch_length`` on conversion.
    EPOCH_SCALED_ARGS: ClassVar[tuple[str, ...]] = ()
    #: Whether the hook must call ``step(metrics)`` after validation.
    need_val_args: ClassVar[bool] = False
    #: Whether the scheduler rewrites Adam's ``betas[0]`` as ``momentum`` (set per instance for momentum).
    use_betas: bool = False

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        self._attach(optimizer, param_name, begin, end, last_step, by_epoch, verbose)
        self.base_values: list[Any] = [group[f"initial_{param_name}"] for group in optimizer.param_groups]
        attach_step_counter(optimizer)
        self._global_step = -1
        self.step()

    def _attach(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        begin: int,
        end: int,
        last_step: int,
        by_epoch: bool,
        verbose: bool,
    ) -> None:
        """Validate the shared arguments and record ``initial_<param_name>`` in every group."""
        owner = type(self).__name__
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(
                f"{owner}.optimizer: got {type(optimizer).__name__}; expected a torch.optim.Optimizer or an "
                "object with param_groups (an OptimWrapper). Fix: pass the optimizer or its wrapper."
            )
        _check_window(owner, begin, end)
        _check_last_step(owner, last_step)
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch
        self.verbose = verbose
        self.last_step = last_step
        if param_name == "momentum":
            self.use_betas = self._adopt_betas(optimizer)
        key = f"initial_{param_name}"
        for index, group in enumerate(optimizer.param_groups):
            if last_step == -1:
                group.setdefault(key, group[param_name])
            elif key not in group:
                raise KeyError(
                    f"{owner}: param_groups[{index}] has no {key!r} although last_step={last_step}. "
                    f"Fix: load the optimizer state first, or build with last_step=-1 and load_state_dict."
                )
        self._last_value: list[Any] = [group[param_name] for group in optimizer.param_groups]

    def _adopt_betas(self, optimizer: OptimizerLike) -> bool:
        """Schedule Adam's ``betas[0]`` as ``momentum``; True when the optimizer has betas, not momentum."""
        defaults = optimizer_defaults(optimizer)
        if "momentum" in defaults:
            return False
        if "betas" not in defaults:
            raise scheduler_error(
                type(self).__name__,
                "optimizer",
                type(getattr(optimizer, "optimizer", optimizer)).__name__,
                "an optimizer with a 'momentum' or 'betas' setting (SGD, RMSprop, Adam, AdamW...)",
                "schedule lr only, or use an optimizer with momentum.",
            )
        for group in optimizer.param_groups:
            group["momentum"] = group["betas"][0]
        return True

    # ------------------------------------------------------------------ stepping
    def _get_value(self) -> list[Any]:
        """The next value of every group, from the current ones (the chainable form)."""
        raise NotImplementedError

    def _current_values(self) -> list[Any]:
        return [group[self.param_name] for group in self.optimizer.param_groups]

    def step(self) -> None:
        """Advance one step; inside ``[begin, end)`` write the next value to every group."""
        if self._global_step == 0:  # the first step after construction
            warn_if_misordered(type(self).__name__, self.optimizer)
        self._global_step += 1
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            self._write(self._get_value())
        if self.use_betas:
            self._sync_betas()
        self._last_value = self._current_values()

    def _write(self, values: Sequence[Any]) -> None:
        name = self.param_name
        for index, (group, value) in enumerate(zip(self.optimizer.param_groups, values)):
            group[name] = value
            if self.verbose:
                log.info("%s: %s of group %d set to %.4e.", type(self).__name__, name, index, value)

    def _sync_betas(self) -> None:
        if self.use_betas:
            for group in self.optimizer.param_groups:
                group["betas"] = (group["momentum"], group["betas"][1])

    def get_last_value(self) -> list[Any]:
        """The value of every group right after the latest :meth:`step`."""
        return self._last_value

    # --------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (MMEngine's content), as plain data, plus ``version``."""
        state = {key: _plain(value) for key, value in vars(self).items() if key != "optimizer"}
        state["version"] = self.STATE_VERSION
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore every attribute saved by :meth:`state_dict` (or by an MMEngine scheduler), as MMEngine does.

        Keys the state lacks keep their current values, so an older
        progress-only state still resumes.
        """
        self._check_version(state_dict)
        for key, value in state_dict.items():
            if key not in ("optimizer", "version"):
                setattr(self, key, copy.deepcopy(value))

    def _check_version(self, state_dict: dict[str, Any]) -> None:
        version = state_dict.get("version", 0)
        if version > self.STATE_VERSION:
            raise RuntimeError(
                f"{type(self).__name__}: checkpoint state version {version} is newer than this mmhooks "
                f"({self.STATE_VERSION}). Fix: upgrade mmhooks to resume."
            )

    # ---------------------------------------------------------------- conversion
    @classmethod
    def build_iter_from_epoch(
        cls,
        *args: Any,
        begin: float = 0,
        end: float = INF,
        by_epoch: bool = True,
        epoch_length: int | None = None,
        **kwargs: Any,
    ) -> _ParamScheduler:
        """Build the iteration-based equivalent of an epoch-based configuration.

        ``begin``, ``end`` (unless ``INF``) and the step counts named in
        ``EPOCH_SCALED_ARGS`` are multiplied by ``epoch_length``; ``begin`` and
        ``end`` may be fractional epochs (truncated to whole iterations).
        """
        owner = cls.__name__
        if not by_epoch:
            raise scheduler_error(
                owner, "by_epoch", by_epoch, "True with convert_to_iter_based", "drop convert_to_iter_based."
            )
        if isinstance(epoch_length, bool) or not isinstance(epoch_length, int) or epoch_length <= 0:
            raise scheduler_error(
                owner, "epoch_length", epoch_length, "a positive int (batches per epoch)",
                "pass the train dataloader length as epoch_length.",
            )
        for name in cls.EPOCH_SCALED_ARGS:
            value = kwargs.get(name)
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                kwargs[name] = [item * epoch_length for item in value]
            else:
                kwargs[name] = value * epoch_length
        iter_begin = int(begin * epoch_length)
        iter_end = cast(int, end) if end == INF else int(end * epoch_length)
        factory: Callable[..., _ParamScheduler] = cls  # subclasses take positional args before ``begin``
        return factory(*args, begin=iter_begin, end=iter_end, by_epoch=False, **kwargs)

    def __repr__(self) -> str:
        unit = "epoch" if self.by_epoch else "iter"
        return f"{type(self).__name__}({self.param_name}, {unit} [{self.begin}, {self.end}), step={self._global_step})"
