"""``read_base``: the marker of base-config imports in MMEngine's pure-Python configs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["read_base"]


@contextlib.contextmanager
def read_base() -> Iterator[None]:
    """Mark ``from .base import *`` lines as inheriting a base config (``with read_base(): ...``).

    The config reader recognises the block by name and does the merging; run
    as plain Python, the block simply executes its imports.
    """
    yield
