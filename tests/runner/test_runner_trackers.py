"""A Runner whose ``visualizer.vis_backends`` names an experiment tracker writes to it through its Lightning logger.

The tracker receives MMEngine's tags and steps: the same scalars as ``scalars.json``
(whose contents the parity tests compare with MMEngine's).
"""

from __future__ import annotations

import json
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.model import BaseModel
from mmhooks.runner import Runner


class Net(BaseModel):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 2)

    def forward(self, inputs, targets=None, mode="tensor"):
        out = self.layer(inputs)
        return {"loss": F.mse_loss(out, targets)} if mode == "loss" else out


def test_mlflow_backend_of_a_runner_gets_the_scalars_of_scalars_json(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 4, generator=g)
    store = f"file://{tmp_path / 'mlruns'}"
    runner = Runner(
        model=Net(), work_dir=str(tmp_path / "work"), train_dataloader=DataLoader(TensorDataset(x, x[:, :2]), 4),
        train_cfg=dict(by_epoch=True, max_epochs=2), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1), checkpoint=None),
        visualizer=dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend"),
                                                         dict(type="MLflowVisBackend", tracking_uri=store,
                                                              exp_name="runner-test")]),
        experiment_name=f"trackers_{uuid.uuid4().hex}", trainer=dict(accelerator="cpu", enable_progress_bar=False))
    runner.train()
    with open(f"{runner.log_dir}/vis_data/scalars.json") as file:
        records = [json.loads(line) for line in file]
    expected = [(r["step"], r["loss"]) for r in records if "loss" in r]
    assert len(expected) == 8
    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name("runner-test").experiment_id])
    got = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")]
    assert [step for step, _ in got] == [step for step, _ in expected]
    assert [value for _, value in got] == pytest.approx([value for _, value in expected], rel=1e-6)
