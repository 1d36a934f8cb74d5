"""Cosine annealing from the value at ``begin`` toward ``eta_min`` over ``T_max`` steps."""

from __future__ import annotations

import math
from typing import Any

from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler, scheduler_error
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["CosineAnnealingLR", "CosineAnnealingMomentum", "CosineAnnealingParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingParamScheduler(_ParamScheduler):
    """Anneal ``param_name`` along a half cosine: alone, ``eta + (initial - eta) * (1 + cos(pi t / T)) / 2``.

    Past ``T`` the curve keeps following the cosine (period ``2 T``). With the
    default ``T_max = end - begin`` the last in-window step is ``T - 1``, so
    ``eta_min`` itself is never reached inside the window.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        T_max: Steps of the half period; ``None`` (or 0) means ``end - begin``.
        eta_min: Absolute floor, shared by all groups. Give it or ``eta_min_ratio``.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.
        eta_min_ratio: Floor as a fraction of each group's initial value.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=2, by_epoch=False)
        >>> opt.step(); sched.step()
        >>> round(opt.param_groups[0]["lr"], 12)
        0.5
    """

    EPOCH_SCALED_ARGS = ("T_max",)

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        T_max: int | None = None,
        eta_min: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        eta_min_ratio: float | None = None,
    ) -> None:
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.0
        elif eta_min is not None and eta_min_ratio is not None:
            raise scheduler_error(type(self).__name__, "eta_min_ratio", eta_min_ratio,
                                  f"None when eta_min is set (eta_min={eta_min!r})",
                                  "keep only one of eta_min and eta_min_ratio.")
        self.T_max = T_max or (end - begin)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _floor(self, base_value: Any) -> Any:
        return self.eta_min if self.eta_min_ratio is None else base_value * self.eta_min_ratio

    def _get_value(self) -> list[Any]:
        values = self._current_values()
        t, period = self.last_step, self.T_max
        if t == 0:
            return values
        floors = [self._floor(base) for base in self.base_values]
        if (t - 1 - period) % (2 * period) == 0:
            # The trough of the cosine: the ratio form would divide by zero; climb by one step instead.
            rise = (1 - math.cos(math.pi / period)) / 2
            return [value + (base - floor) * rise for value, base, floor in zip(values, self.base_values, floors)]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [floor + ratio * (value - floor) for value, floor in zip(values, floors)]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingLR(CosineAnnealingParamScheduler):
    """:class:`CosineAnnealingParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        T_max: int | None = None,
        eta_min: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        eta_min_ratio: float | None = None,
    ) -> None:
        super().__init__(optimizer, param_name="lr", T_max=T_max, eta_min=eta_min, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose, eta_min_ratio=eta_min_ratio)


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingMomentum(CosineAnnealingParamScheduler):
    """:class:`CosineAnnealingParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        T_max: int | None = None,
        eta_min: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        eta_min_ratio: float | None = None,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", T_max=T_max, eta_min=eta_min, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose, eta_min_ratio=eta_min_ratio)
