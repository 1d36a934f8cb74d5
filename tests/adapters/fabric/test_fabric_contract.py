"""The private Lightning Fabric and torch DDP attributes the Fabric backend relies on (adapters/fabric/_internals.py),
and the public Fabric behaviour it builds on. A failure names what changed."""

from __future__ import annotations

import inspect

import torch
from lightning.fabric.strategies.single_device import SingleDeviceStrategy
from lightning.fabric.wrappers import _FabricModule, _FabricOptimizer
from torch.nn.parallel import DistributedDataParallel

from mmhooks.adapters.fabric import _internals


def test_fabric_module_keeps_the_strategy_wrapped_module_in_forward_module():
    inner = torch.nn.Linear(2, 2)
    wrapped = _FabricModule(inner, SingleDeviceStrategy(device=torch.device("cpu")))
    assert _internals.strategy_module(wrapped) is inner, "_FabricModule._forward_module moved"


def test_ddp_reducer_api_used_for_a_backward_inside_forward():
    source = inspect.getsource(DistributedDataParallel._post_forward)
    for name in ("require_backward_grad_sync", "require_forward_param_sync", "reducer.prepare_for_backward",
                 "find_unused_parameters", "static_graph"):
        assert name in source, f"DistributedDataParallel._post_forward no longer uses {name}"
    reducer = torch._C._distributed_c10d.Reducer
    assert callable(getattr(reducer, "_rebuild_buckets", None)), "Reducer._rebuild_buckets is gone"
    assert callable(getattr(reducer, "prepare_for_backward", None)), "Reducer.prepare_for_backward is gone"


def test_prepare_ddp_backward_ignores_modules_that_are_not_ddp():
    _internals.prepare_ddp_backward(torch.nn.Linear(2, 2), torch.zeros(()))  # single process: nothing to arm


def test_a_fabric_optimizer_step_can_be_replaced_on_the_instance():
    """The backend clips an AmpOptimWrapper's gradients after unscaling by replacing ``step`` on the instance."""
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    fabric_optimizer = _FabricOptimizer(optimizer, SingleDeviceStrategy(device=torch.device("cpu")))
    calls = []
    fabric_optimizer.step = lambda **kwargs: calls.append(kwargs)
    fabric_optimizer.step()
    assert calls == [{}]
    assert isinstance(fabric_optimizer, torch.optim.SGD)
    assert fabric_optimizer.optimizer is optimizer
    assert fabric_optimizer.param_groups is optimizer.param_groups


def test_fabric_precision_plugins_name_their_precision():
    from lightning.fabric.plugins.precision import MixedPrecision, Precision

    assert Precision().precision == "32-true"
    assert MixedPrecision("bf16-mixed", "cpu").precision == "bf16-mixed"
    assert callable(Precision().unscale_gradients)
