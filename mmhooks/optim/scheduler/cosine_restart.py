"""Cosine annealing with warm restarts (SGDR): one cosine per period, each restarting at a weight."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler, scheduler_error
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["CosineRestartLR", "CosineRestartMomentum", "CosineRestartParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class CosineRestartParamScheduler(_ParamScheduler):
    """Anneal ``param_name`` along a cosine in each period, restarting at ``initial * restart_weights[i]``.

    Each restart sets the value absolutely (overriding earlier schedulers);
    within a period the value never quite reaches the floor. After the last
    period the value is frozen.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        periods: Length of each period, in steps.
        restart_weights: Peak of each period, as a fraction of the initial value.
        eta_min: Absolute floor, shared by all groups. Give exactly one of
            ``eta_min`` and ``eta_min_ratio``.
        eta_min_ratio: Floor as a fraction of each group's initial value.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = CosineRestartLR(opt, periods=[2, 2], restart_weights=[1, 0.5], eta_min=0.0)
        >>> for _ in range(2):
        ...     opt.step()  # the optimizer steps first, then the scheduler
        ...     sched.step()
        >>> opt.param_groups[0]["lr"]
        0.5
    """

    EPOCH_SCALED_ARGS = ("periods",)

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        owner = type(self).__name__
        if (eta_min is None) == (eta_min_ratio is None):
            given = {"eta_min": eta_min, "eta_min_ratio": eta_min_ratio}
            raise scheduler_error(owner, "eta_min", eta_min,
                                  f"exactly one of eta_min and eta_min_ratio (got {given})",
                                  "set eta_min (an absolute floor, e.g. 0.0) or eta_min_ratio, not both.")
        if len(periods) != len(restart_weights):
            raise scheduler_error(owner, "restart_weights", list(restart_weights),
                                  f"one weight per period ({len(periods)} periods)",
                                  "give restart_weights the same length as periods.")
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        self.cumulative_periods = list(itertools.accumulate(self.periods))
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _period_of(self, t: int) -> int | None:
        """Index of the period holding window step ``t``; ``None`` after the last one."""
        for index, period_end in enumerate(self.cumulative_periods):
            if t < period_end:
                return index
        return None

    def _get_value(self) -> list[Any]:
        values = self._current_values()
        index = self._period_of(self.last_step)
        if index is None:
            return values
        since_restart = self.last_step - (self.cumulative_periods[index - 1] if index else 0)
        length, weight = self.periods[index], self.restart_weights[index]
        if since_restart == 0:
            return [base * weight for base in self.base_values]
        ratio = (1 + math.cos(math.pi * since_restart / length)) / (1 + math.cos(math.pi * (since_restart - 1) / length))
        result = []
        for value, base in zip(values, self.base_values):
            floor = self.eta_min if self.eta_min_ratio is None else base * self.eta_min_ratio
            result.append(floor + ratio * (value - floor))
        return result


@PARAM_SCHEDULERS.register_module()
class CosineRestartLR(CosineRestartParamScheduler):
    """:class:`CosineRestartParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", periods=periods, restart_weights=restart_weights,
                         eta_min=eta_min, eta_min_ratio=eta_min_ratio, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)


@PARAM_SCHEDULERS.register_module()
class CosineRestartMomentum(CosineRestartParamScheduler):
    """:class:`CosineRestartParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        periods: Sequence[int],
        restart_weights: Sequence[float] = (1,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", periods=periods, restart_weights=restart_weights,
                         eta_min=eta_min, eta_min_ratio=eta_min_ratio, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)
