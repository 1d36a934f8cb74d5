"""Exponential decay: multiply the value by ``gamma`` on every step of the window but the first."""

from __future__ import annotations

from typing import Any

from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["ExponentialLR", "ExponentialMomentum", "ExponentialParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class ExponentialParamScheduler(_ParamScheduler):
    """Decay ``param_name`` by ``gamma`` every step: alone, ``initial * gamma ** t``.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        gamma: The per-step factor.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.

    MMEngine parity:
        ``convert_to_iter_based`` does not rescale ``gamma``: the converted
        scheduler decays by ``gamma`` every iteration, as in MMEngine.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> opt.step(); sched.step(); opt.step(); sched.step()
        >>> opt.param_groups[0]["lr"]
        0.25
    """

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        gamma: float,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        values = self._current_values()
        if self.last_step == 0:
            return values
        return [value * self.gamma for value in values]


@PARAM_SCHEDULERS.register_module()
class ExponentialLR(ExponentialParamScheduler):
    """:class:`ExponentialParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        gamma: float,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", gamma=gamma, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)


@PARAM_SCHEDULERS.register_module()
class ExponentialMomentum(ExponentialParamScheduler):
    """:class:`ExponentialParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        gamma: float,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", gamma=gamma, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)
