"""Every access to a private attribute of Lightning Fabric or of torch's DDP lives here.

Each function has a contract test in ``tests/adapters/fabric/test_fabric_contract.py``
that fails with a message naming the attribute when Lightning or torch changes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

__all__ = ["forward_redirected", "prepare_ddp_backward", "strategy_module"]


def strategy_module(fabric_module: Any) -> Any:
    """The module Fabric's strategy wrapped (DDP's ``DistributedDataParallel``), behind Fabric's module wrapper."""
    return fabric_module._forward_module


def prepare_ddp_backward(module: Any, loss: torch.Tensor) -> None:
    """Arm DDP's gradient all-reduce for a backward that runs *inside* DDP's forward.

    A model's own ``train_step`` called through DDP's forward
    (:func:`forward_redirected`) runs backward before DDP's forward returns, so the
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


@contextmanager
def forward_redirected(model: torch.nn.Module, method: str, ddp: Any) -> Iterator[None]:
    """While open, the next call of ``model.forward`` runs ``model.<method>`` instead (once; later calls are forward).

    Calling DDP's module ``ddp`` then runs ``method`` inside DDP's forward (what
    Fabric's ``mark_forward_method`` does, without its casting of the inputs), so
    a model's own ``train_step`` is a forward pass as far as DDP is concerned. Its
    backward already ran (armed by :func:`prepare_ddp_backward`), so DDP must not
    arm the reducer again when its forward returns (Lightning's manual
    optimization does the same).
    """

    def redirected(*args: Any, **kwargs: Any) -> Any:
        model.__dict__.pop("forward", None)  # the method's own forward calls reach the class's forward
        result = getattr(model, method)(*args, **kwargs)
        if isinstance(ddp, DistributedDataParallel):
            ddp.require_backward_grad_sync = False  # read by DDP's _post_forward
        return result

    model.__dict__["forward"] = redirected
    try:
        yield
    finally:
        model.__dict__.pop("forward", None)
        if isinstance(ddp, DistributedDataParallel):
            ddp.require_backward_grad_sync = True
