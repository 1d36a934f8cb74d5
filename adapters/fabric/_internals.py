"""Every access to a private attribute of Lightning Fabric or of torch's DDP lives here.

Each function has a contract test in ``tests/adapters/fabric/test_fabric_contract.py``
that fails with a message naming the attribute when Lightning or torch changes it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

__all__ = ["prepare_ddp_backward", "strategy_module"]


def strategy_module(fabric_module: Any) -> Any:
    """The module Fabric's strategy wrapped (DDP's ``DistributedDataParallel``), behind Fabric's module wrapper."""
    return fabric_module._forward_module


def prepare_ddp_backward(module: Any, loss: torch.Tensor) -> None:
    """Arm DDP's gradient all-reduce for a backward that runs *inside* DDP's forward.

    A model's own ``train_step`` called through DDP's forward (Fabric's
    ``mark_forward_method``) runs backward before DDP's forward returns, so the
    reducer has not been told to expect gradients yet. Under ``no_sync``
    (``require_backward_grad_sync`` False) gradients stay local, as intended.
    """
    if not isinstance(module, DistributedDataParallel):
        return
    if torch.is_grad_enabled() and module.require_backward_grad_sync:
        module.require_forward_param_sync = True
        reducer: Any = module.reducer
        reducer._rebuild_buckets()
        find_unused = module.find_unused_parameters and not module.static_graph
        reducer.prepare_for_backward([loss] if find_unused else [])
    else:
        module.require_forward_param_sync = False
