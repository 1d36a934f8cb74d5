"""Record what hooks see, identically under MMEngine's Runner and under HookCallback."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

STAGES = (
    "before_run", "after_load_checkpoint", "before_train", "before_train_epoch", "before_train_iter",
    "after_train_iter", "after_train_epoch", "before_val", "before_val_epoch", "before_val_iter",
    "after_val_iter", "after_val_epoch", "after_val", "before_save_checkpoint", "after_train",
    "before_test", "before_test_epoch", "before_test_iter", "after_test_iter", "after_test_epoch",
    "after_test", "after_run",
)


def make_recorder(base, log, name="rec", priority="NORMAL"):
    """A subclass of ``base`` (mmengine's or mmhooks' Hook) that appends what each mount point sees."""

    def make(stage):
        def method(self, runner, **kwargs):
            entry = (name, stage, runner.epoch, runner.iter, kwargs.get("batch_idx"))
            if "metrics" in kwargs:
                entry += (tuple(sorted(kwargs["metrics"] or {})),)
            log.append(entry)

        return method

    attrs = {stage: make(stage) for stage in STAGES}
    attrs["priority"] = priority
    return type(f"Recorder_{name}", (base,), attrs)()


def regression_data(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x.sum(dim=1, keepdim=True)
    return torch.utils.data.TensorDataset(x, y)


def mmengine_toy_model():
    from mmengine.model import BaseModel

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 1)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
            if mode == "predict":
                return [dict(err=float(F.mse_loss(out, targets)))]
            return out

    return Toy()


def mmengine_metric():
    from mmengine.evaluator import BaseMetric, Evaluator

    class MSE(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.extend(s["err"] for s in data_samples)

        def compute_metrics(self, results):
            return {"mse": sum(results) / len(results)}

    return Evaluator([MSE()])
