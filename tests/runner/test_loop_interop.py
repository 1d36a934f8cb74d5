"""The run's loops pass MMEngine's isinstance checks once MMEngine's loop classes exist, and not before.

Building a loop no longer imports ``mmengine.runner`` (about 0.1 s of start-up): the
loop is moved to the MMEngine-compatible class on the first access after
MMEngine's loops module is loaded, which is before anyone can hold that class.
"""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

mm_loops = pytest.importorskip("mmengine.runner.loops")

from mmhooks.model import BaseModel  # noqa: E402  (after the importorskip)
from mmhooks.runner import Runner  # noqa: E402
from mmhooks.runner import loops  # noqa: E402


class Net(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)

    def forward(self, inputs, targets=None, mode="tensor"):
        out = self.layer(inputs)
        return {"loss": (out - targets).pow(2).mean()} if mode == "loss" else out


def runner(tmp_path, by_epoch: bool) -> Runner:
    data = TensorDataset(torch.randn(8, 2), torch.randn(8, 1))
    schedule = dict(by_epoch=True, max_epochs=1) if by_epoch else dict(by_epoch=False, max_iters=4)
    return Runner(model=Net(), work_dir=str(tmp_path), train_dataloader=DataLoader(data, batch_size=2),
                  train_cfg=schedule, optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                  default_hooks=dict(logger=None, checkpoint=None))


@pytest.mark.parametrize("by_epoch", [True, False])
def test_the_train_loop_is_adopted_once_mmengines_loops_are_loaded(tmp_path, monkeypatch, by_epoch):
    ours = loops.EpochBasedTrainLoop if by_epoch else loops.IterBasedTrainLoop
    theirs = mm_loops.EpochBasedTrainLoop if by_epoch else mm_loops.IterBasedTrainLoop
    run = runner(tmp_path, by_epoch)
    monkeypatch.delitem(sys.modules, "mmengine.runner.loops")
    loop = run.train_loop
    assert type(loop) is ours  # MMEngine's loops are not loaded: the plain class, nothing imported
    assert "mmengine.runner.loops" not in sys.modules
    monkeypatch.undo()
    assert run.train_loop is loop and isinstance(loop, theirs) and isinstance(loop, ours)
    assert run._train_loop is loop and type(run.train_loop) is type(loop)  # adopted once, then kept
