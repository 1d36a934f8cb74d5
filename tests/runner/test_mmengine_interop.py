"""Checkpoints and objects cross between MMEngine and mmhooks in both directions.

MMEngine (``mmengine-lite``) is the oracle: its Runner writes the files we
load, its ``load_checkpoint`` and ``MessageHub`` read the files we write, and
its ``BaseModel``, ``Hook`` and ``BaseMetric`` run inside mmhooks' Runner.
"""

from __future__ import annotations

import os
import pickle
import uuid

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.errors import ConfigError
from mmhooks.runner.checkpoint import ALLOW_UNSAFE_ENV, UnsafeCheckpointError, load_checkpoint_file

mmengine = pytest.importorskip("mmengine")


def toy_model(seed: int):
    from mmengine.model import BaseModel

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 2)
            self.bn = nn.BatchNorm1d(2)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.bn(self.layer(inputs))
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
            if mode == "predict":
                return [dict(err=float(F.mse_loss(o, t))) for o, t in zip(out, targets)]
            return out

    torch.manual_seed(seed)
    return Toy()


def mse_metric_class():
    from mmengine.evaluator import BaseMetric

    class MSE(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.extend(s["err"] for s in data_samples)

        def compute_metrics(self, results):
            return {"mse": sum(results) / len(results)}

    return MSE


def recorder_hook():
    from mmengine.hooks import Hook

    class Recorder(Hook):
        priority = "VERY_LOW"

        def __init__(self):
            self.weights_before_train = None
            self.val_metrics = []
            self.iters = []

        def before_train(self, runner):
            self.weights_before_train = {k: v.clone() for k, v in runner.model.state_dict().items()}

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.iters.append((runner.epoch, runner.iter, batch_idx, float(outputs["loss"].detach())))

        def after_val_epoch(self, runner, metrics=None):
            self.val_metrics.append(dict(metrics))

    return Recorder()


def loader(n: int = 8):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, 4, generator=g)
    return DataLoader(TensorDataset(x, torch.stack([x.sum(1), x[:, 0]], 1)), batch_size=4)


@pytest.fixture(scope="module")
def mmengine_checkpoint(tmp_path_factory):
    """``epoch_1.pth`` written by MMEngine's own Runner (its message hub pickles HistoryBuffers)."""
    from mmengine.runner import Runner

    work_dir = tmp_path_factory.mktemp("mmengine_run")
    runner = Runner(
        model=toy_model(seed=1), work_dir=str(work_dir), train_dataloader=loader(),
        train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        experiment_name=f"interop_{uuid.uuid4().hex}",
    )
    runner.train()
    return os.path.join(str(work_dir), "epoch_1.pth")


@pytest.fixture(scope="module")
def our_run(tmp_path_factory, mmengine_checkpoint):
    """mmhooks' Runner with MMEngine's model, hook and metric, starting from MMEngine's checkpoint."""
    from mmhooks.runner import Runner

    recorder = recorder_hook()
    runner = Runner(
        model=toy_model(seed=2), work_dir=str(tmp_path_factory.mktemp("ours")), train_dataloader=loader(),
        val_dataloader=loader(), val_cfg=dict(), val_evaluator=dict(type=mse_metric_class()),
        train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        custom_hooks=[recorder], load_from=mmengine_checkpoint, trainer=dict(enable_progress_bar=False),
    )
    runner.train()
    return runner, recorder


# ----------------------------------------------------------------------------- MMEngine files in mmhooks
def test_mmengine_checkpoint_loads_without_opt_in(mmengine_checkpoint, monkeypatch):
    from mmhooks.logging import HistoryBuffer

    monkeypatch.delenv(ALLOW_UNSAFE_ENV, raising=False)
    theirs = torch.load(mmengine_checkpoint, weights_only=False)  # the oracle: full unpickling
    ours = load_checkpoint_file(mmengine_checkpoint)
    assert list(ours) == list(theirs)
    for key, value in theirs["state_dict"].items():
        torch.testing.assert_close(ours["state_dict"][key], value, rtol=0, atol=0)
    assert list(ours["message_hub"]["log_scalars"]) == list(theirs["message_hub"]["log_scalars"])
    for key, buffer in theirs["message_hub"]["log_scalars"].items():
        loaded = ours["message_hub"]["log_scalars"][key]
        assert isinstance(loaded, HistoryBuffer)
        np.testing.assert_array_equal(loaded.data[0], buffer.data[0])
        np.testing.assert_array_equal(loaded.data[1], buffer.data[1])
        assert loaded.max_length == buffer.max_length
        assert float(loaded.mean()) == pytest.approx(float(buffer.mean()))
    assert ours["meta"]["epoch"] == theirs["meta"]["epoch"] == 1


def test_loaded_mmengine_hub_state_feeds_mmhooks_message_hub(mmengine_checkpoint):
    from mmhooks.logging import MessageHub

    state = load_checkpoint_file(mmengine_checkpoint)["message_hub"]
    hub = MessageHub(f"interop_{uuid.uuid4().hex}")
    hub.load_state_dict(state)
    theirs = torch.load(mmengine_checkpoint, weights_only=False)["message_hub"]
    expected = theirs["log_scalars"]["train/loss"].current()
    assert float(hub.get_scalar("train/loss").current()) == pytest.approx(float(expected))
    assert hub.get_info("iter") == theirs["runtime_info"]["iter"]


def test_other_getattr_targets_stay_refused(tmp_path, monkeypatch):
    """The getattr stand-in serves only HistoryBuffer statistics; anything else needs the opt-in."""
    from collections import OrderedDict

    class Sneaky:
        def __reduce__(self):
            return getattr, (OrderedDict, "fromkeys")

    monkeypatch.delenv(ALLOW_UNSAFE_ENV, raising=False)
    path = tmp_path / "sneaky.pth"
    torch.save({"state_dict": {}, "x": Sneaky()}, path)
    with pytest.raises(UnsafeCheckpointError, match="sneaky.pth.*allow_unsafe=True"):
        load_checkpoint_file(path)


def test_other_mmengine_classes_stay_refused(tmp_path, monkeypatch):
    from mmengine.config import ConfigDict

    monkeypatch.delenv(ALLOW_UNSAFE_ENV, raising=False)
    path = tmp_path / "cfg.pth"
    torch.save({"meta": {"cfg": ConfigDict(a=1)}}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"mmengine\.config"):
        load_checkpoint_file(path)


def test_load_from_mmengine_checkpoint_loads_weights(our_run, mmengine_checkpoint):
    _, recorder = our_run
    expected = torch.load(mmengine_checkpoint, weights_only=False)["state_dict"]
    assert list(recorder.weights_before_train) == list(expected)
    for key, value in expected.items():
        torch.testing.assert_close(recorder.weights_before_train[key], value, rtol=0, atol=0)


def test_resume_from_mmengine_checkpoint_is_refused_with_fix(tmp_path, mmengine_checkpoint):
    from mmhooks.runner import Runner

    runner = Runner(
        model=toy_model(seed=2), work_dir=str(tmp_path), train_dataloader=loader(),
        train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        resume=mmengine_checkpoint, default_hooks=dict(logger=None, checkpoint=None),
        trainer=dict(enable_progress_bar=False),
    )
    with pytest.raises(ConfigError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith(f"resume: got {mmengine_checkpoint!r}; expected a checkpoint written by mmhooks")
    assert "Fix: use load_from=path" in message
    assert not os.path.exists(os.path.join(str(tmp_path), "epoch_1.pth"))


# ----------------------------------------------------------------------------- mmengine objects in mmhooks
def test_mmengine_model_hook_and_metric_train_end_to_end(our_run):
    runner, recorder = our_run
    assert [(e, i, b) for e, i, b, _ in recorder.iters] == [(0, 0, 0), (0, 1, 1)]
    assert all(np.isfinite(loss) for *_, loss in recorder.iters)
    assert len(recorder.val_metrics) == 1 and set(recorder.val_metrics[0]) == {"mse"}
    assert recorder.val_metrics[0]["mse"] > 0
    assert isinstance(runner.model, mmengine.model.BaseModel)
    assert os.path.isfile(os.path.join(runner.work_dir, "epoch_1.pth"))


def test_mmengine_metric_instance_as_val_evaluator(tmp_path):
    from mmhooks.runner import Runner

    runner = Runner(
        model=toy_model(seed=2), work_dir=str(tmp_path), val_dataloader=loader(), val_cfg=dict(),
        val_evaluator=mse_metric_class()(), default_hooks=dict(logger=None, checkpoint=None),
        trainer=dict(enable_progress_bar=False),
    )
    assert set(runner.val()) == {"mse"}


# ----------------------------------------------------------------------------- mmhooks files in MMEngine
def test_mmengine_load_checkpoint_reads_our_file(our_run):
    from mmengine.runner import load_checkpoint

    runner, _ = our_run
    path = os.path.join(runner.work_dir, "epoch_1.pth")
    model = toy_model(seed=5)
    load_checkpoint(model, path, map_location="cpu", strict=True)
    for key, value in runner.model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)


def test_mmengine_message_hub_accepts_our_hub_state(our_run):
    from mmengine.logging import MessageHub

    runner, _ = our_run
    checkpoint = torch.load(os.path.join(runner.work_dir, "epoch_1.pth"), weights_only=False)
    hub = MessageHub(f"interop_{uuid.uuid4().hex}")
    hub.load_state_dict(checkpoint["message_hub"])
    assert "train/loss" in hub.log_scalars
    ours = load_checkpoint_file(os.path.join(runner.work_dir, "epoch_1.pth"))["message_hub"]
    np.testing.assert_allclose(hub.get_scalar("train/loss").data[0], ours["log_scalars"]["train/loss"].data[0])
    assert hub.get_info("epoch") == ours["runtime_info"]["epoch"]


def test_loaded_buffers_pickle_as_mmhooks_buffers(mmengine_checkpoint):
    """Re-saving a loaded MMEngine checkpoint writes mmhooks' own buffer format (loadable again)."""
    loaded = load_checkpoint_file(mmengine_checkpoint)
    data = pickle.dumps(loaded["message_hub"]["log_scalars"]["train/loss"])
    assert b"MMEngineHistoryBuffer" not in data
