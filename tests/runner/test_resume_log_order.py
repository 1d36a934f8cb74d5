"""A resumed run's log says what MMEngine's says, in MMEngine's order.

MMEngine's ``train()`` runs ``before_run``, initialises the model (its
initialisation table goes to the log file), then resumes: "Auto resumed from
the latest checkpoint", "Load checkpoint from", "resumed epoch: E, iter: I";
only then ``before_train`` (CheckpointHook's "Checkpoints will be saved to").
Users read that order to tell which checkpoint a restarted job took.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")

pytestmark = pytest.mark.slow  # four Lightning fits

MARKERS = ("Name of parameter - Initialization information", "Auto resumed from the latest checkpoint",
           "Load checkpoint from", "resumed epoch:", "Checkpoints will be saved to", "Advance dataloader",
           "Saving checkpoint at")


def model(lib: Any) -> nn.Module:
    class Net(lib.BaseModel):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Normal", std=0.3, layer="Linear"))
            self.layer = nn.Linear(3, 1)

        def forward(self, inputs: Any, targets: Any = None, mode: str = "tensor") -> Any:
            out = self.layer(inputs)
            return {"loss": F.mse_loss(out, targets)} if mode == "loss" else out

    torch.manual_seed(0)
    return Net()


def train(lib: Any, runner_cls: type, work_dir: Any, train_cfg: dict[str, Any], resume: bool,
          **extra: Any) -> list[str]:
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(4))
    runner = runner_cls(
        model=model(lib), work_dir=str(work_dir), experiment_name=f"resume_log_{uuid.uuid4().hex}",
        train_dataloader=DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4),
        train_cfg=train_cfg, optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.05)),
        randomness=dict(seed=5), resume=resume, **extra)
    runner.train()
    with open(os.path.join(runner.log_dir, f"{runner.timestamp}.log")) as file:
        text = file.read()
    # Two runs started within one second share a timestamp, and so a log file: keep the last run's part.
    lines = text[text.rindex("Hooks will be executed in the following order"):].splitlines()
    found = []
    for line in lines:
        marker = next((m for m in MARKERS if m in line), None)
        if marker is not None:
            found.append(line[line.index(marker):].replace(str(work_dir), "<work_dir>"))
    return found


def resumed_logs(tmp_path, first: dict[str, Any], second: dict[str, Any], extra: dict[str, Any]):
    import mmengine.model
    import mmengine.runner

    import mmhooks.model
    import mmhooks.runner

    theirs = (mmengine.model, mmengine.runner.Runner)
    ours = (mmhooks.model, mmhooks.runner.Runner)
    quiet = dict(trainer=dict(enable_progress_bar=False))
    train(*theirs, tmp_path / "mm", first, resume=False, **extra)
    train(*ours, tmp_path / "ours", first, resume=False, **extra, **quiet)
    return (train(*theirs, tmp_path / "mm", second, resume=True, **extra),
            train(*ours, tmp_path / "ours", second, resume=True, **extra, **quiet))


def test_the_resume_lines_come_where_mmengine_writes_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # MMEngine's own resume under torch >= 2.6
    theirs, ours = resumed_logs(tmp_path, dict(by_epoch=True, max_epochs=1), dict(by_epoch=True, max_epochs=2), {})
    assert theirs == ["Name of parameter - Initialization information",
                      "Auto resumed from the latest checkpoint <work_dir>/epoch_1.pth.",
                      "Load checkpoint from <work_dir>/epoch_1.pth", "resumed epoch: 1, iter: 2",
                      "Checkpoints will be saved to <work_dir>.", "Saving checkpoint at 2 epochs"]
    assert ours == theirs


def test_an_iteration_based_resume_skips_batches_after_before_train_epoch(tmp_path, monkeypatch):
    """MMEngine's IterBasedTrainLoop says it advances the dataloader after before_train and before_train_epoch."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    checkpoints = dict(default_hooks=dict(checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=3)))
    theirs, ours = resumed_logs(tmp_path, dict(by_epoch=False, max_iters=3), dict(by_epoch=False, max_iters=5),
                                checkpoints)
    assert theirs == ["Name of parameter - Initialization information",
                      "Auto resumed from the latest checkpoint <work_dir>/iter_3.pth.",
                      "Load checkpoint from <work_dir>/iter_3.pth", "resumed epoch: 0, iter: 3",
                      "Checkpoints will be saved to <work_dir>.",
                      "Advance dataloader 3 steps to skip data that has already been trained",
                      "Saving checkpoint at 5 iterations"]
    assert ours == theirs
