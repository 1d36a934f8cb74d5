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


def _wrapper_classes(registry: Any = None) -> tuple[type, ...]:
    """Classes registered in ``registry`` (``MODEL_WRAPPERS``) and its children, plus MMEngine's when imported."""
    own = MODEL_WRAPPERS if registry is None else registry
    classes = _registered_classes(own)
    if registry is not None and registry is not MODEL_WRAPPERS:
        return tuple(classes)
    mm_registry = sys.modules.get("mmengine.registry")  # interop only; never import MMEngine here
    if mm_registry is not None:
        mm_wrappers = getattr(mm_registry, "MODEL_WRAPPERS", None)
        if mm_wrappers is not None:
            classes.extend(_registered_classes(mm_wrappers))
    return tuple(classes)


def _registered_classes(registry: Any) -> list[type]:
    """Classes in ``registry`` and, recursively, its children (downstream scopes register wrappers there)."""
    found = [cls for cls in registry.module_dict.values() if isinstance(cls, type)]
    for child in getattr(registry, "children", {}).values():
        found.extend(_registered_classes(child))
    return found


def is_model_wrapper(model: Any, registry: Any = None) -> bool:
    """Whether ``model`` wraps the user's model in ``model.module``.

    True for :class:`torch.nn.parallel.DistributedDataParallel`,
    :class:`torch.nn.DataParallel`, their subclasses, and any class registered
    with ``@MODEL_WRAPPERS.register_module()`` or in a child registry of it.
    ``registry`` searches another registry (and its children) instead.

    Example:
        >>> import torch
        >>> is_model_wrapper(torch.nn.DataParallel(torch.nn.Linear(1, 1)))
        True
        >>> is_model_wrapper(torch.nn.Linear(1, 1))
        False
    """
    return isinstance(model, _wrapper_classes(registry))
