"""MMCV's ``optimizer_config``: the optimizer hook types, their arguments, and the settings they ask for.

The optimizer step itself (backward, clipping, step) runs in the Lightning module of the legacy runner;
:class:`OptimizerHook` only stands for it in ``runner.hooks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mmhooks.errors import ConfigError, check_keys, closest
from mmhooks.legacy.hook import LegacyHook

__all__ = ["OptimizerHook", "OptimizerSettings", "parse_optimizer_config"]

_OPTIMIZER_HOOK_ARGS: dict[str, tuple[str, ...]] = {
    "OptimizerHook": ("grad_clip", "detect_anomalous_params"),
    "GradientCumulativeOptimizerHook": ("grad_clip", "detect_anomalous_params", "cumulative_iters"),
    "Fp16OptimizerHook": ("grad_clip", "detect_anomalous_params", "coalesce", "bucket_size_mb", "loss_scale",
                          "distributed"),
    "GradientCumulativeFp16OptimizerHook": ("grad_clip", "detect_anomalous_params", "cumulative_iters", "coalesce",
                                            "bucket_size_mb", "loss_scale", "distributed"),
}


@dataclass
class OptimizerSettings:
    """What an MMCV ``optimizer_config`` asks of the optimizer step.

    Args:
        kind: The MMCV hook type (``OptimizerHook``, ``GradientCumulativeOptimizerHook``, ...).
        grad_clip: ``clip_grad_norm_`` keyword arguments, or ``None``.
        cumulative_iters: Iterations per optimizer step (MMCV's windows on the global iteration).
        fp16: Mixed precision (Lightning ``precision='16-mixed'``).
        loss_scale: ``'dynamic'``, a static float, or ``GradScaler`` keyword arguments.
    """

    kind: str = "OptimizerHook"
    grad_clip: dict[str, Any] | None = None
    cumulative_iters: int = 1
    fp16: bool = False
    loss_scale: Any = 512.0

    def loss_factor(self, it: int, max_iters: int) -> int:
        """MMCV 1.7's divisor of the loss at 0-based iteration ``it``: the window, or the last remainder."""
        k = self.cumulative_iters
        remainder = max_iters % k
        return k if it < max_iters - remainder else remainder

    def steps_at(self, it: int, max_iters: int) -> bool:
        """Whether MMCV steps after iteration ``it`` (a full window, or the last iteration)."""
        return (it + 1) % self.cumulative_iters == 0 or it + 1 == max_iters


def parse_optimizer_config(cfg: Mapping[str, Any], path: str = "optimizer_config") -> OptimizerSettings:
    """Validate an MMCV ``optimizer_config`` dict.

    Raises:
        ConfigError: an unknown ``type`` (``optimizer_config.type``), an argument that type does not take,
            or ``cumulative_iters`` that is not a positive int.
    """
    kwargs = dict(cfg)
    kind = kwargs.pop("type", "OptimizerHook")
    if kind not in _OPTIMIZER_HOOK_ARGS:
        names = sorted(_OPTIMIZER_HOOK_ARGS)
        near = closest(kind, names)
        raise ConfigError("type", kind, f"one of {names}", f"did you mean {near!r}?" if near else
                          "use 'OptimizerHook' (or leave type out).", path)
    check_keys(path, kwargs, _OPTIMIZER_HOOK_ARGS[kind], f"an argument of {kind}")
    cumulative = kwargs.get("cumulative_iters", 1)
    if not isinstance(cumulative, int) or isinstance(cumulative, bool) or cumulative < 1:
        raise ConfigError("cumulative_iters", cumulative, "an int >= 1", "use e.g. cumulative_iters=4.", path)
    grad_clip = kwargs.get("grad_clip")
    if grad_clip is not None and not isinstance(grad_clip, Mapping):
        raise ConfigError("grad_clip", grad_clip, "None or a dict of clip_grad_norm_ arguments",
                          "write grad_clip=dict(max_norm=35, norm_type=2).", path)
    return OptimizerSettings(
        kind=kind,
        grad_clip=dict(grad_clip) if grad_clip else None,
        cumulative_iters=cumulative,
        fp16="Fp16" in kind,
        loss_scale=kwargs.get("loss_scale", 512.0),
    )


class OptimizerHook(LegacyHook):
    """Stands for MMCV's optimizer hook in ``runner.hooks``; the step itself runs in the LightningModule.

    Args:
        settings: The parsed ``optimizer_config``.
    """

    priority = "ABOVE_NORMAL"

    def __init__(self, settings: OptimizerSettings | None = None) -> None:
        self.settings = settings or OptimizerSettings()

    def __repr__(self) -> str:
        return f"{self.settings.kind}({self.settings})"
