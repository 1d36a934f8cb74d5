"""Deep-learning environment facts (``mmengine.utils.dl_utils``' commonly imported names)."""

from __future__ import annotations

import importlib.util

import torch
from torch import nn

__all__ = ["TORCH_VERSION", "has_batch_norm", "is_norm", "mmcv_full_available"]

#: ``torch.__version__`` as a plain string.
TORCH_VERSION: str = str(torch.__version__)


def mmcv_full_available() -> bool:
    """Whether mmcv with compiled ops (``mmcv._ext``) is importable."""
    try:
        return importlib.util.find_spec("mmcv._ext") is not None
    except (ImportError, ValueError):
        return False


def is_norm(layer: nn.Module, exclude: type | tuple[type, ...] | None = None) -> bool:
    """Whether ``layer`` is a batch, instance, group or layer norm and not one of ``exclude``."""
    if exclude is not None:
        if not isinstance(exclude, tuple):
            exclude = (exclude,)
        if not all(isinstance(cls, type) for cls in exclude):
            raise TypeError(f"is_norm: exclude must be a class or a tuple of classes, got {exclude!r}")
        if isinstance(layer, exclude):
            return False
    norms = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm)
    return isinstance(layer, norms)


def has_batch_norm(model: nn.Module) -> bool:
    """Whether ``model`` is or contains a batch norm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
