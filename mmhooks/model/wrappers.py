"""Recognising model wrappers (DDP, DataParallel and registered wrapper classes).

Hooks reach the user's model through ``runner.model``, which may be wrapped;
they unwrap it with ``model.module`` only when :func:`is_model_wrapper` says
the object is a wrapper, exactly as MMEngine's hooks do.
"""

from __future__ import annotations

import sys
from typing import Any

from torch.nn import DataParallel
from torch.nn.parallel import DistributedDataParallel

from mmhooks.registry import MODEL_WRAPPERS

__all__ = ["is_model_wrapper"]

MODEL_WRAPPERS.register_module(module=DistributedDataParallel)
MODEL_WRAPPERS.register_module(module=DataParallel)


def _wrapper_classes() -> tuple[type, ...]:
    """Classes registered in ``MODEL_WRAPPERS``, plus MMEngine's when MMEngine is already imported."""
    classes = [cls for cls in MODEL_WRAPPERS.module_dict.values() if isinstance(cls, type)]
    mm_registry = sys.modules.get("mmengine.registry")  # interop only; never import MMEngine here
    if mm_registry is not None:
        classes.extend(_mmengine_wrappers(getattr(mm_registry, "MODEL_WRAPPERS", None)))
    return tuple(classes)


def _mmengine_wrappers(registry: Any) -> list[type]:
    """Wrapper classes in MMEngine's registry ``registry`` and its children."""
    if registry is None:
        return []
    found = [cls for cls in registry.module_dict.values() if isinstance(cls, type)]
    for child in getattr(registry, "children", {}).values():
        found.extend(_mmengine_wrappers(child))
    return found


def is_model_wrapper(model: Any) -> bool:
    """Whether ``model`` wraps the user's model in ``model.module``.

    True for :class:`torch.nn.parallel.DistributedDataParallel`,
    :class:`torch.nn.DataParallel`, their subclasses, and any class registered
    with ``@MODEL_WRAPPERS.register_module()``.

    Example:
        >>> import torch
        >>> is_model_wrapper(torch.nn.DataParallel(torch.nn.Linear(1, 1)))
        True
        >>> is_model_wrapper(torch.nn.Linear(1, 1))
        False
    """
    return isinstance(model, _wrapper_classes())
