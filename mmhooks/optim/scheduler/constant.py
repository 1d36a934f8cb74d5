"""Constant factor: scale the value by ``factor`` for the window, restore it on its last step."""

from __future__ import annotations

from typing import Any

from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler, scheduler_error
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["ConstantLR", "ConstantMomentum", "ConstantParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class ConstantParamScheduler(_ParamScheduler):
    """Multiply ``param_name`` by ``factor`` at ``begin`` and divide it back at step ``end - 1``.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        factor: The multiplier, in ``[0, 1]``.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window; the value is restored one step before it.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ConstantLR(opt, factor=0.5, end=3)
        >>> values = [opt.param_groups[0]["lr"]]
        >>> for _ in range(3):
        ...     opt.step()  # the optimizer steps first, then the scheduler
        ...     sched.step()
        ...     values.append(opt.param_groups[0]["lr"])
        >>> values
        [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if not 0 <= factor <= 1:
            raise scheduler_error(type(self).__name__, "factor", factor, "a number in [0, 1]",
                                  "use a factor between 0 and 1.")
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        values = self._current_values()
        if self.last_step == 0:
            return [value * self.factor for value in values]
        if self.last_step == self.total_iters:
            return [value * (1.0 / self.factor) for value in values]
        return values


@PARAM_SCHEDULERS.register_module()
class ConstantLR(ConstantParamScheduler):
    """:class:`ConstantParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", factor=factor, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)


@PARAM_SCHEDULERS.register_module()
class ConstantMomentum(ConstantParamScheduler):
    """:class:`ConstantParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", factor=factor, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)
