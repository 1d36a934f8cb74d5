"""``is_installed``: whether a distribution or an importable package of that name exists."""

from __future__ import annotations

import importlib.metadata
import importlib.util

__all__ = ["is_installed"]


def is_installed(package: str) -> bool:
    """True when ``package`` is an installed distribution (``'mmcv-lite'``) or an importable module."""
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None
