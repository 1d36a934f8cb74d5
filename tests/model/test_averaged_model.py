"""Averaged models (EMA, annealed EMA, SWA) against MMEngine's and closed forms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.model.averaged_model import ExponentialMovingAverage, MomentumAnnealingEMA, StochasticWeightAverage
from mmhooks.registry import MODELS

CLASSES = {
    "ExponentialMovingAverage": (ExponentialMovingAverage, dict(momentum=0.3)),
    "MomentumAnnealingEMA": (MomentumAnnealingEMA, dict(momentum=0.05, gamma=2)),
    "StochasticWeightAverage": (StochasticWeightAverage, {}),
}


def make_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).double()


def step(net: nn.Module, i: int) -> None:
    """A deterministic 'training step': new weights and new BatchNorm statistics."""
    generator = torch.Generator().manual_seed(100 + i)
    with torch.no_grad():
        for param in net.parameters():
            param.add_(torch.randn(param.shape, generator=generator, dtype=param.dtype))
    net.train()
    net(torch.randn(5, 3, generator=generator, dtype=torch.float64))


@pytest.mark.parametrize("update_buffers", [False, True], ids=["params", "params+buffers"])
@pytest.mark.parametrize("interval", [1, 3], ids=["interval=1", "interval=3"])
@pytest.mark.parametrize("name", sorted(CLASSES), ids=sorted(CLASSES))
def test_matches_mmengine_after_n_updates(name, interval, update_buffers):
    mm_model = pytest.importorskip("mmengine.model")
    ours_cls, kwargs = CLASSES[name]
    net_a, net_b = make_net(), make_net()
    ours = ours_cls(net_a, interval=interval, update_buffers=update_buffers, **kwargs)
    theirs = getattr(mm_model, name)(net_b, interval=interval, update_buffers=update_buffers, **kwargs)
    for i in range(8):
        step(net_a, i)
        step(net_b, i)
        ours.update_parameters(net_a)
        theirs.update_parameters(net_b)
        expected = theirs.state_dict()
        got = ours.state_dict()
        assert list(got) == list(expected)
        for key in expected:
            torch.testing.assert_close(got[key], expected[key], rtol=0, atol=1e-12, msg=f"{key} at update {i}")


def test_ema_closed_form_momentum_weights_the_new_value():
    net = nn.Linear(1, 1, bias=False).double()
    ema = ExponentialMovingAverage(net, momentum=0.25)
    values = [2.0, 6.0, -2.0]
    for value in values:
        with torch.no_grad():
            net.weight.fill_(value)
        ema.update_parameters(net)
    expected = 2.0  # first update copies
    for value in values[1:]:
        expected = 0.75 * expected + 0.25 * value
    assert ema.module.weight.item() == pytest.approx(expected, abs=1e-12)
    assert int(ema.steps) == 3


def test_swa_closed_form_is_the_mean():
    net = nn.Linear(1, 1, bias=False).double()
    swa = StochasticWeightAverage(net)
    for value in [1.0, 2.0, 6.0]:
        with torch.no_grad():
            net.weight.fill_(value)
        swa.update_parameters(net)
    assert swa.module.weight.item() == pytest.approx(3.0, abs=1e-12)


def test_integer_buffers_are_not_averaged_and_copy_mode_copies_buffers():
    net = make_net()
    averaged = ExponentialMovingAverage(net, momentum=0.5, update_buffers=True)
    copied = ExponentialMovingAverage(net, momentum=0.5, update_buffers=False)
    for i in range(3):
        step(net, i)
        averaged.update_parameters(net)
        copied.update_parameters(net)
    assert int(averaged.module[1].num_batches_tracked) == 1  # copied at the first update only
    torch.testing.assert_close(copied.module[1].running_mean, net[1].running_mean, rtol=0, atol=0)
    assert int(copied.module[1].num_batches_tracked) == 3


def test_moving_the_average_keeps_buffers_averaged():
    # MMEngine captures state_dict tensors once; a later .to()/.double() would detach buffers.
    net = make_net().float()
    ema = ExponentialMovingAverage(net, momentum=0.5, update_buffers=True)
    ema.double()
    net.double()
    step(net, 0)
    ema.update_parameters(net)
    torch.testing.assert_close(ema.module[1].running_mean, net[1].running_mean, rtol=0, atol=0)
    assert ema.module[1].running_mean.dtype == torch.float64


def test_registered_and_built_with_the_model_as_default_arg():
    net = make_net()
    built = MODELS.build(dict(type="MomentumAnnealingEMA", gamma=10), default_args=dict(model=net))
    assert isinstance(built, MomentumAnnealingEMA)
    assert built.gamma == 10
    assert all(not p.requires_grad for p in built.parameters())


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (
            ExponentialMovingAverage,
            dict(momentum=1.5),
            "ExponentialMovingAverage.momentum: got 1.5; expected a float in (0, 1), the weight of the new value. "
            "Fix: use a small value such as 0.0002 (1 - decay, if you think in torch's terms).",
        ),
        (
            MomentumAnnealingEMA,
            dict(gamma=0),
            "MomentumAnnealingEMA.gamma: got 0; expected a number > 0. Fix: use the default gamma=100.",
        ),
        (
            StochasticWeightAverage,
            dict(interval=0),
            "StochasticWeightAverage.interval: got 0; expected an int >= 1. Fix: set interval=1 to average at "
            "every update.",
        ),
    ],
    ids=["momentum", "gamma", "interval"],
)
def test_bad_arguments_raise_config_error(cls, kwargs, message):
    with pytest.raises(ConfigError) as info:
        cls(make_net(), **kwargs)
    assert str(info.value) == message
