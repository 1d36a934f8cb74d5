"""The same run under MMEngine's Runner and under mmhooks' Runner (on each backend) leaves the same trace, files and logs."""

from __future__ import annotations

import json
import os
import re
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from backends import BACKENDS

mmengine = pytest.importorskip("mmengine")


def toy_model(base_model):
    class Toy(base_model):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 2)
            self.bn = nn.BatchNorm1d(2)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.bn(self.layer(inputs))
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets), "loss_l1": F.l1_loss(out, targets)}
            if mode == "predict":
                return [dict(err=float(F.mse_loss(o, t))) for o, t in zip(out, targets)]
            return out

    torch.manual_seed(0)
    return Toy()


def metric(base_metric):
    class MSE(base_metric):
        def process(self, data_batch, data_samples):
            self.results.extend(s["err"] for s in data_samples)

        def compute_metrics(self, results):
            return {"mse": sum(results) / len(results)}

    return MSE()


def loaders():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(20, 4, generator=g)
    y = torch.stack([x.sum(1), x[:, 0] - x[:, 1]], dim=1)
    return DataLoader(TensorDataset(x, y), batch_size=4), DataLoader(TensorDataset(x[:8], y[:8]), batch_size=4)


def lr_recorder(base_hook, log):
    class LrRecorder(base_hook):
        priority = "VERY_HIGH"

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            lrs = runner.optim_wrapper.get_lr()
            log.append((runner.epoch, runner.iter, batch_idx, lrs["lr"][0],
                        runner.optim_wrapper.get_momentum()["momentum"][0]))

    return LrRecorder()


def run_config(train_cfg, name):
    return dict(
        experiment_name=name,  # MMEngine keys its global logger and visualizer by it
        train_cfg=train_cfg,
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-3)),
        param_scheduler=[
            dict(type="LinearLR", start_factor=0.2, by_epoch=False, begin=0, end=4),
            dict(type="CosineAnnealingLR", T_max=3, by_epoch=True, begin=1, end=4, convert_to_iter_based=True),
            dict(type="CosineAnnealingMomentum", T_max=8, eta_min=0.85, by_epoch=False, begin=2, end=10),
        ],
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=2),
            checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=2, save_best="mse", rule="less"),
        ),
        log_processor=dict(window_size=3),
        randomness=dict(seed=7),
    )


def mmengine_run(work_dir, cfg):
    from mmengine.evaluator import BaseMetric
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    log = []
    train_dl, val_dl = loaders()
    runner = Runner(model=toy_model(BaseModel), work_dir=str(work_dir), train_dataloader=train_dl,
                    val_dataloader=val_dl, val_evaluator=[metric(BaseMetric)],
                    custom_hooks=[lr_recorder(Hook, log), dict(type="EMAHook", momentum=0.1)], **cfg)
    model = runner.train()
    return log, model, runner


def mmhooks_run(work_dir, cfg, backend):
    from mmhooks.evaluator import BaseMetric
    from mmhooks.hooks import Hook
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    log = []
    train_dl, val_dl = loaders()
    runner = Runner(model=toy_model(BaseModel), work_dir=str(work_dir), train_dataloader=train_dl,
                    val_dataloader=val_dl, val_evaluator=metric(BaseMetric),
                    custom_hooks=[lr_recorder(Hook, log), dict(type="EMAHook", momentum=0.1)],
                    trainer=dict(enable_progress_bar=False), backend=backend, **cfg)
    model = runner.train()
    return log, model, runner


def checkpoint_files(work_dir):
    return sorted(f for f in os.listdir(work_dir) if f.endswith(".pth"))


def masked_log_lines(log_dir):
    (log_file,) = [f for f in os.listdir(log_dir) if f.endswith(".log")]
    lines = []
    for line in open(os.path.join(log_dir, log_file)).read().splitlines():
        body = line.split(" - INFO - ", 1)[-1]
        if not body.startswith(("Epoch(", "Saving checkpoint", "The best checkpoint", "The previous best")):
            continue
        body = re.sub(r"(time|data_time): \d+\.\d+", r"\1: T", body)
        body = re.sub(r"eta: \S+", "eta: E", body)
        body = re.sub(r"/\S+/(best_\S+\.pth)", r"\1", body)
        lines.append(body)
    return lines


def scalar_records(log_dir):
    path = os.path.join(log_dir, "vis_data", "scalars.json")
    records = [json.loads(line) for line in open(path)]
    return [(sorted(r), r["step"]) for r in records], records


@pytest.fixture(scope="module", params=["epoch", "iter"])
def mode(request):
    """The job (epoch- or iteration-based), its config, and MMEngine's run of it (once for both backends)."""
    if request.param == "epoch":
        train_cfg = dict(by_epoch=True, max_epochs=4, val_interval=2)
        cfg = run_config(train_cfg, f"parity_epoch_{uuid.uuid4().hex}")
    else:
        cfg = run_config(dict(by_epoch=False, max_iters=14, val_interval=6), f"parity_iter_{uuid.uuid4().hex}")
        cfg["param_scheduler"][1]["by_epoch"] = False
        cfg["param_scheduler"][1].pop("convert_to_iter_based")
        cfg["param_scheduler"][1].update(begin=4, end=14, T_max=10)
        cfg["default_hooks"]["checkpoint"].update(by_epoch=False, interval=5)
        cfg["default_hooks"]["logger"]["log_metric_by_epoch"] = False
        cfg["log_processor"]["by_epoch"] = False
    return request.param, cfg


@pytest.fixture(scope="module")
def mmengine_result(mode, tmp_path_factory):
    name, cfg = mode
    return mmengine_run(tmp_path_factory.mktemp(f"mm_{name}"), cfg)


@pytest.fixture(scope="module", params=BACKENDS)
def both_runs(request, mode, mmengine_result, tmp_path_factory):
    name, cfg = mode
    return mmengine_result, mmhooks_run(tmp_path_factory.mktemp(f"{request.param}_{name}"), cfg, request.param)


def test_lr_momentum_and_counters_per_iteration(both_runs):
    (mm_log, _, _), (our_log, _, _) = both_runs
    assert [e[:3] for e in our_log] == [e[:3] for e in mm_log]
    torch.testing.assert_close([e[3:] for e in our_log], [e[3:] for e in mm_log], rtol=0, atol=1e-12)


def test_trained_weights_equal(both_runs):
    (_, mm_model, _), (_, our_model, _) = both_runs
    for (name, theirs), (our_name, ours) in zip(mm_model.state_dict().items(), our_model.state_dict().items()):
        assert name == our_name
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_same_checkpoint_files_and_meta(both_runs):
    (_, _, mm_runner), (_, _, our_runner) = both_runs
    assert checkpoint_files(our_runner.work_dir) == checkpoint_files(mm_runner.work_dir)
    for name in checkpoint_files(mm_runner.work_dir):
        theirs = torch.load(os.path.join(mm_runner.work_dir, name), weights_only=False)
        ours = torch.load(os.path.join(our_runner.work_dir, name), weights_only=False)
        assert (ours["meta"]["epoch"], ours["meta"]["iter"]) == (theirs["meta"]["epoch"], theirs["meta"]["iter"])
        assert list(ours["state_dict"]) == list(theirs["state_dict"])
        assert ("optimizer" in ours, "param_schedulers" in ours) == ("optimizer" in theirs, "param_schedulers" in theirs)
        for key in theirs["ema_state_dict"]:
            torch.testing.assert_close(ours["ema_state_dict"][key], theirs["ema_state_dict"][key], rtol=0, atol=1e-6)
    last = {os.path.basename(open(os.path.join(r.work_dir, "last_checkpoint")).read()) for r in (mm_runner, our_runner)}
    assert len(last) == 1


def test_log_lines_equal_after_masking_times(both_runs):
    (_, _, mm_runner), (_, _, our_runner) = both_runs
    mm_dir = os.path.join(mm_runner.work_dir, mm_runner.timestamp)
    our_dir = os.path.join(our_runner.work_dir, our_runner.timestamp)
    assert masked_log_lines(our_dir) == masked_log_lines(mm_dir)


def test_scalars_json_tags_and_steps_equal(both_runs):
    (_, _, mm_runner), (_, _, our_runner) = both_runs
    mm_keys, mm_records = scalar_records(os.path.join(mm_runner.work_dir, mm_runner.timestamp))
    our_keys, our_records = scalar_records(os.path.join(our_runner.work_dir, our_runner.timestamp))
    assert our_keys == mm_keys
    for ours, theirs in zip(our_records, mm_records):
        for key in ("lr", "momentum", "loss", "loss_l1", "mse"):
            if key in theirs:
                assert ours[key] == pytest.approx(theirs[key], rel=1e-5, abs=1e-7), key


def test_same_run_files(both_runs):
    (_, _, mm_runner), (_, _, our_runner) = both_runs

    def listing(runner):
        found = []
        for folder, _, files in os.walk(runner.work_dir):
            for name in files:
                relative = os.path.relpath(os.path.join(folder, name), runner.work_dir)
                found.append(re.sub(r"events\.out\.tfevents\..*", "events", relative.replace(runner.timestamp, "TS")))
        return sorted(found)

    assert listing(our_runner) == listing(mm_runner)
