"""MMEngine's model wrappers (DDP, separate DDP, FSDP) against mmhooks' in a one-process gloo group."""

from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as torch_dist
from torch import nn

mm_model = pytest.importorskip("mmengine.model")
mm_optim = pytest.importorskip("mmengine.optim")

import mmhooks.model as model  # noqa: E402
import mmhooks.optim as optim  # noqa: E402


@pytest.fixture
def process_group(monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(29000 + (os.getpid() + 13) % 1000))
    torch_dist.init_process_group("gloo", rank=0, world_size=1)
    yield
    torch_dist.destroy_process_group()


def _toy(ns):
    class Toy(ns.BaseModel):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.linear = nn.Linear(2, 1)

        def forward(self, inputs, data_samples=None, mode="tensor"):
            out = self.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
            if mode == "loss":
                return {"loss": (out - data_samples).pow(2).mean()}
            return out

    return Toy()


def _gan(ns):
    class Gan(ns.BaseModel):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.generator = nn.Linear(2, 2)
            self.frozen = nn.Linear(2, 2).requires_grad_(False)

        def forward(self, inputs, data_samples=None, mode="tensor"):
            return self.generator(inputs)

        def train_step(self, data, optim_wrapper):
            loss = self.generator(data["inputs"]).sum()
            optim_wrapper["generator"].update_params(loss)
            return {"loss": loss.detach()}

    return Gan()


DATA = {"inputs": torch.ones(3, 2), "data_samples": torch.zeros(3, 1)}


def _steps(wrapper_cls, ns, optim_ns, **kwargs):
    net = wrapper_cls(module=_toy(ns), **kwargs)
    wrapper = optim_ns.OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1))
    log_vars = net.train_step(dict(DATA), wrapper)
    return ({k: float(v) for k, v in log_vars.items()}, net.val_step(dict(DATA)).detach(),
            net.test_step(dict(DATA)).detach())


def _same(mine, theirs):
    assert mine[0] == pytest.approx(theirs[0])
    assert torch.allclose(mine[1], theirs[1]) and torch.allclose(mine[2], theirs[2])


def test_mm_distributed_data_parallel_steps_match(process_group):
    _same(_steps(model.MMDistributedDataParallel, model, optim),
          _steps(mm_model.MMDistributedDataParallel, mm_model, mm_optim))
    wrapped = model.MMDistributedDataParallel(module=_toy(model), detect_anomalous_params=True)
    assert model.is_model_wrapper(wrapped) and wrapped.detect_anomalous_params


def test_mm_separate_distributed_data_parallel_wraps_trainable_children(process_group):
    mine = model.MMSeparateDistributedDataParallel(module=_gan(model))
    theirs = mm_model.MMSeparateDistributedDataParallel(module=_gan(mm_model))
    for net in (mine, theirs):
        children = dict(net.module.named_children())
        assert type(children["generator"]).__name__ == "MMDistributedDataParallel"
        assert isinstance(children["frozen"], nn.Linear)
    wrappers = [optim.OptimWrapperDict(generator=optim.OptimWrapper(torch.optim.SGD(
        mine.module.generator.parameters(), lr=0.1))),
        mm_optim.OptimWrapperDict(generator=mm_optim.OptimWrapper(torch.optim.SGD(
            theirs.module.generator.parameters(), lr=0.1)))]
    losses = [float(net.train_step({"inputs": torch.ones(1, 2)}, w)["loss"]) for net, w in zip((mine, theirs),
                                                                                                 wrappers)]
    assert losses[0] == pytest.approx(losses[1])
    with mine.no_sync():  # every child's no_sync at once (MMEngine's generator yields once per child)
        pass
    assert mine.train(False) is mine and not mine.module.training


def test_mm_fully_sharded_data_parallel_steps_match(process_group):
    cpu = {"device_id": torch.device("cpu")}
    _same(_steps(model.MMFullyShardedDataParallel, model, optim, **cpu),
          _steps(mm_model.MMFullyShardedDataParallel, mm_model, mm_optim, **cpu))
    net = model.MMFullyShardedDataParallel(
        module=_toy(model), sharding_strategy="NO_SHARD", backward_prefetch="BACKWARD_PRE", cpu_offload=False,
        mixed_precision=dict(param_dtype="float32"), ignored_modules=[], device_id=torch.device("cpu"),
        auto_wrap_policy=dict(type="torch.distributed.fsdp.wrap.size_based_auto_wrap_policy", min_num_params=1))
    assert net.sharding_strategy.name == "NO_SHARD"
    with pytest.raises(TypeError):
        model.MMFullyShardedDataParallel(module=_toy(model), cpu_offload="yes")
    with pytest.raises(ValueError):
        model.MMFullyShardedDataParallel(module=_toy(model), auto_wrap_policy="no_such_policy_registered")
