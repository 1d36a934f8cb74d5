"""Differential traces of whole Runner jobs: every mount point, in order, with MMEngine's counters, batch indices and
metric names, under MMEngine's Runner and under mmhooks' Runner on each backend (train, then test)."""

from __future__ import annotations

import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from backends import backend  # noqa: F401  (the fixture)
from trace_utils import make_recorder, mmengine_metric, mmengine_toy_model, regression_data

mmengine = pytest.importorskip("mmengine")


def ours_toy_model():
    from mmhooks.model import BaseModel

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 1)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
            return [dict(err=float(F.mse_loss(out, targets)))] if mode == "predict" else out

    return Toy()


def ours_metric():
    from mmhooks.evaluator import BaseMetric

    class MSE(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.extend(s["err"] for s in data_samples)

        def compute_metrics(self, results):
            return {"mse": sum(results) / len(results)}

    return MSE()


JOBS = {
    "epochs-val-checkpoints": dict(train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=2),
                                   checkpoint=dict(type="CheckpointHook", interval=1)),
    "iterations-val-checkpoints": dict(train_cfg=dict(by_epoch=False, max_iters=7, val_interval=3),
                                       checkpoint=dict(type="CheckpointHook", interval=2, by_epoch=False)),
    "accumulation": dict(train_cfg=dict(by_epoch=True, max_epochs=2), checkpoint=None, accumulative_counts=2),
}


def trace(framework, work_dir, job, **extra):
    if framework == "mmengine":
        from mmengine.hooks import Hook
        from mmengine.runner import Runner

        model, metric, test_metric = mmengine_toy_model(), mmengine_metric(), mmengine_metric()
    else:
        from mmhooks.hooks import Hook
        from mmhooks.runner import Runner

        model, metric, test_metric = ours_toy_model(), ours_metric(), ours_metric()
    log = []
    torch.manual_seed(0)
    runner = Runner(
        model=model, work_dir=str(work_dir), train_dataloader=DataLoader(regression_data(12), batch_size=4),
        val_dataloader=DataLoader(regression_data(8, seed=1), batch_size=4), val_evaluator=metric, val_cfg=dict(),
        test_dataloader=DataLoader(regression_data(4, seed=2), batch_size=4), test_evaluator=test_metric,
        test_cfg=dict(), train_cfg=job["train_cfg"],
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01), accumulative_counts=job.get("accumulative_counts", 1)),
        default_hooks=dict(runtime_info=None, timer=None, sampler_seed=None, logger=None, param_scheduler=None,
                           checkpoint=job["checkpoint"]),
        custom_hooks=[make_recorder(Hook, log, "a", "HIGH"), make_recorder(Hook, log, "b", "LOW")],
        log_level="WARNING", experiment_name=f"trace_{uuid.uuid4().hex}", **extra)
    runner.train()
    runner.test()
    return log


@pytest.fixture(scope="module", params=[pytest.param(name, marks=[pytest.mark.slow] if "iterations" in name else [])
                                        for name in JOBS], ids=list(JOBS))  # MMEngine sleeps 2 s per data pass
def mmengine_log(request, tmp_path_factory):
    return request.param, trace("mmengine", tmp_path_factory.mktemp("mm"), JOBS[request.param])


def test_the_whole_trace_is_mmengines(mmengine_log, backend, tmp_path):
    name, expected = mmengine_log
    got = trace("mmhooks", tmp_path, JOBS[name], backend=backend, trainer=dict(enable_progress_bar=False))
    assert {stage for _, stage, *_ in expected} >= {"before_save_checkpoint", "after_test_epoch", "after_run"} or \
        name == "accumulation"
    assert got == expected
