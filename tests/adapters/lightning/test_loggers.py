"""vis_backends as Lightning loggers: the stores they leave equal MMEngine's backends' on the same calls.

Each test feeds mmhooks' backend (bound to the Lightning logger that
``lightning_loggers`` builds) and MMEngine's own backend the same calls,
then reads both local stores back with the tracker's own reader (MLflow's
client, DVCLive's files, W&B's offline run file, TensorBoard's events).
"""

from __future__ import annotations

import csv
import glob
import itertools
import json
import os
import struct
import time
from collections import defaultdict

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import HookCallback
from mmhooks.adapters.lightning.loggers import bind_logger, lightning_loggers
from mmhooks.errors import ConfigError
from mmhooks.visualization import Visualizer

mmengine_config = pytest.importorskip("mmengine.config")

_ids = itertools.count()
# What a LoggerHook sends (MMEngine's tag names), then a validation metric.
CALLS = [
    ({"lr": 0.01, "data_time": 0.002, "loss": 2.5, "time": 0.01, "epoch": 1, "iter": 1}, 1),
    ({"lr": 0.005, "data_time": 0.001, "loss": 1.25, "time": 0.02, "epoch": 1, "iter": 2}, 2),
    ({"toy/acc": 0.75}, 1),
]


def _config(work_dir):
    return mmengine_config.Config(dict(model=dict(type="Net", depth=3), lr=0.1, pipeline=[dict(type="Load")],
                                       work_dir=str(work_dir)))


def _feed(backend, work_dir) -> None:
    for scalars, step in CALLS:
        backend.add_scalars(dict(scalars), step=step)
    backend.add_scalar("single", 3.5, step=5)
    backend.add_config(_config(work_dir))


def _work_dir(tmp_path):
    """One work_dir for both runs' configs, with a log and a config file (MLflow logs them as artifacts)."""
    work_dir = tmp_path / "work"
    if not work_dir.exists():
        (work_dir / "20240101_000000").mkdir(parents=True)
        (work_dir / "20240101_000000" / "20240101_000000.log").write_text("log line\n")
        (work_dir / "toy.py").write_text("lr = 0.1\n")
    return work_dir


def _visualizer(save_dir, *backends):
    return Visualizer(f"loggers-{next(_ids)}", vis_backends=list(backends), save_dir=str(save_dir))


# ----------------------------------------------------------------------- mapping
@pytest.mark.slow
def test_each_backend_maps_to_its_lightning_logger(tmp_path):
    expected = {"TensorboardVisBackend": "TensorBoardLogger", "CSVVisBackend": "CSVLogger"}
    optional = {"WandbVisBackend": ("wandb", "WandbLogger"), "MLflowVisBackend": ("mlflow", "MLFlowLogger"),
                "DVCLiveVisBackend": ("dvclive", "DVCLiveLogger"), "AimVisBackend": ("aim", "AimLogger"),
                "CometVisBackend": ("comet_ml", "CometLogger")}
    import importlib.util

    for backend, (module, logger) in optional.items():
        if importlib.util.find_spec(module) is not None:
            expected[backend] = logger
    configs = [dict(type=name, name=name) for name in expected]
    for config in configs:
        if config["type"] == "AimVisBackend":
            config["init_kwargs"] = dict(repo=str(tmp_path))
        if config["type"] == "CometVisBackend":
            config["init_kwargs"] = dict(online=False)
    vis = _visualizer(tmp_path, dict(type="LocalVisBackend"), *configs)
    loggers = lightning_loggers(vis)
    assert [type(logger).__name__ for logger in loggers] == list(expected.values())
    assert lightning_loggers(vis) == loggers  # built once, then the same objects


@pytest.mark.parametrize("backend, reason", [("ClearMLVisBackend", "ClearML ships none"),
                                             ("NeptuneVisBackend", "retired NeptuneLogger")])
def test_backend_without_lightning_logger_is_a_config_error(tmp_path, backend, reason):
    vis = _visualizer(tmp_path, dict(type="TensorboardVisBackend"), dict(type="CSVVisBackend"), dict(type=backend))
    with pytest.raises(ConfigError, match=rf"^visualizer.vis_backends\[2\].type: got '{backend}'.*{reason}"):
        lightning_loggers(vis)
    assert not os.listdir(tmp_path)  # refused before any logger was built


def test_missing_tracker_package_is_a_config_error(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    vis = _visualizer(tmp_path, dict(type="WandbVisBackend"))
    with pytest.raises(ConfigError, match=r"vis_backends\[0\].type: got 'WandbVisBackend'.*Fix: pip install wandb"):
        lightning_loggers(vis)


# ---------------------------------------------------------- stores vs MMEngine's
def _events(log_dir) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: [(e.step, round(e.value, 6)) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def test_tensorboard_logger_events_equal_mmengine(tmp_path):
    from mmengine.visualization import TensorboardVisBackend as MMTensorboard

    vis = _visualizer(tmp_path / "ours", dict(type="TensorboardVisBackend"))
    (logger,) = lightning_loggers(vis)
    assert isinstance(logger, TensorBoardLogger)
    assert os.path.normpath(logger.log_dir) == str(tmp_path / "ours" / "vis_data")  # MMEngine's event directory
    theirs = MMTensorboard(str(tmp_path / "theirs"))
    for backend in (vis.get_backend("TensorboardVisBackend"), theirs):
        for scalars, step in CALLS:
            backend.add_scalars(dict(scalars), step=step)
        backend.close()
    ours_events = _events(tmp_path / "ours" / "vis_data")
    assert ours_events == _events(tmp_path / "theirs") and ours_events["loss"] == [(1, 2.5), (2, 1.25)]


@pytest.mark.slow
def test_mlflow_file_store_equals_mmengine(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient
    from mmengine.visualization import MLflowVisBackend as MMMLflow

    kwargs = dict(exp_name="toy", run_name="run-1", tags={"team": "vis"}, params={"seed": 7})
    vis = _visualizer(tmp_path / "ours", dict(type="MLflowVisBackend", **kwargs))
    lightning_loggers(vis)
    _feed(vis.get_backend("MLflowVisBackend"), _work_dir(tmp_path))
    vis.close()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MMEngine opens the file store directly
    theirs = MMMLflow(str(tmp_path / "theirs" / "vis_data"), **kwargs)
    _feed(theirs, _work_dir(tmp_path))
    theirs.close()

    def read(store):
        client = MlflowClient(f"file://{store}")
        (run,) = client.search_runs([client.get_experiment_by_name("toy").experiment_id])
        history = {key: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
                   for key in run.data.metrics}
        artifacts = sorted(a.path for a in client.list_artifacts(run.info.run_id))
        text = open(client.download_artifacts(run.info.run_id, "config.py", str(store / "dl"))).read()
        tags = {k: v for k, v in run.data.tags.items() if k in ("mlflow.runName", "team")}
        return history, run.data.params, tags, artifacts, text, run.info.status

    ours, theirs_read = read(tmp_path / "ours" / "vis_data"), read(tmp_path / "theirs" / "vis_data")
    assert ours[0] == theirs_read[0]  # every metric, step and value
    assert ours[0]["loss"] == [(1, 2.5), (2, 1.25)] and ours[0]["single"] == [(5, 3.5)]
    assert ours[1] == theirs_read[1] and ours[1]["model.depth"] == "3" and ours[1]["seed"] == "7"
    assert ours[2] == theirs_read[2] == {"mlflow.runName": "run-1", "team": "vis"}
    assert ours[3] == theirs_read[3] and "config.py" in ours[3]
    assert ours[4] == theirs_read[4]
    assert ours[5] == theirs_read[5] == "FINISHED"


@pytest.mark.slow
def test_dvclive_files_equal_mmengine(tmp_path, monkeypatch):
    pytest.importorskip("dvclive")
    from mmengine.visualization import DVCLiveVisBackend as MMDVCLive

    monkeypatch.chdir(tmp_path)  # no DVC repository: MMEngine would run `dvc init` here
    monkeypatch.setattr(os, "system", lambda command: 0)
    init = dict(save_dvc_exp=False, cache_images=False)
    vis = _visualizer(tmp_path / "ours", dict(type="DVCLiveVisBackend", init_kwargs=dict(init)))
    lightning_loggers(vis)
    _feed(vis.get_backend("DVCLiveVisBackend"), _work_dir(tmp_path))
    vis.close()
    theirs = MMDVCLive(str(tmp_path / "theirs"), init_kwargs=dict(init))
    _feed(theirs, _work_dir(tmp_path))
    theirs.close()

    def read(root):
        files = sorted(os.path.relpath(p, root) for p in glob.glob(f"{root}/plots/metrics/**/*.tsv", recursive=True))
        tables = {name: open(os.path.join(root, name)).read().splitlines() for name in files}
        return tables, open(os.path.join(root, "params.yaml")).read()

    ours, theirs_read = read(tmp_path / "ours" / "vis_data"), read(tmp_path / "theirs")
    assert ours[0].keys() == theirs_read[0].keys() and "plots/metrics/toy/acc.tsv" in ours[0]
    strip = lambda rows: [row.split("\t", 1)[1] for row in rows]  # noqa: E731 - drop the timestamp column
    for name in ours[0]:
        assert strip(ours[0][name]) == strip(theirs_read[0][name]), name
    assert ours[1] == theirs_read[1]


def _wandb_records(path) -> list[bytes]:
    """The protobuf records of a W&B run file (LevelDB log blocks of 32 KiB, 7-byte record headers)."""
    data, position, pending, records = open(path, "rb").read(), 7, b"", []
    while position + 7 <= len(data):
        if 32768 - position % 32768 < 7:
            position += 32768 - position % 32768
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + 7])
        chunk = data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            records.append(pending + chunk)
            pending = b""
        elif kind in (2, 3):
            pending += chunk
        else:
            break
    return records


def _wandb_rows(root) -> tuple[list[dict], dict]:
    """History rows and config of the offline run under ``root``, read from W&B's run file once it is complete."""
    from wandb.proto import wandb_internal_pb2

    (path,) = glob.glob(f"{root}/**/offline-run-*/run-*.wandb", recursive=True)
    for _ in range(100):  # W&B's service writes the file asynchronously; the run ends with an exit record
        parsed = []
        for raw in _wandb_records(path):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(raw)
            parsed.append(record)
        if any(record.WhichOneof("record_type") == "exit" for record in parsed):
            break
        time.sleep(0.1)
    rows, config = [], {}
    for record in parsed:
        if record.WhichOneof("record_type") == "history":
            rows.append({_key(item): json.loads(item.value_json) for item in record.history.item})
        elif record.WhichOneof("record_type") == "config":
            config.update({_key(item): json.loads(item.value_json) for item in record.config.update})
    return rows, config


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


@pytest.mark.slow
def test_wandb_offline_run_equals_mmengine(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    from mmengine.visualization import WandbVisBackend as MMWandb

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    init = dict(project="mmhooks-test", mode="offline")
    theirs = MMWandb(str(tmp_path / "theirs"), init_kwargs=dict(init))
    _feed(theirs, _work_dir(tmp_path))
    theirs.close()  # MMEngine finishes the global run (wandb.join)
    vis = _visualizer(tmp_path / "ours", dict(type="WandbVisBackend", init_kwargs=dict(init)))
    (logger,) = lightning_loggers(vis)
    _feed(vis.get_backend("WandbVisBackend"), _work_dir(tmp_path))
    vis.close()
    logger.experiment.finish()  # the run stays open after close (Lightning's convention); end it to read it

    hidden = {"_timestamp", "_runtime", "trainer/global_step"}
    ours_rows, ours_config = _wandb_rows(tmp_path / "ours")
    theirs_rows, theirs_config = _wandb_rows(tmp_path / "theirs")
    assert [{k: v for k, v in r.items() if k not in hidden} for r in ours_rows] == [
        {k: v for k, v in r.items() if k not in hidden} for r in theirs_rows
    ]
    assert [r["trainer/global_step"] for r in ours_rows] == [1, 2, 1, 5]  # MMEngine's steps, Lightning's axis
    assert {k: v for k, v in ours_config.items() if k != "_wandb"} == {
        k: v for k, v in theirs_config.items() if k != "_wandb"
    }
    assert wandb.run is None


@pytest.mark.slow
def test_aim_receives_mmengines_tracks(tmp_path, monkeypatch):
    pytest.importorskip("aim")
    from aim.sdk.run import Run
    from mmengine.visualization import AimVisBackend as MMAim

    tracked: dict[str, list] = defaultdict(list)
    real_track = Run.track

    def record(run, value, name=None, step=None, **kwargs):
        tracked[run.experiment].append((name, value, step))
        return real_track(run, value, name=name, step=step, **kwargs)

    monkeypatch.setattr(Run, "track", record)
    theirs = MMAim(str(tmp_path / "theirs" / "vis_data"), init_kwargs=dict(repo=str(tmp_path)))
    _feed(theirs, _work_dir(tmp_path))
    vis = _visualizer(tmp_path / "ours", dict(type="AimVisBackend", init_kwargs=dict(repo=str(tmp_path))))
    (logger,) = lightning_loggers(vis)
    _feed(vis.get_backend("AimVisBackend"), _work_dir(tmp_path))
    assert logger.experiment.experiment == "ours_vis_data" and theirs.experiment.experiment == "theirs_vis_data"
    assert tracked["ours_vis_data"] == tracked["theirs_vis_data"] and ("loss", 1.25, 2) in tracked["ours_vis_data"]
    assert logger.experiment["hparams"] == theirs.experiment["hparams"]
    vis.close()
    theirs.close()


def test_csv_logger_file(tmp_path):
    vis = _visualizer(tmp_path, dict(type="CSVVisBackend"))
    (logger,) = lightning_loggers(vis)
    assert isinstance(logger, CSVLogger)
    _feed(vis.get_backend("CSVVisBackend"), tmp_path)
    vis.close()
    with open(tmp_path / "vis_data" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["step"], row["loss"]) for row in rows if row["loss"]] == [("1", "2.5"), ("2", "1.25")]
    assert [(row["step"], row["toy/acc"]) for row in rows if row["toy/acc"]] == [("1", "0.75")]
    assert "depth: 3" in (tmp_path / "vis_data" / "hparams.yaml").read_text()


# ------------------------------------------------------------- in a Trainer
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


def _data():
    x = torch.randn(12, 4, generator=torch.Generator().manual_seed(0))
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4)


def _json_scalars(path) -> dict[str, list[int]]:
    steps: dict[str, list[int]] = defaultdict(list)
    for line in open(path):
        record = json.loads(line)
        step = record.pop("step")
        for tag in record:
            steps[tag].append(step)
    return dict(steps)


def test_trainer_with_the_returned_loggers_gets_hooks_and_lightning_scalars(tmp_path):
    """A user's own Trainer: logger=lightning_loggers(vis), the hooks' scalars at MMEngine's steps in each store."""
    vis = _visualizer(tmp_path / "run", dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend"),
                      dict(type="CSVVisBackend"))
    loggers = lightning_loggers(vis)
    callback = HookCallback(
        [dict(type="RuntimeInfoHook"), dict(type="IterTimerHook"), dict(type="LoggerHook", interval=1)],
        work_dir=str(tmp_path / "work"), visualizer=vis,
    )
    trainer = pl.Trainer(max_epochs=1, callbacks=[callback], logger=loggers, accelerator="cpu", log_every_n_steps=1,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Regressor(), _data())
    vis_data = tmp_path / "run" / "vis_data"
    from_json = _json_scalars(vis_data / "scalars.json")  # LocalVisBackend: MMEngine's file
    events = _events(vis_data)
    assert [s for s, _ in events["loss"]] == from_json["loss"] == [1, 2, 3]
    # Lightning adds its own 0-based "epoch" at its global step whenever the module calls self.log; that tag and
    # what the module logs (lightning_loss, also in MMEngine's lines and scalars.json) are Lightning's in this file
    lightnings = {"epoch", "lightning_loss"}
    shared = {tag: [s for s, _ in points] for tag, points in events.items() if tag in from_json and tag not in lightnings}
    assert shared == {tag: steps for tag, steps in from_json.items() if tag not in lightnings}
    assert set(from_json) <= set(events)
    assert "lightning_loss" in events  # the LightningModule's self.log lands in the same run
    assert [s for s, _ in events["lightning_loss"]] == [0, 1, 2]  # written by Lightning only, at its steps
    assert [v for _, v in events["epoch"]] == [0, 0, 0]  # Lightning's epoch: no MMEngine 1-based epoch among it
    with open(vis_data / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows if row.get("lr")] == from_json["lr"]
    assert any(row.get("lightning_loss") for row in rows)


@pytest.mark.slow
def test_trainer_fit_with_mlflow_and_wandb_loggers(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    from mlflow import MlflowClient

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    vis = _visualizer(tmp_path / "run", dict(type="LocalVisBackend"), dict(type="MLflowVisBackend"),
                      dict(type="WandbVisBackend", init_kwargs=dict(project="mmhooks-test", mode="offline")))
    mlflow_logger, wandb_logger = loggers = lightning_loggers(vis)
    callback = HookCallback(
        [dict(type="RuntimeInfoHook"), dict(type="IterTimerHook"), dict(type="LoggerHook", interval=1)],
        work_dir=str(tmp_path / "work"), visualizer=vis,
    )
    trainer = pl.Trainer(max_epochs=1, callbacks=[callback], logger=loggers, accelerator="cpu", log_every_n_steps=1,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Regressor(), _data())
    wandb_logger.experiment.finish()
    from_json = _json_scalars(tmp_path / "run" / "vis_data" / "scalars.json")
    client = MlflowClient(mlflow_logger._tracking_uri)
    assert [m.step for m in client.get_metric_history(mlflow_logger.run_id, "loss")] == from_json["loss"] == [1, 2, 3]
    assert client.get_metric_history(mlflow_logger.run_id, "lightning_loss")
    rows, _ = _wandb_rows(tmp_path / "run")
    assert [row["trainer/global_step"] for row in rows if "loss" in row] == from_json["loss"]
    assert any("lightning_loss" in row for row in rows)


def test_bind_logger_leaves_local_and_mmengine_backends_alone(tmp_path):
    from mmengine.visualization import LocalVisBackend as MMLocal

    from mmhooks.visualization import LocalVisBackend

    assert bind_logger(LocalVisBackend(str(tmp_path))) is None
    assert bind_logger(MMLocal(str(tmp_path))) is None
    assert not np.any([os.listdir(tmp_path)])


def test_build_visualizer_binds_trackers_and_leaves_tensorboard_for_the_trainer(tmp_path):
    from types import SimpleNamespace

    from mmhooks.adapters.lightning.visualizer import build_visualizer

    runner = SimpleNamespace(experiment_name=f"exp-{next(_ids)}", log_dir=str(tmp_path), trainer=None, rank=0)
    vis = build_visualizer(runner, dict(vis_backends=[dict(type="TensorboardVisBackend"), dict(type="CSVVisBackend")]))
    assert vis.get_backend("CSVVisBackend").is_bound and not vis.get_backend("TensorboardVisBackend").is_bound
    assert Visualizer.get_current_instance() is vis
    loggers = lightning_loggers(vis)  # what the Runner passes to lightning.Trainer(logger=...)
    assert [type(logger).__name__ for logger in loggers] == ["TensorBoardLogger", "CSVLogger"]
    assert loggers[1] is vis.get_backend("CSVVisBackend").tracker


def test_tracker_config_in_a_users_trainer_writes_without_the_trainer_knowing(tmp_path):
    """HookCallback in a user's Trainer: a CSVVisBackend in the visualizer config still gets MMEngine's scalars."""
    callback = HookCallback(
        [dict(type="RuntimeInfoHook"), dict(type="IterTimerHook"), dict(type="LoggerHook", interval=1)],
        work_dir=str(tmp_path), visualizer=dict(vis_backends=[dict(type="LocalVisBackend"), dict(type="CSVVisBackend")]),
    )
    trainer = pl.Trainer(max_epochs=1, callbacks=[callback], logger=False, accelerator="cpu",
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Regressor(), _data())
    vis_data = tmp_path / callback.runner.timestamp / "vis_data"
    from_json = _json_scalars(vis_data / "scalars.json")
    with open(vis_data / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows if row.get("loss")] == from_json["loss"] == [1, 2, 3]
