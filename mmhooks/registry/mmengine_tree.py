"""MMEngine's registries, reached lazily: the root each mmhooks root stands in for, and downstream scopes.

Downstream projects (mmdet, mmpretrain, ...) hang their registries below
MMEngine's root registries (``Registry('model', parent=mmengine.registry.MODELS,
scope='mmdet')``). mmhooks' root registries play the part of MMEngine's roots,
so name lookups treat MMEngine's roots' children as children of mmhooks'
roots. Nothing here imports MMEngine unless it is installed and a lookup
needs it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

__all__ = ["import_scope_registry", "is_mmengine_registry", "is_mmengine_root", "mmengine_root"]

_installed: bool | None = None
_tried_scopes: set[str] = set()


def _registry_module(import_mmengine: bool) -> Any:
    """``mmengine.registry``, imported when ``import_mmengine`` and installed; else only if loaded."""
    global _installed
    module = sys.modules.get("mmengine.registry")
    if module is not None or not import_mmengine:
        return module
    if _installed is None:
        _installed = importlib.util.find_spec("mmengine") is not None
    return importlib.import_module("mmengine.registry") if _installed else None


def mmengine_root(name: str | None, import_mmengine: bool = True) -> Any:
    """MMEngine's root registry called ``name`` (``"MODELS"``), or ``None`` without MMEngine."""
    if not name:
        return None
    module = _registry_module(import_mmengine)
    return None if module is None else getattr(module, name, None)


def is_mmengine_registry(obj: object) -> bool:
    """Whether ``obj`` is an ``mmengine.registry.Registry`` (False when MMEngine is not loaded)."""
    module = sys.modules.get("mmengine.registry")
    return module is not None and isinstance(obj, module.Registry)


def is_mmengine_root(obj: object) -> bool:
    """Whether ``obj`` is one of MMEngine's root registries, which mmhooks' roots replace in lookups."""
    return is_mmengine_registry(obj) and getattr(obj, "parent", None) is None


def import_scope_registry(scope: str) -> None:
    """Import ``<scope>.registry`` once, so that a package's registries join the tree (as MMEngine does).

    A package that is not installed, or has no ``registry`` module, is skipped;
    other errors raised while importing it propagate, as in MMEngine.
    """
    if scope in _tried_scopes:
        return
    _tried_scopes.add(scope)
    try:
        importlib.import_module(f"{scope}.registry")
    except ImportError:
        pass
