"""TensorBoard: MMEngine's event files under vis_data, or the user's own Lightning TensorBoardLogger."""

from __future__ import annotations

import glob
import json
import os
from collections import defaultdict

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import HookCallback

pytest.importorskip("tensorboard")

VISUALIZER = dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")])


def event_scalars(directory) -> dict[str, list[tuple[int, float]]]:
    """Tag -> [(step, value)] read back with TensorBoard's own event reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def json_scalars(path) -> dict[str, list[tuple[int, float]]]:
    """Tag -> [(step, value)] from scalars.json (one JSON object per line, with its ``step``)."""
    found: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with open(path) as handle:
        for line in handle:
            record = json.loads(line)
            step = record.pop("step")
            for tag, value in record.items():
                found[tag].append((step, value))
    return dict(found)


def data(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True))


def test_runner_tensorboard_events_equal_scalars_json(tmp_path):
    from mmhooks.evaluator import BaseMetric
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    class Net(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 1)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
            if mode == "predict":
                return [dict(err=float((o - t).abs().sum())) for o, t in zip(out, targets)]
            return out

    class MAE(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.extend(s["err"] for s in data_samples)

        def compute_metrics(self, results):
            return {"mae": sum(results) / len(results)}

    runner = Runner(
        model=Net(), work_dir=str(tmp_path), train_dataloader=DataLoader(data(), batch_size=4),
        val_dataloader=DataLoader(data(8, seed=1), batch_size=4), val_cfg=dict(), val_evaluator=MAE(),
        train_cfg=dict(by_epoch=True, max_epochs=2), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1), checkpoint=None),
        visualizer=VISUALIZER, trainer=dict(enable_progress_bar=False),
    )
    runner.train()
    vis_data = os.path.join(str(tmp_path), runner.timestamp, "vis_data")
    assert glob.glob(os.path.join(vis_data, "events.out.tfevents.*"))
    from_json = json_scalars(os.path.join(vis_data, "scalars.json"))
    from_events = event_scalars(vis_data)
    assert sorted(from_events) == sorted(from_json)
    assert {"lr", "loss", "mae"} <= set(from_events)
    for tag, points in from_json.items():
        assert [s for s, _ in from_events[tag]] == [s for s, _ in points], tag
        assert [v for _, v in from_events[tag]] == pytest.approx([v for _, v in points], rel=1e-5, abs=1e-6), tag
    assert [s for s, _ in from_events["loss"]] == [1, 2, 3, 4, 5, 6]
    assert [s for s, _ in from_events["mae"]] == [1, 2]


class Regressor(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.mse_loss(self.layer(x), y)
        self.log("lightning_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def test_hook_scalars_go_to_their_own_event_file_beside_the_users_tensorboard_logger(tmp_path):
    """One tag, one writer: the hooks' scalars (MMEngine's tags and steps) in vis_data, Lightning's file untouched."""
    tb_logger = TensorBoardLogger(save_dir=str(tmp_path / "tb"), name="run")
    work_dir = tmp_path / "work"
    callback = HookCallback(
        [dict(type="RuntimeInfoHook"), dict(type="IterTimerHook"), dict(type="LoggerHook", interval=1)],
        work_dir=str(work_dir), visualizer=VISUALIZER,
    )
    trainer = pl.Trainer(max_epochs=1, callbacks=[callback], logger=tb_logger, accelerator="cpu",
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         log_every_n_steps=1)
    trainer.fit(Regressor(), DataLoader(data(), batch_size=4))

    lightning_events = event_scalars(tb_logger.log_dir)
    assert set(lightning_events) == {"lightning_loss", "epoch"}  # Lightning's own scalars only
    assert [s for s, _ in lightning_events["lightning_loss"]] == [0, 1, 2]
    assert len(glob.glob(os.path.join(tb_logger.log_dir, "events.out.tfevents.*"))) == 1
    vis_data = work_dir / callback.runner.timestamp / "vis_data"
    events = event_scalars(vis_data)  # MMEngine's TensorboardVisBackend, its own writer
    assert [s for s, _ in events["loss"]] == [1, 2, 3]  # the hooks' scalars, MMEngine's steps
    assert [s for s, _ in events["lr"]] == [1, 2, 3]
    assert [v for _, v in events["epoch"]] == [1, 1, 1]  # MMEngine's 1-based epoch, apart from Lightning's
    json_tags = json_scalars(vis_data / "scalars.json")  # LocalVisBackend still writes its file
    assert sorted(json_tags) == sorted(events)
    for tag, points in json_tags.items():
        assert [s for s, _ in events[tag]] == [s for s, _ in points], tag
        assert [v for _, v in events[tag]] == pytest.approx([v for _, v in points], rel=1e-5, abs=1e-6), tag
