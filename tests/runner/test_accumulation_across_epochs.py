"""Gradient accumulation windows that cross an epoch end, with validation in between, train as MMEngine's.

Epoch length 5 and ``accumulative_counts=2``: the window of iterations 4 and 5
spans the end of epoch 1, where validation runs. MMEngine keeps the gradient
of iteration 4 through validation and steps after iteration 5.
"""

from __future__ import annotations

import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from backends import backend  # noqa: F401  (the fixture)

mmengine = pytest.importorskip("mmengine")


def model(base):
    class Net(base):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layer = nn.Linear(4, 2)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets) * 10}
            if mode == "predict":
                return [dict(err=float(F.mse_loss(o, t))) for o, t in zip(out, targets)]
            return out

    return Net()


def metric(base):
    class MSE(base):
        def process(self, data_batch, data_samples):
            self.results.extend(s["err"] for s in data_samples)

        def compute_metrics(self, results):
            return {"mse": sum(results) / len(results)}

    return MSE()


def recorder(base, trace):
    class Recorder(base):
        priority = "VERY_LOW"

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            trace.append((runner.iter, round(float(outputs["loss"]), 6),
                          runner.optim_wrapper.get_lr()["lr"][0]))

    return Recorder()


def loaders():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(20, 4, generator=g)
    y = torch.stack([x.sum(1), x[:, 0] * 2], 1)
    return DataLoader(TensorDataset(x, y), batch_size=4), DataLoader(TensorDataset(x[:8], y[:8]), batch_size=4)


CFG = dict(
    train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1),
    val_cfg=dict(),
    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9), accumulative_counts=2,
                       clip_grad=dict(max_norm=1.0)),
    param_scheduler=[dict(type="LinearLR", start_factor=0.25, by_epoch=False, begin=0, end=8)],
    default_hooks=dict(logger=None, checkpoint=None),
    log_level="WARNING",
    randomness=dict(seed=1),
)


def run(runner_cls, base_model, base_metric, base_hook, work_dir, **extra):
    trace: list = []
    train, val = loaders()
    runner = runner_cls(model=model(base_model), work_dir=str(work_dir), train_dataloader=train, val_dataloader=val,
                        val_evaluator=[metric(base_metric)], custom_hooks=[recorder(base_hook, trace)],
                        experiment_name=f"acc_{uuid.uuid4().hex}", **CFG, **extra)
    trained = runner.train()
    return trace, trained


def test_accumulation_window_across_an_epoch_end_with_validation_matches_mmengine(tmp_path, backend):
    from mmengine.evaluator import BaseMetric as MMMetric
    from mmengine.hooks import Hook as MMHook
    from mmengine.model import BaseModel as MMModel
    from mmengine.runner import Runner as MMRunner

    from mmhooks.evaluator import BaseMetric
    from mmhooks.hooks import Hook
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    theirs, their_model = run(MMRunner, MMModel, MMMetric, MMHook, tmp_path / "mm")
    ours, our_model = run(Runner, BaseModel, BaseMetric, Hook, tmp_path / "ours",
                          trainer=dict(accelerator="cpu", enable_progress_bar=False), backend=backend)
    assert len(theirs) == 15
    assert [i for i, _, _ in ours] == [i for i, _, _ in theirs]
    assert [lr for _, _, lr in ours] == pytest.approx([lr for _, _, lr in theirs], abs=1e-12)
    assert [loss for _, loss, _ in ours] == pytest.approx([loss for _, loss, _ in theirs], abs=1e-5)
    for key, value in their_model.state_dict().items():
        torch.testing.assert_close(our_model.state_dict()[key], value, rtol=0, atol=1e-6, msg=key)
