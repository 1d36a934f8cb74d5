"""Averaged copies of a model (EMA, SWA) that :class:`~mmhooks.hooks.EMAHook` keeps next to the trained one.

The update rules are MMEngine's, in place for speed:

* ``ExponentialMovingAverage``: ``avg = (1 - momentum) * avg + momentum * src``.
  ``momentum`` is the weight of the *new* value (the opposite of torch's decay).
* ``MomentumAnnealingEMA``: the same with ``max(momentum, gamma / (gamma + steps))``.
* ``StochasticWeightAverage``: ``avg += (src - avg) / (steps // interval + 1)``.

The first update copies the source; later ones apply the rule every
``interval`` calls, to floating-point entries only.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable
from copy import deepcopy
from typing import Any

import torch
from torch import Tensor, nn

from mmhooks.errors import ConfigError
from mmhooks.registry import MODELS

__all__ = ["BaseAveragedModel", "ExponentialMovingAverage", "MomentumAnnealingEMA", "StochasticWeightAverage"]

log = logging.getLogger(__name__)


class BaseAveragedModel(nn.Module):
    """A frozen copy of ``model`` whose weights are a running average of the source's.

    Args:
        model: The model to average; it is deep-copied.
        interval: Apply the averaging rule every ``interval`` updates.
        device: Keep the copy on this device; by default it stays where ``model`` is.
        update_buffers: Average the floating-point buffers too (with the
            parameters, in ``state_dict`` order). Otherwise buffers are copied
            from the source at every update.

    State:
        ``steps`` (a buffer counting updates) and the averaged ``module.*``
        tensors, under MMEngine's keys.

    MMEngine parity:
        Moving the copy with ``.to()`` keeps the averaged tensors attached
        (MMEngine captures them once, so a later move would detach buffers
        when ``update_buffers=True``).
    """

    def __init__(
        self,
        model: nn.Module,
        interval: int = 1,
        device: torch.device | str | None = None,
        update_buffers: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ConfigError(
                "interval", interval, "an int >= 1", "set interval=1 to average at every update.", type(self).__name__
            )
        self.module = deepcopy(model).requires_grad_(False)
        self.interval = interval
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("steps", torch.tensor(0, dtype=torch.long, device=device))
        self.update_buffers = update_buffers
        self.avg_parameters: dict[str, Tensor] = self._collect_averaged()

    def _collect_averaged(self) -> dict[str, Tensor]:
        if self.update_buffers:
            return dict(self.module.state_dict())
        return dict(self.module.named_parameters())

    def _apply(self, fn: Callable[[Tensor], Tensor], *args: Any, **kwargs: Any) -> BaseAveragedModel:
        # ``.to()``/``.cuda()`` may replace buffer tensors: re-point the averaged entries at the new ones.
        super()._apply(fn, *args, **kwargs)
        if "update_buffers" in self.__dict__:
            self.avg_parameters = self._collect_averaged()
        return self

    @abstractmethod
    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: Tensor) -> None:
        """Update ``averaged_param`` in place from ``source_param``; ``steps`` counts earlier updates."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` (same architecture as the copy) into the average."""
        source = model.state_dict() if self.update_buffers else dict(model.named_parameters())
        if self.steps == 0:
            for name, averaged in self.avg_parameters.items():
                averaged.data.copy_(source[name].data)
        elif self.steps % self.interval == 0:
            for name, averaged in self.avg_parameters.items():
                if averaged.dtype.is_floating_point:
                    self.avg_func(averaged.data, source[name].data.to(averaged.device), self.steps)
        if not self.update_buffers:
            for averaged_buffer, source_buffer in zip(self.module.buffers(), model.buffers()):
                averaged_buffer.data.copy_(source_buffer.data.to(averaged_buffer.device))
        self.steps += 1


@MODELS.register_module()
class StochasticWeightAverage(BaseAveragedModel):
    """Stochastic Weight Averaging (Izmailov et al., 2018): the plain mean of the sampled weights."""

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: Tensor) -> None:
        averaged_param.add_(source_param - averaged_param, alpha=1 / float(steps // self.interval + 1))


@MODELS.register_module()
class ExponentialMovingAverage(BaseAveragedModel):
    """Exponential moving average of the weights: ``avg = (1 - momentum) * avg + momentum * src``.

    Args:
        model: The model to average.
        momentum: Weight of the new value, in ``(0, 1)``; usually small. Values
            above 0.5 warn, because they usually mean torch's "decay" convention.
        interval: See :class:`BaseAveragedModel`.
        device: See :class:`BaseAveragedModel`.
        update_buffers: See :class:`BaseAveragedModel`.
    """

    def __init__(
        self,
        model: nn.Module,
        momentum: float = 0.0002,
        interval: int = 1,
        device: torch.device | str | None = None,
        update_buffers: bool = False,
    ) -> None:
        if not 0.0 < momentum < 1.0:
            raise ConfigError(
                "momentum",
                momentum,
                "a float in (0, 1), the weight of the new value",
                "use a small value such as 0.0002 (1 - decay, if you think in torch's terms).",
                type(self).__name__,
            )
        super().__init__(model, interval, device, update_buffers)
        if momentum > 0.5:
            log.warning(
                "%s.momentum=%r: the momentum here is the weight of the new value and is usually small "
                "(e.g. 0.0002), unlike torch's decay. Make sure the value is correct.",
                type(self).__name__,
                momentum,
            )
        self.momentum = momentum

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: Tensor) -> None:
        averaged_param.lerp_(source_param, self.momentum)


@MODELS.register_module()
class MomentumAnnealingEMA(ExponentialMovingAverage):
    """EMA whose momentum starts high and anneals: ``max(momentum, gamma / (gamma + steps))``.

    Args:
        model: The model to average.
        momentum: The floor of the annealed momentum.
        gamma: Larger values keep the momentum high for longer; must be > 0.
        interval: See :class:`BaseAveragedModel`.
        device: See :class:`BaseAveragedModel`.
        update_buffers: See :class:`BaseAveragedModel`.
    """

    def __init__(
        self,
        model: nn.Module,
        momentum: float = 0.0002,
        gamma: int = 100,
        interval: int = 1,
        device: torch.device | str | None = None,
        update_buffers: bool = False,
    ) -> None:
        if not gamma > 0:
            raise ConfigError("gamma", gamma, "a number > 0", "use the default gamma=100.", type(self).__name__)
        super().__init__(
            model=model, momentum=momentum, interval=interval, device=device, update_buffers=update_buffers
        )
        self.gamma = gamma

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: Tensor) -> None:
        momentum = max(self.momentum, self.gamma / (self.gamma + self.steps.item()))
        averaged_param.lerp_(source_param, momentum)
