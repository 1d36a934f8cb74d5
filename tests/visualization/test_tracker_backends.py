"""Tracker vis backends in the core: what they send to a bound tracker, and their checks (no tracker package needed)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from mmhooks.errors import ConfigError
from mmhooks.registry import VISBACKENDS
from mmhooks.visualization import (
    AimVisBackend,
    CSVVisBackend,
    DVCLiveVisBackend,
    MLflowVisBackend,
    TrackerVisBackend,
    WandbVisBackend,
)
from mmhooks.visualization.tracker_backends import Tracker, flatten_params


class RecordingTracker:
    """A Lightning-logger-shaped tracker that records what it is sent."""

    def __init__(self) -> None:
        self.metrics: list[tuple[dict, int | None]] = []
        self.hyperparams: list[dict] = []
        self.finalized: list[str] = []
        self.experiment = self

    def log_metrics(self, metrics, step=None):
        self.metrics.append((dict(metrics), step))

    def log_hyperparams(self, params):
        self.hyperparams.append(dict(params))

    def finalize(self, status):
        self.finalized.append(status)


def test_recording_tracker_is_a_tracker():
    assert isinstance(RecordingTracker(), Tracker)


def test_scalars_reach_the_tracker_with_names_steps_and_plain_numbers(tmp_path):
    backend = CSVVisBackend(str(tmp_path / "vis_data"))
    tracker = RecordingTracker()
    backend.bind(tracker)
    backend.add_scalars({"lr": np.float64(0.01), "loss": torch.tensor(2.5), "n": np.int64(4), "acc": np.array([0.5])},
                        step=3, file_path="ignored.json")
    backend.add_scalar("val/acc", torch.tensor([0.75]), step=4)
    assert tracker.metrics == [({"lr": 0.01, "loss": 2.5, "n": 4, "acc": 0.5}, 3), ({"val/acc": 0.75}, 4)]
    assert all(type(v) in (int, float) for metrics, _ in tracker.metrics for v in metrics.values())
    backend.add_config({"model": {"type": "Net"}})
    assert tracker.hyperparams == [{"model": {"type": "Net"}}]
    backend.close()
    assert tracker.finalized == ["success"]
    assert (tmp_path / "vis_data").is_dir()


def test_unbound_backend_fails_clearly_and_writes_nothing(tmp_path):
    backend = WandbVisBackend(str(tmp_path / "vis_data"))
    with pytest.raises(RuntimeError, match=r"WandbVisBackend writes through Lightning's WandbLogger and none is bound"):
        backend.add_scalars({"loss": 1.0}, step=1)
    assert not (tmp_path / "vis_data").exists()
    backend.close()  # closing an unused backend is a no-op


def test_bind_after_first_write_is_refused(tmp_path):
    backend = CSVVisBackend(str(tmp_path))
    backend.bind(RecordingTracker())
    backend.add_scalar("a", 1.0)
    with pytest.raises(RuntimeError, match="bind the tracker before the first add_"):
        backend.bind(RecordingTracker())


def test_mlflow_rejects_step_key_as_mmengine(tmp_path):
    backend = MLflowVisBackend(str(tmp_path))
    backend.bind(RecordingTracker())
    with pytest.raises(ValueError, match="got a 'step' key in scalar_dict"):
        backend.add_scalars({"step": 1, "loss": 1.0})


def test_mlflow_defaults_follow_mmengine(tmp_path):
    backend = MLflowVisBackend(str(tmp_path / "vis_data"))
    assert backend.exp_name == "Default"
    assert backend.tracking_uri == f"file://{os.path.abspath(tmp_path / 'vis_data')}"


def test_flatten_params_equals_mmengine():
    mm_backend = pytest.importorskip("mmengine.visualization.vis_backend")
    cfg = {
        "model": {"type": "Net", "backbone": {"depth": 18, "out_indices": [1, 2]}},
        "pipeline": [{"type": "Load"}, {"type": "Pack", "keys": ["img"]}],
        "lr": 0.1,
        "empty": {},
    }
    theirs = mm_backend.MLflowVisBackend("unused")._flatten(cfg)  # constructing opens no client
    assert flatten_params(cfg) == theirs


def test_dvclive_params_equal_mmengines_param_like():
    mm_backend = pytest.importorskip("mmengine.visualization.vis_backend")
    from mmhooks.visualization.tracker_backends import _param_like

    cfg = {"a": (1, np.float32(2.0)), "b": {"c": torch.tensor([1, 2]), "d": np.arange(3)}, "e": "x"}
    assert _param_like(cfg) == mm_backend.DVCLiveVisBackend("unused")._to_dvc_paramlike(cfg)


def test_dvclive_scalars_set_live_step_and_keep_names(tmp_path, monkeypatch):
    class Live:
        def __init__(self):
            self.step = 0
            self.logged: list[tuple[str, object, int]] = []

        def log_metric(self, name, value):
            self.logged.append((name, value, self.step))

    tracker = RecordingTracker()
    tracker.experiment = Live()
    monkeypatch.chdir(tmp_path)  # outside any DVC repository
    backend = DVCLiveVisBackend(str(tmp_path / "vis_data"))
    assert backend.init_kwargs["save_dvc_exp"] is False and backend.init_kwargs["cache_images"] is False
    backend.bind(tracker)
    backend.add_scalars({"train/loss": 1.0, "lr": 0.1}, step=0)
    backend.add_scalar("val/acc", 0.5, step=7)
    assert tracker.experiment.logged == [("train/loss", 1.0, 0), ("lr", 0.1, 0), ("val/acc", 0.5, 7)]
    (tmp_path / ".dvc").mkdir()
    assert DVCLiveVisBackend(str(tmp_path / "x")).init_kwargs["save_dvc_exp"] is True  # MMEngine's default


def test_aim_experiment_name_follows_mmengine(tmp_path):
    backend = AimVisBackend(str(tmp_path / "20240102_030405" / "vis_data"))
    assert backend.init_kwargs["experiment"] == "20240102_030405_vis_data"
    assert AimVisBackend(init_kwargs={"experiment": "mine"}).init_kwargs["experiment"] == "mine"


def test_wandb_define_metric_cfg_is_checked_when_built():
    with pytest.raises(ConfigError, match=r"define_metric_cfg: got 'max'"):
        WandbVisBackend("unused", define_metric_cfg="max")


def test_wandb_commit_false_merges_rows_through_the_run(tmp_path):
    class Run:
        def __init__(self):
            self.rows: list[tuple[dict, bool]] = []

        def log(self, row, commit=True):
            self.rows.append((row, commit))

    tracker = RecordingTracker()
    tracker.experiment = Run()
    backend = WandbVisBackend(str(tmp_path), commit=False)
    backend.bind(tracker)
    backend.add_scalars({"loss": 1.0}, step=1)
    assert tracker.experiment.rows == [({"loss": 1.0}, False)] and tracker.metrics == []


@pytest.mark.parametrize(
    "name",
    ["WandbVisBackend", "MLflowVisBackend", "DVCLiveVisBackend", "AimVisBackend", "ClearMLVisBackend",
     "NeptuneVisBackend", "CometVisBackend", "CSVVisBackend"],
)
def test_tracker_backends_are_registered_and_keep_mmengines_signature(name):
    cls = VISBACKENDS.get(name)
    assert cls is not None and issubclass(cls, TrackerVisBackend)
    mm_backend = pytest.importorskip("mmengine.visualization.vis_backend")
    theirs = getattr(mm_backend, name, None)
    if theirs is None:  # mmhooks-only backends (Comet, CSV)
        return
    import inspect

    ours_params = inspect.signature(cls.__init__).parameters
    theirs_params = inspect.signature(theirs.__init__).parameters
    assert list(ours_params) == list(theirs_params)
    for key, param in theirs_params.items():
        assert ours_params[key].default == param.default, key
