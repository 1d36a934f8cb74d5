"""Linear ramp of the value's factor from ``start_factor`` to ``end_factor`` over the window."""

from __future__ import annotations

from typing import Any

from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler, scheduler_error
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["LinearLR", "LinearMomentum", "LinearParamScheduler"]


def _check_factor(owner: str, key: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise scheduler_error(owner, key, value, "a number in [0, 1]", f"use a {key} between 0 and 1.")


@PARAM_SCHEDULERS.register_module()
class LinearParamScheduler(_ParamScheduler):
    """Ramp the factor on ``param_name`` linearly; alone, ``initial * (sf + (ef - sf) * t / (end - begin - 1))``.

    The factor reaches ``end_factor`` at step ``end - 1``. Each step applies a
    ratio to the current value, so the ramp multiplies with other schedulers.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        start_factor: Factor at ``begin``, in ``[0, 1]``.
        end_factor: Factor at ``end - 1``, in ``[0, 1]``.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = LinearLR(opt, start_factor=0.5, end=3, by_epoch=False)
        >>> values = [opt.param_groups[0]["lr"]]
        >>> for _ in range(2):
        ...     opt.step()  # the optimizer steps first, then the scheduler
        ...     sched.step()
        ...     values.append(opt.param_groups[0]["lr"])
        >>> values
        [0.5, 0.75, 1.0]
    """

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        _check_factor(type(self).__name__, "start_factor", start_factor)
        _check_factor(type(self).__name__, "end_factor", end_factor)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        values = self._current_values()
        if self.last_step == 0:
            return [value * self.start_factor for value in values]
        slope = self.end_factor - self.start_factor
        # Factor at t over factor at t-1, both scaled by total_iters.
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_step - 1) * slope)
        return [value * ratio for value in values]


@PARAM_SCHEDULERS.register_module()
class LinearLR(LinearParamScheduler):
    """:class:`LinearParamScheduler` on ``lr`` (the usual warm-up)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", start_factor=start_factor, end_factor=end_factor, begin=begin,
                         end=end, last_step=last_step, by_epoch=by_epoch, verbose=verbose)


@PARAM_SCHEDULERS.register_module()
class LinearMomentum(LinearParamScheduler):
    """:class:`LinearParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", start_factor=start_factor, end_factor=end_factor,
                         begin=begin, end=end, last_step=last_step, by_epoch=by_epoch, verbose=verbose)
