"""Step decay: multiply the value by ``gamma`` every ``step_size`` steps of the window."""

from __future__ import annotations

from typing import Any

from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler, scheduler_error
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["StepLR", "StepMomentum", "StepParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class StepParamScheduler(_ParamScheduler):
    """Decay ``param_name`` by ``gamma`` every ``step_size`` steps, counted from ``begin``.

    Alone, the value at window step ``t`` is ``initial * gamma ** (t // step_size)``.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        step_size: Steps between two decays.
        gamma: The decay factor.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> for _ in range(4):
        ...     opt.step()  # the optimizer steps first, then the scheduler
        ...     sched.step()
        >>> opt.param_groups[0]["lr"]
        0.25
    """

    EPOCH_SCALED_ARGS = ("step_size",)

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise scheduler_error(type(self).__name__, "step_size", step_size, "an int >= 1", "set step_size=1 or more.")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        values = self._current_values()
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return values
        return [value * self.gamma for value in values]


@PARAM_SCHEDULERS.register_module()
class StepLR(StepParamScheduler):
    """:class:`StepParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", step_size=step_size, gamma=gamma, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)


@PARAM_SCHEDULERS.register_module()
class StepMomentum(StepParamScheduler):
    """:class:`StepParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", step_size=step_size, gamma=gamma, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)
