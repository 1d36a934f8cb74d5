"""The averaged copy costs exactly one copy of the parameters (plus the buffers when it averages them)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmhooks.model.averaged_model import ExponentialMovingAverage, MomentumAnnealingEMA, StochasticWeightAverage

CLASSES = {
    "ExponentialMovingAverage": ExponentialMovingAverage,
    "MomentumAnnealingEMA": MomentumAnnealingEMA,
    "StochasticWeightAverage": StochasticWeightAverage,
}


def make_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2))


def nbytes(tensors: list[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def storages(tensors: list[torch.Tensor]) -> dict[int, int]:
    return {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}


def train_step(net: nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in net.parameters():
            param.add_(torch.randn(param.shape, generator=generator))
    net.train()
    net(torch.randn(2, 3, 6, 6, generator=generator))


@pytest.mark.parametrize("update_buffers", [False, True], ids=["params", "params+buffers"])
@pytest.mark.parametrize("name", sorted(CLASSES), ids=sorted(CLASSES))
def test_extra_memory_is_one_copy(name, update_buffers):
    net = make_net()
    averaged = CLASSES[name](net, update_buffers=update_buffers)
    for seed in range(3):
        train_step(net, seed)
        averaged.update_parameters(net)
    source = storages([*net.parameters(), *net.buffers()])
    held = storages([*averaged.module.parameters(), *averaged.module.buffers()])
    extra = sum(size for ptr, size in held.items() if ptr not in source)
    params = list(net.parameters())
    buffers = list(net.buffers())
    expected = nbytes(params) + (nbytes(buffers) if update_buffers else 0)
    assert nbytes(buffers) > 0  # the case must have buffers to tell the two rules apart
    assert extra == expected


def test_shared_buffers_keep_mmengine_values():
    # MMEngine copies the source buffers at every update; the shared ones must read the same afterwards.
    net = make_net()
    averaged = ExponentialMovingAverage(net, momentum=0.5)
    for seed in range(3):
        train_step(net, seed)
        averaged.update_parameters(net)
        for (name, got), want in zip(averaged.module.named_buffers(), net.buffers()):
            torch.testing.assert_close(got, want, rtol=0, atol=0, msg=name)
    assert int(averaged.module[1].num_batches_tracked) == 3


def test_buffers_follow_a_source_that_moved():
    # Module.to() / .double() replace buffer tensors; the average must pick up the new ones.
    net = make_net()
    averaged = ExponentialMovingAverage(net, momentum=0.5)
    net.double()
    averaged.double()
    train_step_double = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    net.train()
    net(train_step_double)
    averaged.update_parameters(net)
    assert averaged.module[1].running_mean is net[1].running_mean
    torch.testing.assert_close(averaged.module[4].running_var, net[4].running_var, rtol=0, atol=0)


def test_pinned_device_keeps_its_own_buffers():
    net = make_net()
    averaged = ExponentialMovingAverage(net, device="cpu")
    train_step(net, 0)
    averaged.update_parameters(net)
    assert averaged.module[1].running_mean is not net[1].running_mean
    torch.testing.assert_close(averaged.module[1].running_mean, net[1].running_mean, rtol=0, atol=0)
