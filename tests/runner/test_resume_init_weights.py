"""A resumed run initialises the model before loading the checkpoint, as MMEngine's ``train()`` does.

MMEngine's ``Runner.train()`` calls ``model.init_weights()`` whether or not it
resumes; the checkpoint then overwrites the weights. The initialisers draw from
torch's global generator, so everything random after them (Dropout, DropPath,
mmpretrain's Mixup/CutMix ``torch.randperm``) depends on that call having
happened: without it a resumed run trains on other random numbers than
MMEngine's resumed run. Its lines are also in MMEngine's log file.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")

pytestmark = pytest.mark.slow  # four Lightning fits


def model(lib: Any) -> nn.Module:
    class Dropping(lib.BaseModel):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Normal", std=0.3, layer="Linear", bias=0.05))
            self.layer = nn.Linear(6, 6)
            self.drop = nn.Dropout(0.5)
            self.head = nn.Linear(6, 1)

        def forward(self, inputs: Any, targets: Any = None, mode: str = "tensor") -> Any:
            out = self.head(self.drop(F.relu(self.layer(inputs))))
            return {"loss": F.mse_loss(out, targets)} if mode == "loss" else out

    torch.manual_seed(0)
    return Dropping()


def losses_hook(base_hook: type, losses: list[float]) -> Any:
    class Losses(base_hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            losses.append(float(outputs["loss"].detach()))

    return Losses()


def train(lib: Any, hook_cls: type, runner_cls: type, work_dir: Any, max_epochs: int, resume: bool,
          **extra: Any) -> tuple[list[float], dict[str, torch.Tensor]]:
    x = torch.randn(12, 6, generator=torch.Generator().manual_seed(4))
    losses: list[float] = []
    runner = runner_cls(
        model=model(lib), work_dir=str(work_dir), experiment_name=f"resume_init_{uuid.uuid4().hex}",
        train_dataloader=DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.05)),
        default_hooks=dict(logger=None), custom_hooks=[losses_hook(hook_cls, losses)], randomness=dict(seed=5),
        resume=resume, log_level="WARNING", **extra)
    runner.train()
    return losses, {key: value.detach().clone() for key, value in runner.model.state_dict().items()}


def test_a_resumed_run_draws_the_same_random_numbers_as_mmengines(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # MMEngine's own resume under torch >= 2.6
    import mmengine.hooks
    import mmengine.model
    import mmengine.runner

    import mmhooks.hooks
    import mmhooks.model
    import mmhooks.runner

    theirs = (mmengine.model, mmengine.hooks.Hook, mmengine.runner.Runner)
    ours = (mmhooks.model, mmhooks.hooks.Hook, mmhooks.runner.Runner)
    quiet = dict(trainer=dict(enable_progress_bar=False))
    train(*theirs, tmp_path / "mm", max_epochs=1, resume=False)
    train(*ours, tmp_path / "ours", max_epochs=1, resume=False, **quiet)
    their_losses, their_weights = train(*theirs, tmp_path / "mm", max_epochs=3, resume=True)
    our_losses, our_weights = train(*ours, tmp_path / "ours", max_epochs=3, resume=True, **quiet)
    assert len(their_losses) == 6
    torch.testing.assert_close(our_losses, their_losses, rtol=0, atol=1e-6)
    for key, value in their_weights.items():
        torch.testing.assert_close(our_weights[key], value, rtol=0, atol=1e-6, msg=key)
