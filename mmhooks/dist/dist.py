"""``mmengine.dist.dist``' module path: the collectives of :mod:`mmhooks.dist`."""

from __future__ import annotations

from mmhooks.dist import collectives
from mmhooks.dist.collectives import *  # noqa: F403  (the same names, under MMEngine's path)

__all__ = list(collectives.__all__)
