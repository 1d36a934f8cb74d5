"""``ZeroRedundancyOptimizer``: torch's ZeRO-1 optimizer sharding, configured by optimizer name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.distributed.optim import ZeroRedundancyOptimizer as _TorchZeroRedundancyOptimizer

from mmhooks.dist import is_main_process
from mmhooks.registry import OPTIMIZERS

__all__ = ["ZeroRedundancyOptimizer"]


@OPTIMIZERS.register_module()
class ZeroRedundancyOptimizer(_TorchZeroRedundancyOptimizer):
    """Shard the optimizer state of a ``torch.optim`` optimizer across ranks (needs a process group).

    Configured as ``optimizer=dict(type='ZeroRedundancyOptimizer',
    optimizer_type='AdamW', lr=...)``; other keyword arguments go to torch's
    class and the inner optimizer.

    Args:
        params: Parameters or parameter groups.
        optimizer_type: Name of a ``torch.optim`` optimizer.

    Raises:
        AttributeError: ``optimizer_type`` is not in ``torch.optim``.
    """

    def __init__(self, params: Iterable[Any], optimizer_type: str, **kwargs: Any) -> None:
        optimizer_class = getattr(torch.optim, optimizer_type)
        super().__init__(list(params), optimizer_class, **kwargs)

    def state_dict(self) -> dict[str, Any]:
        """The whole (consolidated) state on rank 0; an empty dict on other ranks, as in MMEngine."""
        self.consolidate_state_dict()
        return super().state_dict() if is_main_process() else {}
