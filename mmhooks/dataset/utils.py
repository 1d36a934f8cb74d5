"""``mmengine.dataset.utils``' names: the collate functions, their registry and the worker seeding function."""

from __future__ import annotations

from mmhooks.dataset.collate import COLLATE_FUNCTIONS, default_collate, pseudo_collate
from mmhooks.dataset.worker_init import worker_init_fn

__all__ = ["COLLATE_FUNCTIONS", "default_collate", "pseudo_collate", "worker_init_fn"]
