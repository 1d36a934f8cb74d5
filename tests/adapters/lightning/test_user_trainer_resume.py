"""Hooks in a user's own Trainer: a fit resumed from Lightning's ModelCheckpoint file continues the same schedule."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.nn import functional as F
from torch.utils.data import DataLoader

from mmhooks.adapters.lightning import HookCallback
from mmhooks.hooks import Hook
from mmhooks.testing import tiny_dataset

SCHEDULE = [
    dict(type="LinearLR", start_factor=0.25, by_epoch=False, begin=0, end=5),
    dict(type="MultiStepLR", milestones=[1, 2], gamma=0.5, by_epoch=True),
]


class Regressor(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)


class LrTrace(Hook):
    def __init__(self, log):
        self.log = log

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.log.append((runner.epoch, runner.iter, runner.optim_wrapper.get_lr()["lr"][0]))


def fit(make_trainer, tmp_path, log, ckpt_path=None):
    callback = HookCallback([dict(type="ParamSchedulerHook", param_scheduler=SCHEDULE), LrTrace(log)])
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_epochs=1, save_top_k=-1)
    trainer = make_trainer(max_epochs=3, callbacks=[callback, saver], enable_checkpointing=True)
    model = Regressor()
    trainer.fit(model, DataLoader(tiny_dataset(16), batch_size=4), ckpt_path=ckpt_path)
    return model


def test_resume_continues_the_lr_schedule_and_weights(make_trainer, tmp_path):
    straight = []
    straight_model = fit(make_trainer, tmp_path / "a", straight)
    resumed = []
    resumed_model = fit(make_trainer, tmp_path / "b", resumed, ckpt_path=tmp_path / "a" / "ckpt" / "epoch=0-step=4.ckpt")
    assert resumed == straight[4:]
    assert [lr for _, _, lr in straight] == pytest.approx([0.025, 0.04375, 0.0625, 0.08125, 0.05, 0.05, 0.05, 0.05,
                                                           0.025, 0.025, 0.025, 0.025], rel=1e-12)
    torch.testing.assert_close(resumed_model.layer.weight, straight_model.layer.weight, rtol=0, atol=0)
