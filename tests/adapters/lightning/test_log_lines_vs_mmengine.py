"""``HookCallback([LoggerHook])`` in a user's Trainer prints the lines MMEngine's Runner prints for the same values.

Differential: MMEngine 0.10.7's Runner trains a model whose ``train_step`` returns
``loss`` and ``acc`` and whose evaluator returns ``val_acc``; a plain
LightningModule returns the same ``loss`` from ``training_step`` and logs ``acc``
and ``val_acc`` with ``self.log``. The values are fixed by the data (the model
does not change them), so every line and every ``scalars.json`` row must match,
times and dates masked.
"""

from __future__ import annotations

import glob
import json
import os
import re

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import HookCallback

mmengine = pytest.importorskip("mmengine")

SCHEDULE = [dict(type="LinearLR", start_factor=0.5, by_epoch=False, end=4),
            dict(type="MultiStepLR", milestones=[1], gamma=0.1, by_epoch=True)]
TIMES = re.compile(r"(eta: )\S+|((?:data_)?time: )[0-9.]+|(Exp name: )\S+")


def scored_data(n: int, seed: int) -> TensorDataset:
    """Inputs plus the loss and accuracy each sample contributes (multiples of 1/8: exact means)."""
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 1, generator=g), torch.randint(0, 16, (n,), generator=g) / 8,
                         torch.randint(0, 9, (n,), generator=g) / 8)


def loaders():
    return DataLoader(scored_data(20, 0), batch_size=2), DataLoader(scored_data(8, 1), batch_size=2)


class Scored(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(1, 1)

    def training_step(self, batch, batch_idx):
        x, loss, acc = batch
        self.log("acc", acc.mean())
        return self.layer(x).sum() * 0 + loss.mean()

    def validation_step(self, batch, batch_idx):
        x, loss, acc = batch
        self.log("val_acc", acc.mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def mmengine_run(work_dir):
    from mmengine.evaluator import BaseMetric, Evaluator
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class MMScored(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(1, 1)

        def train_step(self, data, optim_wrapper):
            x, loss, acc = data
            total = self.layer(x).sum() * 0 + loss.mean()
            optim_wrapper.update_params(total)
            return {"loss": total.detach(), "acc": acc.mean()}

        def val_step(self, data):
            return [dict(acc=data[2].mean())]

        def forward(self, *args, **kwargs):
            raise AssertionError("train_step and val_step are overridden")

    class MeanAcc(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.extend(float(sample["acc"]) for sample in data_samples)

        def compute_metrics(self, results):
            return {"val_acc": sum(results) / len(results)}

    train, val = loaders()
    runner = Runner(
        model=MMScored(), work_dir=str(work_dir), train_dataloader=train, val_dataloader=val, val_cfg=dict(),
        val_evaluator=Evaluator([MeanAcc()]), train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)), param_scheduler=SCHEDULE,
        default_hooks=dict(logger=dict(type="LoggerHook", interval=5), checkpoint=None),
    )
    runner.train()
    return os.path.join(str(work_dir), runner.timestamp)


def lightning_run(root):
    callback = HookCallback([dict(type="LoggerHook", interval=5)], param_scheduler=SCHEDULE)
    trainer = pl.Trainer(max_epochs=2, callbacks=[callback], default_root_dir=str(root), logger=False,
                         accelerator="cpu", enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(Scored(), *loaders())
    return callback.runner.log_dir


def progress_lines(log_dir):
    """The Epoch(...)/Exp name lines of the run's text log, after the logger's prefix, times masked."""
    (log_file,) = glob.glob(os.path.join(log_dir, "*.log"))
    lines = []
    with open(log_file) as handle:
        for line in handle:
            _, _, message = line.rstrip("\n").partition(" - mmengine - INFO - ")
            if message.startswith(("Epoch(", "Exp name")):
                lines.append(TIMES.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + "*", message))
    return lines


def json_rows(log_dir):
    with open(os.path.join(log_dir, "vis_data", "scalars.json")) as handle:
        rows = [json.loads(line) for line in handle]
    for row in rows:
        for key in ("time", "data_time"):
            if key in row:
                row[key] = "*"
    return rows


@pytest.mark.slow
def test_log_lines_and_scalars_match_mmengine(tmp_path):
    expected_dir = mmengine_run(tmp_path / "mmengine")
    got_dir = lightning_run(tmp_path / "lightning")
    expected = progress_lines(expected_dir)
    assert len(expected) == 8  # 2 epochs x (2 train lines, Exp name, the val line)
    assert progress_lines(got_dir) == expected
    assert json_rows(got_dir) == json_rows(expected_dir)
    # the values the lines hold: the returned loss, the logged acc, the lr of the schedule, time and eta
    assert re.search(r"lr: \S+  eta: \*  time: \*  data_time: \*  loss: \S+  acc: \S+$", expected[0])
    assert re.search(r"val_acc: \S+  data_time: \*  time: \*$", expected[3])
