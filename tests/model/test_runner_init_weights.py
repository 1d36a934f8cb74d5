"""The Runner initialises a model with ``init_cfg`` as MMEngine's Runner does, before the first iteration.

MMEngine's ``Runner.train()`` calls ``model.init_weights()`` after ``before_run``
and before loading a checkpoint; a model's ``init_cfg`` (mmpretrain: Kaiming
convs, BN constant 1, ``Normal(std=0.01)`` head) then decides the weights the
first iteration sees, and so the whole loss curve.
"""

from __future__ import annotations

import types
import uuid
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")


def classifier(lib: types.ModuleType) -> nn.Module:
    class Classifier(lib.BaseModel):
        def __init__(self) -> None:
            super().__init__(init_cfg=[dict(type="Kaiming", layer="Conv2d"),
                                       dict(type="Constant", val=1, layer="_BatchNorm"),
                                       dict(type="Normal", std=0.01, layer="Linear", bias=0.1)])
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4, 3)

        def forward(self, inputs: Any, labels: Any = None, mode: str = "tensor") -> Any:
            logits = self.fc(F.relu(self.bn(self.conv(inputs))).mean((2, 3)))
            if mode == "loss":
                return {"loss": F.cross_entropy(logits, labels)}
            return logits

    torch.manual_seed(0)
    return Classifier()


def recorder(base_hook: type, trace: list[Any]) -> Any:
    class Recorder(base_hook):
        priority = "VERY_HIGH"

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == 0:
                trace.append({k: v.detach().clone() for k, v in runner.model.state_dict().items()})

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            trace.append(float(outputs["loss"].detach()))

    return Recorder()


def run(lib: types.ModuleType, hook_cls: type, runner_cls: type, work_dir: Any, train_cfg: dict[str, Any],
        **extra: Any) -> list[Any]:
    g = torch.Generator().manual_seed(2)
    data = TensorDataset(torch.randn(8, 3, 6, 6, generator=g), torch.randint(0, 3, (8,), generator=g))
    trace: list[Any] = []
    runner = runner_cls(
        model=classifier(lib), work_dir=str(work_dir), experiment_name=f"init_{uuid.uuid4().hex}",
        train_dataloader=DataLoader(data, batch_size=4), train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)), default_hooks=dict(checkpoint=None),
        custom_hooks=[recorder(hook_cls, trace)], randomness=dict(seed=3), **extra)
    runner.train()
    return trace


TRAIN_CFGS = [
    pytest.param(dict(by_epoch=True, max_epochs=1), id="epoch_based"),
    # MMEngine's IterBasedTrainLoop creates its DataLoader iterator when the loop is built, before before_run:
    # that draws the iterator's base seed from torch's global generator before init_weights draws the weights.
    pytest.param(dict(by_epoch=False, max_iters=3), marks=pytest.mark.slow, id="iter_based"),
]


@pytest.mark.parametrize("train_cfg", TRAIN_CFGS)
def test_first_iteration_sees_mmengine_initialised_weights(tmp_path: Any, train_cfg: dict[str, Any]) -> None:
    import mmengine.hooks
    import mmengine.model
    import mmengine.runner

    import mmhooks.hooks
    import mmhooks.model
    import mmhooks.runner

    expected = run(mmengine.model, mmengine.hooks.Hook, mmengine.runner.Runner, tmp_path / "mm", train_cfg)
    mine = run(mmhooks.model, mmhooks.hooks.Hook, mmhooks.runner.Runner, tmp_path / "ours", train_cfg,
               trainer=dict(enable_progress_bar=False))
    assert torch.all(expected[0]["fc.bias"] == 0.1)  # the init_cfg ran under MMEngine
    assert list(mine[0]) == list(expected[0])
    for key, value in expected[0].items():
        torch.testing.assert_close(mine[0][key], value, rtol=0, atol=0, msg=key)
    torch.testing.assert_close(mine[1:], expected[1:], rtol=0, atol=1e-6)
