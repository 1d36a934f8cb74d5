"""Lazy package exports: ``from mmhooks.hooks import CheckpointHook`` imports only that module.

Keeps ``import mmhooks`` and ``mmhooks --help`` fast, and lets a package list
names whose modules import heavier dependencies (torch.profiler, tensorboard).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that import ``names[attr]`` on first access."""

    def __getattr__(attr: str) -> Any:
        module_name = names.get(attr)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        value = getattr(importlib.import_module(module_name), attr)
        importlib.import_module(package).__dict__[attr] = value  # cache: next access is a plain lookup
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(importlib.import_module(package).__dict__))

    return __getattr__, __dir__


def import_modules(modules: list[str] | tuple[str, ...]) -> None:
    """Import ``modules`` so their classes register themselves; skip modules not present."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
