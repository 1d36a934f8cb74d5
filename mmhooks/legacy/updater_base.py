"""The update machinery shared by MMCV's LR and momentum updaters: base values, warmup, when to write.

The hooks run on MMEngine mount points, whose counters equal MMCV's where the updaters read them:
in ``before_train_iter`` ``runner.iter`` is the 0-based index of the batch about to run and
``runner.epoch`` the 0-based epoch; ``max_iters`` is ``max_epochs * len(train loader)``.
"""

from __future__ import annotations

from typing import Any, Optional

from mmhooks.errors import ConfigError, check_choice
from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.legacy.runner_access import optimizers_of, train_loader_len

__all__ = ["ValueUpdaterHook"]

Groups = dict[Optional[str], list[float]]
WARMUP_KINDS = ("constant", "exp", "linear")


class ValueUpdaterHook(Hook):
    """Writes a per-param-group value (LR or momentum) from a policy, with MMCV's warmup rules.

    Args:
        by_epoch: Recompute the policy value once per epoch (``True``) or every iteration.
        warmup: ``"constant"``, ``"linear"``, ``"exp"`` or ``None``.
        warmup_iters: Warmup length in iterations (in epochs with ``warmup_by_epoch``).
        warmup_ratio: Warmup factor at iteration 0, in ``(0, 1]``.
        warmup_by_epoch: ``warmup_iters`` counts epochs; converted at the first training epoch.

    Subclasses define :meth:`policy_value` (one value from a base value), :meth:`read_base`,
    :meth:`write` and :meth:`apply_warmup`.
    """

    def __init__(
        self,
        by_epoch: bool = True,
        warmup: str | None = None,
        warmup_iters: int = 0,
        warmup_ratio: float = 0.1,
        warmup_by_epoch: bool = False,
    ) -> None:
        where = type(self).__name__
        if warmup is not None:
            check_choice("warmup", warmup, WARMUP_KINDS, where)
            if not warmup_iters > 0:
                raise ConfigError("warmup_iters", warmup_iters, "a positive number", "set warmup_iters > 0.", where)
            if not 0 < warmup_ratio <= 1:
                raise ConfigError("warmup_ratio", warmup_ratio, "a value in (0, 1]", "use e.g. 0.001.", where)
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_ratio = warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        self.warmup_epochs: int | None = warmup_iters if warmup_by_epoch else None
        self.warmup_iters: int | None = None if warmup_by_epoch else warmup_iters
        self.base_values: Groups = {}
        self.regular_values: Groups = {}

    # ----------------------------------------------------------- subclass API
    def policy_value(self, runner: Any, base: float) -> float:
        """The scheduled value for ``base`` at the runner's current progress."""
        raise NotImplementedError

    def read_base(self, group: dict[str, Any]) -> float:
        """Store and return the group's base value (``initial_*`` survives a resume)."""
        raise NotImplementedError

    def write(self, group: dict[str, Any], value: float) -> None:
        raise NotImplementedError

    def apply_warmup(self, value: float, factor: float) -> float:
        raise NotImplementedError

    # --------------------------------------------------------------- helpers
    def progress(self, runner: Any) -> tuple[int, int]:
        """``(epoch, max_epochs)`` by epoch, ``(iter, max_iters)`` by iteration."""
        if self.by_epoch:
            return runner.epoch, runner.max_epochs
        return runner.iter, runner.max_iters

    def regular(self, runner: Any) -> Groups:
        """The policy values for every group, before warmup."""
        return {key: [self.policy_value(runner, b) for b in bases] for key, bases in self.base_values.items()}

    def warmup_factor(self, t: int) -> float:
        """MMCV's warmup factor at iteration ``t < warmup_iters``."""
        assert self.warmup_iters is not None
        if self.warmup == "constant":
            return self.warmup_ratio
        if self.warmup == "linear":
            return 1 - (1 - t / self.warmup_iters) * (1 - self.warmup_ratio)
        return float(self.warmup_ratio ** (1 - t / self.warmup_iters))

    def warmed(self, t: int) -> Groups:
        factor = self.warmup_factor(t)
        return {key: [self.apply_warmup(v, factor) for v in values] for key, values in self.regular_values.items()}

    def write_all(self, runner: Any, values: Groups) -> None:
        for key, optimizer in optimizers_of(runner).items():
            for group, value in zip(optimizer.param_groups, values.get(key, [])):
                self.write(group, value)

    # ------------------------------------------------------------ mount points
    def before_run(self, runner: Any) -> None:
        self.base_values = {
            key: [self.read_base(group) for group in optimizer.param_groups]
            for key, optimizer in optimizers_of(runner).items()
        }

    def before_train_epoch(self, runner: Any) -> None:
        if self.warmup_iters is None:
            self.warmup_iters = int(self.warmup_epochs or 0) * train_loader_len(runner)
        if not self.by_epoch:
            return
        self.regular_values = self.regular(runner)
        self.write_all(runner, self.regular_values)

    def before_train_iter(self, runner: Any, batch_idx: int = 0, data_batch: DATA_BATCH = None) -> None:
        t = runner.iter
        warmup_iters = self.warmup_iters if self.warmup_iters is not None else 0
        if not self.by_epoch:
            self.regular_values = self.regular(runner)
            if self.warmup is None or t >= warmup_iters:
                self.write_all(runner, self.regular_values)
            else:
                self.write_all(runner, self.warmed(t))
            return
        if self.warmup is None or t > warmup_iters:
            return
        if t == warmup_iters:
            self.write_all(runner, self.regular_values)
        else:
            self.write_all(runner, self.warmed(t))

