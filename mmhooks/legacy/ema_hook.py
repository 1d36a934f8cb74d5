"""MMCV 1.x ``EMAHook`` (registered as ``LegacyEMAHook``): EMA in model buffers, swapped per epoch."""

from __future__ import annotations

from typing import Any

import torch

from mmhooks.errors import ConfigError
from mmhooks.legacy.hook import LegacyHook
from mmhooks.registry import HOOKS

__all__ = ["EMAHook", "LegacyEMAHook"]


@HOOKS.register_module()
class LegacyEMAHook(LegacyHook):
    """MMCV 1.x ``EMAHook``: EMA copies live in ``ema_*`` model buffers and swap with the weights per epoch.

    Each update at iteration ``t`` (when ``t % interval == 0``) is
    ``ema = (1 - m_t) * ema + m_t * param`` with ``m_t = min(momentum ** interval, (1 + t) / (warm_up + t))``,
    the first one at ``t = 0`` from the pre-training weights. ``before_train_epoch`` and
    ``after_train_epoch`` swap parameters and EMA buffers, so hooks after it at epoch end (checkpoint,
    evaluation) see EMA weights.

    Args:
        momentum: Weight of the new value per update, in (0, 1), before ``** interval``.
        interval: Update every ``interval`` iterations.
        warm_up: Bound ``(1 + t) / (warm_up + t)`` on the weight early in training.
        resume_from: A checkpoint to ``runner.resume`` from once the buffers exist.

    MMEngine parity:
        MMEngine's ``ExponentialMovingAverage`` uses the same convention (weight ``momentum`` on the new
        value), but does not exponentiate by ``interval``, copies the weights at its first update and
        swaps around validation; this class keeps MMCV's rules exactly.
    """

    priority = "NORMAL"

    def __init__(self, momentum: float = 0.0002, interval: int = 1, warm_up: int = 100,
                 resume_from: str | None = None) -> None:
        if not isinstance(interval, int) or interval <= 0:
            raise ConfigError("interval", interval, "an int > 0", "use interval=1.", "EMAHook")
        if not 0 < momentum < 1:
            raise ConfigError("momentum", momentum, "a value in (0, 1)", "use e.g. momentum=0.0002.", "EMAHook")
        self.momentum = momentum**interval
        self.interval = interval
        self.warm_up = warm_up
        self.checkpoint = resume_from
        self.param_ema_buffer: dict[str, str] = {}
        self.model_parameters: dict[str, torch.nn.Parameter] = {}
        self.model_buffers: dict[str, torch.Tensor] = {}

    def before_run(self, runner: Any) -> None:
        model = getattr(runner.model, "module", runner.model)
        self.model_parameters = dict(model.named_parameters(recurse=True))
        for name, value in self.model_parameters.items():
            buffer_name = f"ema_{name.replace('.', '_')}"
            self.param_ema_buffer[name] = buffer_name
            model.register_buffer(buffer_name, value.data.clone())
        self.model_buffers = dict(model.named_buffers(recurse=True))
        if self.checkpoint is not None:
            runner.resume(self.checkpoint)

    def after_train_iter(self, runner: Any) -> None:
        t = runner.iter
        weight = min(self.momentum, (1 + t) / (self.warm_up + t))
        if t % self.interval != 0:
            return
        for name, parameter in self.model_parameters.items():
            ema = self.model_buffers[self.param_ema_buffer[name]]
            ema.mul_(1 - weight).add_(parameter.data, alpha=weight)

    def before_train_epoch(self, runner: Any) -> None:
        self._swap_ema_parameters()

    def after_train_epoch(self, runner: Any) -> None:
        self._swap_ema_parameters()

    def _swap_ema_parameters(self) -> None:
        for name, value in self.model_parameters.items():
            ema = self.model_buffers[self.param_ema_buffer[name]]
            raw = value.data.clone()
            value.data.copy_(ema.data)
            ema.data.copy_(raw)


EMAHook = LegacyEMAHook
