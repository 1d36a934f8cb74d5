"""Multi-step decay: multiply the value by ``gamma`` at each milestone of the window."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["MultiStepLR", "MultiStepMomentum", "MultiStepParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class MultiStepParamScheduler(_ParamScheduler):
    """Decay ``param_name`` by ``gamma`` at each milestone, counted from ``begin``.

    A milestone listed twice decays twice; a milestone of 0 decays at ``begin``.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        milestones: Window steps at which to decay.
        gamma: The decay factor.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.

    MMEngine parity:
        ``last_step`` comes before ``begin`` in the positional order, as in MMEngine.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = MultiStepLR(opt, milestones=[1, 1], gamma=0.5)
        >>> opt.step(); sched.step()
        >>> opt.param_groups[0]["lr"]
        0.25
    """

    EPOCH_SCALED_ARGS = ("milestones",)

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_step: int = -1,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        values = self._current_values()
        hits = self.milestones.get(self.last_step, 0)
        if not hits:
            return values
        return [value * self.gamma**hits for value in values]


@PARAM_SCHEDULERS.register_module()
class MultiStepLR(MultiStepParamScheduler):
    """:class:`MultiStepParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_step: int = -1,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", milestones=milestones, gamma=gamma, last_step=last_step,
                         begin=begin, end=end, by_epoch=by_epoch, verbose=verbose)


@PARAM_SCHEDULERS.register_module()
class MultiStepMomentum(MultiStepParamScheduler):
    """:class:`MultiStepParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_step: int = -1,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", milestones=milestones, gamma=gamma,
                         last_step=last_step, begin=begin, end=end, by_epoch=by_epoch, verbose=verbose)
