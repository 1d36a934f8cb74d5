"""The Runner a user holds is the runner hooks see, before, during and after a run (as MMEngine's), on each backend.

OpenMMLab ``tools/train.py`` scripts and tests read ``runner.logger``,
``runner.epoch``, ``runner.train_loop`` ... around ``runner.train()``; each
test compares with MMEngine's Runner on the same job.
"""

from __future__ import annotations

import logging
import os
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from backends import backend  # noqa: F401  (the fixture)

mmengine = pytest.importorskip("mmengine")


def net(base):
    class Net(base):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layer = nn.Linear(4, 2)
            self.init_calls = 0

        def init_weights(self):
            self.init_calls += 1
            nn.init.constant_(self.layer.bias, 0.25)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
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


def loaders():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(12, 4, generator=g)
    y = torch.stack([x.sum(1), x[:, 0]], 1)
    return DataLoader(TensorDataset(x, y), batch_size=4), DataLoader(TensorDataset(x[:4], y[:4]), batch_size=4)


def build(runner_cls, base_model, base_metric, work_dir, **extra):
    train, val = loaders()
    extra.setdefault("log_level", "WARNING")
    extra.setdefault("train_cfg", dict(by_epoch=True, max_epochs=2))
    return runner_cls(model=net(base_model), work_dir=str(work_dir), train_dataloader=train, val_dataloader=val,
                      val_evaluator=[metric(base_metric)], val_cfg=dict(),
                      optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                      default_hooks=dict(logger=None),
                      experiment_name=f"object_{uuid.uuid4().hex}", **extra)


def both(tmp_path, backend, **extra):
    from mmengine.evaluator import BaseMetric as MMMetric
    from mmengine.model import BaseModel as MMModel
    from mmengine.runner import Runner as MMRunner

    from mmhooks.evaluator import BaseMetric
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    theirs = build(MMRunner, MMModel, MMMetric, tmp_path / "mm", **extra)
    ours = build(Runner, BaseModel, BaseMetric, tmp_path / "ours",
                 trainer=dict(accelerator="cpu", enable_progress_bar=False), backend=backend, **extra)
    return ours, theirs


ATTRIBUTES = ("epoch", "iter", "max_epochs", "max_iters", "rank", "world_size", "distributed", "seed", "model_name")


def snapshot(runner):
    return {name: getattr(runner, name) for name in ATTRIBUTES}


def test_attributes_before_and_after_train_are_mmengines(tmp_path, backend):
    ours, theirs = both(tmp_path, backend, randomness=dict(seed=3))
    for runner in (ours, theirs):
        assert isinstance(runner.logger, logging.Logger)
        assert runner.message_hub is not None and runner.visualizer is not None
        assert callable(runner.call_hook) and callable(runner.load_checkpoint) and callable(runner.save_checkpoint)
        assert os.path.basename(runner.log_dir) == runner.timestamp
    assert type(ours.train_loop).__name__ == type(theirs.train_loop).__name__ == "EpochBasedTrainLoop"
    assert (ours.max_epochs, ours.epoch, ours.iter) == (theirs.max_epochs, theirs.epoch, theirs.iter) == (2, 0, 0)
    ours.train()
    theirs.train()
    assert snapshot(ours) == snapshot(theirs)
    assert (ours.epoch, ours.iter, ours.max_iters) == (2, 6, 6)
    assert ours.train_loop.epoch == ours.epoch and ours.train_loop.iter == ours.iter
    assert ours.val_loop.dataloader is ours.val_dataloader
    assert ours.model.init_calls == theirs.model.init_calls == 1  # MMEngine's Runner initialises the model
    torch.testing.assert_close(ours.model.layer.weight, theirs.model.layer.weight, rtol=0, atol=1e-6)


def test_call_hook_and_a_hook_registered_after_val_run_in_the_next_val(tmp_path, backend):
    from mmengine.hooks import Hook as MMHook

    from mmhooks.hooks import Hook

    calls: dict[str, list[str]] = {"mm": [], "ours": []}

    def counter(base, key):
        class Counter(base):
            def before_val(self, runner):
                calls[key].append("before_val")

            def custom_point(self, runner, value):
                calls[key].append(f"custom:{value}")

        return Counter()

    ours, theirs = both(tmp_path, backend)
    for runner, base, key in ((ours, Hook, "ours"), (theirs, MMHook, "mm")):
        runner.val()
        runner.register_hook(counter(base, key))
        runner.val()
        runner.call_hook("custom_point", value=1)
    assert calls["ours"] == calls["mm"] == ["before_val", "custom:1"]


def test_load_from_logs_and_init_weights_is_skipped_nowhere_but_resume(tmp_path, backend):
    ours, _ = both(tmp_path, backend)
    ours.train()
    checkpoint = os.path.join(ours.work_dir, "epoch_2.pth")
    again, _ = both(tmp_path / "again", backend, load_from=checkpoint, log_level="INFO")
    again.train()
    log_file = os.path.join(again.log_dir, f"{again.timestamp}.log")
    with open(log_file) as file:
        text = file.read()
    assert f"Load checkpoint from {checkpoint}" in text
    assert again.model.init_calls == 1


def test_the_log_starts_as_mmengines(tmp_path, backend):
    ours, theirs = both(tmp_path, backend, log_level="INFO")
    ours.train()
    theirs.train()

    def starts(runner):
        with open(os.path.join(runner.log_dir, f"{runner.timestamp}.log")) as file:
            text = file.read()
        markers = ("System environment:", "Runtime environment:", "Distributed training is not used",
                   "Hooks will be executed in the following order")
        return [text.index(marker) for marker in markers if marker in text]

    theirs_positions, ours_positions = starts(theirs), starts(ours)
    assert len(theirs_positions) == 4 and len(ours_positions) == 4
    assert ours_positions == sorted(ours_positions) and theirs_positions == sorted(theirs_positions)


def test_from_an_mmengine_config_keeps_its_file_name(tmp_path):
    from mmengine.config import Config as MMConfig

    from mmhooks.runner import Runner

    path = tmp_path / "my_experiment.py"
    path.write_text("model = dict(type='torch.nn.Linear', in_features=2, out_features=1)\n"
                    f"work_dir = {str(tmp_path / 'work')!r}\n")
    runner = Runner.from_cfg(MMConfig.fromfile(str(path)))
    assert runner.experiment_name == f"my_experiment_{runner.timestamp}"
    assert runner.cfg.filename == str(path)


def test_a_rejected_config_leaves_work_dir_untouched(tmp_path):
    from mmhooks.errors import ConfigError

    from mmhooks.evaluator import BaseMetric
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    work_dir = tmp_path / "work"
    with pytest.raises(ConfigError):
        build(Runner, BaseModel, BaseMetric, work_dir, randomness=dict(sed=1))
    assert not work_dir.exists() or not any(work_dir.rglob("*"))

    with pytest.raises(ConfigError):
        Runner(model=net(BaseModel), work_dir=str(work_dir), custom_hooks=[dict(type="NoSuchHook")])
    assert not work_dir.exists() or not any(work_dir.rglob("*"))


def test_lines_logged_while_the_model_is_built_reach_the_log_file_as_in_mmengine(tmp_path):
    """MMEngine's logger exists before its Runner builds the model: what the model logs is in the file."""
    from mmengine.logging import print_log as mm_print_log

    from mmhooks.evaluator import BaseMetric
    from mmhooks.logging import print_log
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    class Loud(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 2)
            print_log("mmhooks line while building", logger="current", level=logging.WARNING)
            mm_print_log("mmengine line while building", logger="current", level=logging.WARNING)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            return {"loss": F.mse_loss(out, targets)} if mode == "loss" else out

    train, _ = loaders()
    runner = Runner(model=dict(type=Loud), work_dir=str(tmp_path / "w"), train_dataloader=train,
                    train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                    default_hooks=dict(logger=None), experiment_name=f"loud_{uuid.uuid4().hex}",
                    trainer=dict(accelerator="cpu", enable_progress_bar=False))
    assert not (tmp_path / "w").exists()  # nothing written before the run starts
    runner.train()
    with open(os.path.join(runner.log_dir, f"{runner.timestamp}.log")) as file:
        text = file.read()
    positions = [text.index(marker) for marker in ("Config:", "mmhooks line while building",
                                                   "mmengine line while building", "Hooks will be executed")]
    assert positions == sorted(positions)
    assert text.count("mmhooks line while building") == 1


def test_a_dataloader_that_cannot_be_built_leaves_work_dir_untouched(tmp_path, backend):
    from mmhooks.errors import ConfigError
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    work_dir = tmp_path / "work"
    runner = Runner(model=net(BaseModel), work_dir=str(work_dir),
                    train_dataloader=dict(batch_size=2, dataset=dict(type="NoSuchDataset")),
                    train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                    trainer=dict(accelerator="cpu", enable_progress_bar=False), backend=backend)
    with pytest.raises(ConfigError, match="NoSuchDataset"):
        runner.train()
    assert not work_dir.exists() or not any(work_dir.rglob("*"))


def test_resume_logs_mmengines_lines_and_where_it_resumed_from(tmp_path, monkeypatch, backend):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # MMEngine 0.10's resume on torch >= 2.6
    ours, theirs = both(tmp_path, backend, log_level="INFO")
    ours.train()
    theirs.train()
    again_ours, again_theirs = both(tmp_path, backend, log_level="INFO", resume=True,
                                    train_cfg=dict(by_epoch=True, max_epochs=3))

    def log_of(runner):
        runner.train()
        with open(os.path.join(runner.log_dir, f"{runner.timestamp}.log")) as file:
            return file.read()

    ours_text, theirs_text = log_of(again_ours), log_of(again_theirs)
    for line in ("Auto resumed from the latest checkpoint", "resumed epoch: 2, iter: 6"):
        assert line in theirs_text and line in ours_text, line
    assert f"Resumed from {os.path.join(again_ours.work_dir, 'epoch_2.pth')} (epoch 2, iter 6)" in ours_text


def test_mmengines_private_counter_names_write_the_runs_counters(tmp_path, backend):
    ours, theirs = both(tmp_path, backend)
    for runner in (ours, theirs):
        runner.train_loop._iter += 3
        runner.train_loop._epoch += 1
        assert (runner.iter, runner.epoch) == (3, 1)
        runner._resume = True
    assert ours._resume is True and theirs._resume is True
