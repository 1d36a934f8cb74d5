"""Polynomial decay of the value toward ``eta_min``, reached at step ``end - 1``."""

from __future__ import annotations

from typing import Any

from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["PolyLR", "PolyMomentum", "PolyParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class PolyParamScheduler(_ParamScheduler):
    """Decay ``param_name`` polynomially; alone, ``eta_min + (initial - eta_min) * (1 - t / T) ** power``.

    ``T = end - begin - 1``, so ``eta_min`` is reached at step ``end - 1``
    (one step earlier than torch's ``PolynomialLR``).

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: The group key to schedule.
        eta_min: Absolute final value, shared by all groups.
        power: Exponent of the polynomial.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = PolyLR(opt, end=3, by_epoch=False)
        >>> opt.step(); sched.step()
        >>> opt.param_groups[0]["lr"]
        0.5
    """

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        self.eta_min = eta_min
        self.power = power
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[Any]:
        values = self._current_values()
        if self.last_step == 0:
            return values
        # (1 - t/T) / (1 - (t-1)/T), written with the remaining steps.
        shrink = (1 - 1 / (self.total_iters - self.last_step + 1)) ** self.power
        return [self.eta_min + shrink * (value - self.eta_min) for value in values]


@PARAM_SCHEDULERS.register_module()
class PolyLR(PolyParamScheduler):
    """:class:`PolyParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", eta_min=eta_min, power=power, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)


@PARAM_SCHEDULERS.register_module()
class PolyMomentum(PolyParamScheduler):
    """:class:`PolyParamScheduler` on ``momentum`` (Adam's ``betas[0]``)."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="momentum", eta_min=eta_min, power=power, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)
