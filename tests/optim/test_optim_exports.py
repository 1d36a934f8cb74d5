"""``mmhooks.optim``'s remaining MMEngine names against MMEngine's."""

from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as torch_dist
from torch import nn

mm_optim = pytest.importorskip("mmengine.optim")

import mmhooks.optim as optim  # noqa: E402
from mmhooks.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS  # noqa: E402


def test_every_mmengine_optim_name_is_provided():
    assert sorted(set(mm_optim.__all__) - set(optim.__all__)) == []
    assert optim.OPTIMIZERS is OPTIMIZERS and optim.OPTIM_WRAPPER_CONSTRUCTORS is OPTIM_WRAPPER_CONSTRUCTORS


def _groups_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))


def test_base_optim_wrapper_interface_matches():
    class Minimal(optim.BaseOptimWrapper):
        def update_params(self, loss):
            self.backward(loss)
            self.step()
            self.zero_grad()

        def backward(self, loss, **kwargs):
            loss.backward()

        def zero_grad(self, **kwargs):
            self.optimizer.zero_grad()

        def step(self, **kwargs):
            self.optimizer.step()

    class MinimalMM(mm_optim.BaseOptimWrapper):
        update_params, backward, zero_grad, step = (Minimal.update_params, Minimal.backward, Minimal.zero_grad,
                                                    Minimal.step)

    results = []
    for cls in (Minimal, MinimalMM):
        model = _groups_model()
        sgd = torch.optim.SGD([{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.5}],
                              lr=0.1, momentum=0.9)
        wrapper = cls(sgd)
        wrapper.update_params(model(torch.ones(1, 2)).sum())
        state = wrapper.state_dict()
        wrapper.load_state_dict(dict(state))
        results.append((wrapper.get_lr(), wrapper.get_momentum(), len(wrapper.param_groups), sorted(state)))
    assert results[0] == results[1]
    with pytest.raises(TypeError):
        optim.BaseOptimWrapper(torch.optim.SGD(_groups_model().parameters(), lr=0.1))  # abstract
    wrapper = optim.OptimWrapper(torch.optim.SGD(_groups_model().parameters(), lr=0.1))
    assert isinstance(wrapper, optim.BaseOptimWrapper) and isinstance(wrapper, optim.AmpOptimWrapper) is False


def test_apex_optim_wrapper_without_apex_names_the_alternative():
    with pytest.raises(ImportError, match="AmpOptimWrapper"):
        optim.ApexOptimWrapper(optimizer=torch.optim.SGD(_groups_model().parameters(), lr=0.1))


def test_zero_redundancy_optimizer_matches_mmengine(monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(29000 + (os.getpid() + 7) % 1000))
    torch_dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        results = []
        for cls in (optim.ZeroRedundancyOptimizer, mm_optim.ZeroRedundancyOptimizer):
            model = _groups_model()
            zero = cls(model.parameters(), optimizer_type="SGD", lr=0.1, momentum=0.9)
            model(torch.ones(3, 2)).sum().backward()
            zero.step()
            results.append(([p.detach().clone() for p in model.parameters()], sorted(zero.state_dict())))
        assert all(torch.equal(a, b) for a, b in zip(results[0][0], results[1][0]))
        assert results[0][1] == results[1][1]
        built = OPTIMIZERS.build(dict(type="ZeroRedundancyOptimizer", optimizer_type="AdamW", lr=0.01,
                                      params=_groups_model().parameters()))
        assert isinstance(built.optim, torch.optim.AdamW)
    finally:
        torch_dist.destroy_process_group()
