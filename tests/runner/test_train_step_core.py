"""The core's step helpers (mmhooks/runner/train_step.py) and the per-step ops it saves, bit for bit against MMEngine."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

mmengine = pytest.importorskip("mmengine")


def net(base):
    class Net(base):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layer = nn.Linear(4, 3)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets), "loss_parts": [out.abs().mean(), out.pow(2)],
                        "acc": (out > 0).float().mean(), "loss_map": (out - targets).abs()}
            return out

    return Net()


def batch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 4, generator=g)
    return [x, torch.stack([x.sum(1), x[:, 0], x[:, 1] * 2], 1)]


@pytest.mark.parametrize("accumulative_counts", [1, 3])
def test_three_steps_are_mmengines_bit_for_bit(accumulative_counts):
    """parse_losses without the mean of 0-d losses and the sum from 0, scale_loss without dividing by 1."""
    from mmengine.model import BaseModel as MMModel
    from mmengine.optim import OptimWrapper as MMOptimWrapper

    from mmhooks.model import BaseModel
    from mmhooks.optim import OptimWrapper

    results = []
    for base, wrapper_cls in ((MMModel, MMOptimWrapper), (BaseModel, OptimWrapper)):
        model = net(base)
        wrapper = wrapper_cls(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                              accumulative_counts=accumulative_counts)
        wrapper.initialize_count_status(model, 0, 3)
        logs = [model.train_step(batch(), wrapper) for _ in range(3)]
        results.append((logs, model.state_dict()))
    (mm_logs, mm_state), (our_logs, our_state) = results
    for theirs, ours in zip(mm_logs, our_logs):
        assert list(ours) == list(theirs)
        for key in theirs:
            assert torch.equal(ours[key], theirs[key]), key
    for key in mm_state:
        assert torch.equal(our_state[key], mm_state[key]), key


def test_uses_default_train_step_tells_an_override():
    from mmengine.model import BaseModel as MMModel

    from mmhooks.model import BaseModel
    from mmhooks.runner.train_step import uses_default_train_step

    class Own(BaseModel):
        def forward(self, *args, **kwargs):
            return {}

        def train_step(self, data, optim_wrapper):
            return {}

    assert uses_default_train_step(net(BaseModel)) and uses_default_train_step(net(MMModel))
    assert not uses_default_train_step(Own()) and not uses_default_train_step(nn.Linear(1, 1))


def test_forward_train_step_through_a_wrapper_is_the_models_own_step():
    """The step a backend runs with its own forward (DDP's, Fabric's) equals BaseModel.train_step."""
    from mmhooks.model import BaseModel
    from mmhooks.optim import OptimWrapper
    from mmhooks.runner.train_step import forward_train_step

    calls = []

    class Wrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

        def forward(self, *args, **kwargs):
            calls.append(kwargs["mode"])
            return self.module(*args, **kwargs)

    states = []
    for through_wrapper in (False, True):
        model = net(BaseModel)
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
        wrapper.initialize_count_status(model, 0, 4)
        for _ in range(4):
            if through_wrapper:
                logs = forward_train_step(model, Wrapper(model), batch(), wrapper)
            else:
                logs = model.train_step(batch(), wrapper)
        states.append((model.state_dict(), logs))
    assert calls == ["loss"] * 4
    (plain, plain_logs), (wrapped, wrapped_logs) = states
    for key in plain:
        assert torch.equal(wrapped[key], plain[key]), key
    assert list(wrapped_logs) == list(plain_logs)
