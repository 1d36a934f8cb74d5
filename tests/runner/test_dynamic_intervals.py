"""train_cfg validation schedules (val_begin, val_interval, dynamic_intervals) under both Runners."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from backends import BACKENDS
from trace_utils import make_recorder, mmengine_metric, mmengine_toy_model, regression_data

mmengine = pytest.importorskip("mmengine")

NO_DEFAULTS = dict(runtime_info=None, timer=None, sampler_seed=None, logger=None, param_scheduler=None,
                   checkpoint=None)


def ours_toy_model():
    from torch import nn
    from torch.nn import functional as F

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


def val_points(runner_cls, hook_base, model, metric, tmp_path, train_cfg, **extra):
    log = []
    runner = runner_cls(
        model=model, work_dir=str(tmp_path), train_dataloader=DataLoader(regression_data(8), batch_size=4),
        val_dataloader=DataLoader(regression_data(4), batch_size=4), val_evaluator=metric, val_cfg=dict(),
        train_cfg=train_cfg, optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        default_hooks=NO_DEFAULTS, custom_hooks=[make_recorder(hook_base, log)], log_level="WARNING", **extra)
    runner.train()
    return [(epoch, it) for _, stage, epoch, it, *_ in log if stage == "before_val"]


CASES = {
    "epoch-dynamic": dict(by_epoch=True, max_epochs=9, val_interval=3, dynamic_intervals=[(4, 2), (7, 1)]),
    "epoch-begin-interval": dict(by_epoch=True, max_epochs=7, val_begin=3, val_interval=2),
    "iter-dynamic": dict(by_epoch=False, max_iters=13, val_interval=5, dynamic_intervals=[(6, 2)]),
}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def mmengine_points(request, tmp_path_factory):
    """(case name, MMEngine's validation points): one MMEngine run per case, shared by both backends."""
    from mmengine.hooks import Hook as MMHook
    from mmengine.runner import Runner as MMRunner

    torch.manual_seed(0)
    work_dir = tmp_path_factory.mktemp("mm")
    return request.param, val_points(MMRunner, MMHook, mmengine_toy_model(), mmengine_metric(), work_dir,
                                     CASES[request.param])


@pytest.mark.parametrize("backend", BACKENDS)
def test_validation_points_match_mmengine(mmengine_points, backend, tmp_path):
    from mmhooks.hooks import Hook
    from mmhooks.runner import Runner

    name, expected = mmengine_points
    torch.manual_seed(0)
    got = val_points(Runner, Hook, ours_toy_model(), ours_metric(), tmp_path / "ours", CASES[name],
                     trainer=dict(enable_progress_bar=False), backend=backend)
    assert len(expected) >= 3
    assert got == expected
