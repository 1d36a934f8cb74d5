"""``LazyObject`` and ``LazyAttr``: the lazily imported names of MMEngine's pure-Python configs.

mmhooks reads pure-Python configs (``with read_base():``, imports of classes)
through ``mmengine.Config`` when MMEngine is installed, so the lazy objects
in them are MMEngine's; these names are MMEngine's classes, imported on first
use. Without MMEngine they raise ``ImportError`` naming the reason.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["LazyAttr", "LazyObject"]

_NAMES = ("LazyAttr", "LazyObject")


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module("mmengine.config.lazy")
    except ImportError as err:
        raise ImportError(f"mmhooks.config.lazy.{name} is MMEngine's (pure-Python configs are read by "
                          f"mmengine.Config). Fix: pip install 'mmhooks[mmengine]'.", name=__name__) from err
    value = getattr(module, name)
    globals()[name] = value
    return value
