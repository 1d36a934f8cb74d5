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
import weakref
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
        * Moving the copy with ``.to()`` keeps the averaged tensors attached
          (MMEngine captures them once, so a later move would detach buffers
          when ``update_buffers=True``).
        * With ``update_buffers=False`` and no ``device``, the copy shares the
          source's buffer tensors instead of copying them at every update, so
          the average costs one copy of the parameters only. MMEngine's copy
          holds the values of the latest update; the shared ones are the same
          from that update until the source next changes its buffers (the
          next training forward).
    """

    steps: Tensor  # registered buffer

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
        # Buffers that are copied, not averaged, are shared with the source instead (deepcopy's memo).
        share_buffers = not update_buffers and device is None
        memo: dict[int, Any] = {id(buffer): buffer for buffer in model.buffers()} if share_buffers else {}
        self.module = deepcopy(model, memo).requires_grad_(False)
        self.interval = interval
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("steps", torch.tensor(0, dtype=torch.long, device=device))
        self.update_buffers = update_buffers
        self._share_buffers = share_buffers
        self.avg_parameters: dict[str, Tensor] = self._collect_averaged()
        self._buffer_source: weakref.ref[nn.Module] | None = None
        self._buffer_pairs: list[tuple[dict[str, Any], str, dict[str, Any]]] = []

    def _collect_averaged(self) -> dict[str, Tensor]:
        if self.update_buffers:
            return dict(self.module.state_dict())
        return dict(self.module.named_parameters())

    def _apply(self, fn: Callable[[Tensor], Tensor], *args: Any, **kwargs: Any) -> BaseAveragedModel:
        # ``.to()``/``.cuda()`` may replace buffer tensors: re-point the averaged entries at the new ones.
        super()._apply(fn, *args, **kwargs)  # type: ignore[no-untyped-call]  # torch leaves Module._apply unannotated
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
        steps = int(self.steps.item())
        if steps == 0:
            for name, averaged in self.avg_parameters.items():
                averaged.copy_(source[name])
        elif steps % self.interval == 0:
            averaged_list, source_list = [], []
            for name, averaged in self.avg_parameters.items():
                if averaged.dtype.is_floating_point:
                    averaged_list.append(averaged)
                    src = source[name]
                    source_list.append(src if src.device == averaged.device else src.to(averaged.device))
            if averaged_list:
                self._average(averaged_list, source_list)
        if not self.update_buffers:
            self._follow_buffers(model)
        self.steps += 1

    def _average(self, averaged: list[Tensor], source: list[Tensor]) -> None:
        """Apply :meth:`avg_func` to each pair; subclasses may do it in one batched call."""
        for averaged_param, source_param in zip(averaged, source):
            self.avg_func(averaged_param, source_param, self.steps)

    def _follow_buffers(self, model: nn.Module) -> None:
        """Give the copy the source's buffers: shared where possible, else copied (as MMEngine does)."""
        if self._buffer_source is None or self._buffer_source() is not model:
            # Pair the buffer tables once per source model; the tensors in them are looked up every time.
            self._buffer_source = weakref.ref(model)
            self._buffer_pairs = [
                (copy_module._buffers, name, source_module._buffers)
                for copy_module, source_module in zip(self.module.modules(), model.modules())
                for name, buffer in copy_module._buffers.items()
                if buffer is not None
            ]
        for copy_buffers, name, source_buffers in self._buffer_pairs:
            source_buffer = source_buffers.get(name)
            copied = copy_buffers[name]
            if copied is source_buffer or source_buffer is None:
                continue
            if (
                self._share_buffers
                and copied.device == source_buffer.device
                and copied.dtype == source_buffer.dtype
                and copied.shape == source_buffer.shape
            ):
                copy_buffers[name] = source_buffer  # e.g. the source moved to another device since
            else:
                copied.copy_(source_buffer.to(copied.device))

    def __getstate__(self) -> dict[str, Any]:
        # The pairing refers to the source model: a pickled or deep-copied average pairs again.
        state = dict(self.__dict__)
        state["_buffer_source"] = None
        state["_buffer_pairs"] = []
        return state


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

    def _average(self, averaged: list[Tensor], source: list[Tensor]) -> None:
        if type(self).avg_func is not ExponentialMovingAverage.avg_func:  # a subclass's own rule
            super()._average(averaged, source)
            return
        torch._foreach_lerp_(averaged, source, self.momentum)  # one call instead of one per tensor


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

    def _average(self, averaged: list[Tensor], source: list[Tensor]) -> None:
        if type(self).avg_func is not MomentumAnnealingEMA.avg_func:
            super()._average(averaged, source)
            return
        momentum = max(self.momentum, self.gamma / (self.gamma + self.steps.item()))
        torch._foreach_lerp_(averaged, source, momentum)
