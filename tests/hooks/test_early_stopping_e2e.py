"""EarlyStoppingHook stops a real run at the same epoch under MMEngine's Runner and mmhooks' Runner."""

from __future__ import annotations

import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")

# The metric each validation round reports: improves twice, then stalls.
SCORES = [0.50, 0.60, 0.65, 0.64, 0.66, 0.63, 0.62, 0.61, 0.60, 0.59]


def model(base):
    class Toy(base):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(2, 1)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
            return [dict(n=1) for _ in out] if mode == "predict" else out

    return Toy()


def scripted_metric(base):
    class Scripted(base):
        rounds = 0

        def process(self, data_batch, data_samples):
            self.results.extend(data_samples)

        def compute_metrics(self, results):
            score = SCORES[type(self).rounds]
            type(self).rounds += 1
            return {"acc": score}

    return Scripted()


def run(runner_cls, base_model, base_metric, tmp_path, **extra):
    data = TensorDataset(torch.randn(8, 2), torch.randn(8, 1))

    runner = runner_cls(
        model=model(base_model), work_dir=str(tmp_path), experiment_name=f"es_{uuid.uuid4().hex}",
        train_dataloader=DataLoader(data, batch_size=4), val_dataloader=DataLoader(data, batch_size=4),
        val_evaluator=[scripted_metric(base_metric)] if base_model.__module__.startswith("mmengine") else
        scripted_metric(base_metric), val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=10),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        default_hooks=dict(logger=None, checkpoint=None),
        custom_hooks=[dict(type="EarlyStoppingHook", monitor="acc", patience=2, min_delta=0.02)],
        log_level="WARNING", **extra,
    )
    runner.train()
    return runner


def test_stops_at_the_same_epoch(tmp_path):
    from mmengine.evaluator import BaseMetric as MMMetric
    from mmengine.model import BaseModel as MMModel
    from mmengine.runner import Runner as MMRunner

    from mmhooks.evaluator import BaseMetric
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    theirs = run(MMRunner, MMModel, MMMetric, tmp_path / "mm")
    ours = run(Runner, BaseModel, BaseMetric, tmp_path / "ours", trainer=dict(enable_progress_bar=False))
    assert theirs.epoch < 10  # it did stop early
    assert ours.trainer.current_epoch == theirs.epoch
