"""The Fabric backend against MMEngine's Runner and the Trainer backend: checkpoints both ways, resume, precision,
models with their own train_step, val/test after training, hook state, and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")


def net(base):
    class Net(base):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layer = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.head = nn.Linear(3, 2)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.head(self.bn(self.layer(inputs)))
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
    g = torch.Generator().manual_seed(4)
    x = torch.randn(20, 4, generator=g)
    y = torch.stack([x.sum(1), x[:, 0] - x[:, 2]], 1)
    return (DataLoader(TensorDataset(x, y), batch_size=4),
            DataLoader(TensorDataset(x[:8], y[:8]), batch_size=4))


def schedule(by_epoch, length):
    """A job of ``length`` epochs (or iterations), a checkpoint every epoch (or every 3 iterations)."""
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=length)
        checkpoint = dict(type="CheckpointHook", interval=1)
        schedulers = [dict(type="LinearLR", start_factor=0.3, by_epoch=False, begin=0, end=4),
                      dict(type="MultiStepLR", milestones=[2], by_epoch=True)]
    else:
        train_cfg = dict(by_epoch=False, max_iters=length, val_interval=5)
        checkpoint = dict(type="CheckpointHook", interval=3, by_epoch=False)
        schedulers = [dict(type="LinearLR", start_factor=0.3, by_epoch=False, begin=0, end=4),
                      dict(type="MultiStepLR", milestones=[7], by_epoch=False)]
    return dict(train_cfg=train_cfg, default_hooks=dict(logger=None, checkpoint=checkpoint),
                param_scheduler=schedulers, log_processor=dict(by_epoch=by_epoch))


def run(framework, work_dir, backend=None, **cfg):
    """Train the job under ``framework`` ('mmengine' or 'mmhooks'); return the runner."""
    if framework == "mmengine":
        from mmengine.evaluator import BaseMetric
        from mmengine.model import BaseModel
        from mmengine.runner import Runner

        extra = {}
    else:
        from mmhooks.evaluator import BaseMetric
        from mmhooks.model import BaseModel
        from mmhooks.runner import Runner

        extra = dict(backend=backend or "fabric", trainer=dict(enable_progress_bar=False))
    train, val = loaders()
    cfg.setdefault("optim_wrapper", dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9)))
    runner = Runner(model=net(BaseModel), work_dir=str(work_dir), train_dataloader=train, val_dataloader=val,
                    val_evaluator=[metric(BaseMetric)], val_cfg=dict(), randomness=dict(seed=0), log_level="WARNING",
                    experiment_name=f"fabric_{uuid.uuid4().hex}", **cfg, **extra)
    runner.train()
    return runner


def assert_same_weights(ours, theirs, atol=1e-6):
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=0, atol=atol, msg=key)


# ----------------------------------------------------------------------------- checkpoints, both ways
@pytest.mark.parametrize("by_epoch, length, resume_at", [
    pytest.param(True, 3, "epoch_1.pth", id="epoch"),
    pytest.param(False, 12, "iter_6.pth", id="iter", marks=pytest.mark.slow),  # MMEngine sleeps 2 s per data pass
])
def test_fabric_resumes_an_mmengine_checkpoint_and_ends_where_mmengine_does(tmp_path, by_epoch, length, resume_at):
    straight = run("mmengine", tmp_path / "mm", **schedule(by_epoch, length))
    resumed = run("mmhooks", tmp_path / "ours", resume=str(tmp_path / "mm" / resume_at), **schedule(by_epoch, length))
    assert (resumed.epoch, resumed.iter) == (straight.epoch, straight.iter)
    assert_same_weights(resumed.model, straight.model)
    last = os.path.basename(open(tmp_path / "mm" / "last_checkpoint").read())
    theirs = torch.load(tmp_path / "mm" / last, weights_only=False)
    ours = torch.load(tmp_path / "ours" / last, weights_only=False)
    assert [{k: s[k] for k in t} for s, t in zip(ours["param_schedulers"], theirs["param_schedulers"])] == \
        theirs["param_schedulers"]  # mmhooks adds a state 'version'
    assert list(ours) == list(theirs)  # MMEngine's keys, in MMEngine's order


def test_fabric_resumes_a_mid_epoch_mmengine_checkpoint_on_the_remaining_batches(tmp_path):
    """MMEngine restarts an epoch resumed from an iteration checkpoint; mmhooks continues after the batches done."""
    cfg = schedule(True, 2)
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=3, by_epoch=False)
    straight = run("mmengine", tmp_path / "mm", **cfg)
    seen = []

    from mmhooks.hooks import Hook

    class Seen(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.append((runner.epoch, runner.iter, batch_idx))

    resumed = run("mmhooks", tmp_path / "ours", resume=str(tmp_path / "mm" / "iter_3.pth"), custom_hooks=[Seen()],
                  **cfg)
    assert seen[:3] == [(0, 3, 3), (0, 4, 4), (1, 5, 0)]
    assert (resumed.epoch, resumed.iter) == (straight.epoch, straight.iter) == (2, 10)
    assert_same_weights(resumed.model, straight.model)


def test_mmengine_resumes_a_fabric_checkpoint_and_ends_where_it_would_have(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # MMEngine 0.10's own resume on torch >= 2.6
    straight = run("mmengine", tmp_path / "mm", **schedule(True, 3))
    run("mmhooks", tmp_path / "ours", **schedule(True, 3))
    resumed = run("mmengine", tmp_path / "resumed", resume=True, load_from=str(tmp_path / "ours" / "epoch_1.pth"),
                  **schedule(True, 3))
    assert (resumed.epoch, resumed.iter) == (straight.epoch, straight.iter)
    assert_same_weights(resumed.model, straight.model)


def test_mmengine_and_the_trainer_backend_load_a_fabric_checkpoint(tmp_path):
    from mmengine.runner.checkpoint import load_checkpoint as mm_load_checkpoint

    from mmhooks.hooks import Hook

    trained = run("mmhooks", tmp_path / "fabric", **schedule(True, 1))
    path = str(tmp_path / "fabric" / "epoch_1.pth")
    from mmengine.model import BaseModel as MMModel

    theirs = net(MMModel)
    mm_load_checkpoint(theirs, path, map_location="cpu")
    assert_same_weights(theirs, trained.model, atol=0)
    loaded = {}

    class Snapshot(Hook):
        def before_train(self, runner):
            loaded.update({k: v.clone() for k, v in runner.model.state_dict().items()})

    run("mmhooks", tmp_path / "trainer", backend="lightning", load_from=path, custom_hooks=[Snapshot()],
        **schedule(True, 1))
    for key, value in trained.model.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_fabric_resumes_a_trainer_backend_checkpoint_like_the_trainer_does(tmp_path):
    straight = run("mmhooks", tmp_path / "straight", backend="lightning", **schedule(True, 3))
    resumed = run("mmhooks", tmp_path / "resumed", backend="fabric", resume=str(tmp_path / "straight" / "epoch_1.pth"),
                  **schedule(True, 3))
    assert (resumed.epoch, resumed.iter) == (straight.epoch, straight.iter) == (3, 15)
    assert_same_weights(resumed.model, straight.model, atol=0)


def test_a_hooks_own_state_survives_a_resume_on_either_backend(tmp_path):
    from mmhooks.hooks import EarlyStoppingHook

    def early_stopping():
        return dict(type="EarlyStoppingHook", monitor="mse", rule="less", patience=10, min_delta=100.0)

    for first in ("lightning", "fabric"):
        work_dir = tmp_path / first
        run("mmhooks", work_dir, backend=first, custom_hooks=[early_stopping()], **schedule(True, 3))
        resumed = run("mmhooks", tmp_path / f"{first}_resumed", backend="fabric", custom_hooks=[early_stopping()],
                      resume=str(work_dir / "epoch_2.pth"), **schedule(True, 3))
        (hook,) = [h for h in resumed.hooks if isinstance(h, EarlyStoppingHook)]
        # epoch_2.pth is written before epoch 2's validation: the first round set the best; the round after the
        # resume does not improve by 100 (a hook without its state would take that round as its first best: 0)
        assert hook.wait_count == 1, first


# ----------------------------------------------------------------------------- steps
def test_amp_with_clipping_trains_as_on_the_trainer(tmp_path):
    """AmpOptimWrapper hands precision to Fabric (bf16 autocast on the CPU); clipping still happens, after unscaling."""
    grad_norms = {}
    from mmhooks.hooks import Hook

    class GradNorm(Hook):
        def __init__(self, key):
            self.key = key

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            grad_norms.setdefault(self.key, []).append(runner.message_hub.get_scalar("train/grad_norm").current())

    optim_wrapper = dict(type="AmpOptimWrapper", dtype="bfloat16", clip_grad=dict(max_norm=0.5),
                         optimizer=dict(type="SGD", lr=0.05, momentum=0.9))
    on_trainer = run("mmhooks", tmp_path / "trainer", backend="lightning", optim_wrapper=dict(optim_wrapper),
                     custom_hooks=[GradNorm("trainer")], **schedule(True, 2))
    on_fabric = run("mmhooks", tmp_path / "fabric", optim_wrapper=dict(optim_wrapper),
                    custom_hooks=[GradNorm("fabric")], **schedule(True, 2))
    assert len(grad_norms["fabric"]) == 10
    assert grad_norms["fabric"] == pytest.approx(grad_norms["trainer"], rel=1e-3)
    assert_same_weights(on_fabric.model, on_trainer.model, atol=1e-4)
    unclipped = run("mmhooks", tmp_path / "unclipped", optim_wrapper=dict(optim_wrapper, clip_grad=None),
                    **schedule(True, 2))
    assert not torch.allclose(unclipped.model.layer.weight, on_fabric.model.layer.weight, atol=1e-3)


def two_optimizer_model(base):
    class TwoParts(base):
        """A model with its own train_step and two optimizers (as a GAN), accumulating on the second."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.gen = nn.Linear(4, 4)
            self.disc = nn.Linear(4, 2)

        def forward(self, inputs, targets=None, mode="tensor"):
            return self.disc(self.gen(inputs))

        def train_step(self, data, optim_wrapper):
            inputs, targets = self.data_preprocessor(data, True)
            with optim_wrapper["disc"].optim_context(self):
                disc_loss = F.mse_loss(self.disc(self.gen(inputs).detach()), targets)
            optim_wrapper["disc"].update_params(disc_loss)
            with optim_wrapper["gen"].optim_context(self):
                gen_loss = F.mse_loss(self(inputs), targets * 0.5)
            optim_wrapper["gen"].update_params(gen_loss)
            return dict(disc_loss=disc_loss.detach(), gen_loss=gen_loss.detach())

    return TwoParts()


def test_a_model_with_its_own_train_step_and_two_optimizers_trains_as_under_mmengine(tmp_path):
    from mmengine.model import BaseModel as MMModel
    from mmengine.optim import OptimWrapper as MMOptimWrapper
    from mmengine.optim import OptimWrapperDict as MMOptimWrapperDict
    from mmengine.runner import Runner as MMRunner

    from mmhooks.model import BaseModel
    from mmhooks.optim import OptimWrapper, OptimWrapperDict
    from mmhooks.runner import Runner

    results = {}
    for name, runner_cls, model_base, wrapper_cls, dict_cls, extra in (
            ("mm", MMRunner, MMModel, MMOptimWrapper, MMOptimWrapperDict, {}),
            ("fabric", Runner, BaseModel, OptimWrapper, OptimWrapperDict, dict(backend="fabric"))):
        model = two_optimizer_model(model_base)
        wrappers = dict_cls(
            gen=wrapper_cls(torch.optim.SGD(model.gen.parameters(), lr=0.05)),
            disc=wrapper_cls(torch.optim.SGD(model.disc.parameters(), lr=0.1, momentum=0.9), accumulative_counts=2))
        train, _ = loaders()
        runner = runner_cls(model=model, work_dir=str(tmp_path / name), train_dataloader=train,
                            train_cfg=dict(by_epoch=True, max_epochs=2), optim_wrapper=wrappers,
                            default_hooks=dict(logger=None, checkpoint=None), log_level="WARNING",
                            experiment_name=f"two_{uuid.uuid4().hex}", **extra)
        runner.train()
        results[name] = runner.model
    assert_same_weights(results["fabric"], results["mm"])


def test_val_and_test_after_training_give_mmengines_metrics(tmp_path):
    metrics = {}
    for framework in ("mmengine", "mmhooks"):
        if framework == "mmengine":
            from mmengine.evaluator import BaseMetric
        else:
            from mmhooks.evaluator import BaseMetric
        runner = run(framework, tmp_path / framework, test_dataloader=loaders()[1], test_cfg=dict(),
                     test_evaluator=[metric(BaseMetric)], **schedule(True, 2))
        metrics[framework] = (runner.val(), runner.test())
    assert metrics["mmhooks"][0] == pytest.approx(metrics["mmengine"][0], rel=1e-6)
    assert metrics["mmhooks"][1] == pytest.approx(metrics["mmengine"][1], rel=1e-6)


# ----------------------------------------------------------------------------- command line
CLI_CONFIG = """
custom_imports = dict(imports=["mmhooks.testing.examples"], allow_failed_imports=False)
_loader = dict(batch_size=4, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
               collate_fn=dict(type="default_collate"))
model = dict(type="SmallCNN", num_classes=2, width=4)
train_dataloader = dict(_loader, dataset=dict(type="SyntheticImages", size=4, num_classes=2, num_samples=8))
train_cfg = dict(by_epoch=True, max_epochs=2)
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9))
default_hooks = dict(logger=dict(type="LoggerHook", interval=1), checkpoint=dict(type="CheckpointHook", interval=1))
randomness = dict(seed=0)
trainer = dict(enable_progress_bar=False)
"""


@pytest.mark.slow
def test_mmhooks_train_with_backend_fabric_and_the_backend_key_train_alike(tmp_path):
    (tmp_path / "cfg.py").write_text(CLI_CONFIG)
    (tmp_path / "cfg_key.py").write_text(CLI_CONFIG + "backend = 'fabric'\n")
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    flag = subprocess.run([sys.executable, "-m", "mmhooks", "train", "cfg.py", "--backend", "fabric", "--work-dir",
                           "flag"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    key = subprocess.run([sys.executable, "-m", "mmhooks", "train", "cfg_key.py", "--work-dir", "key"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=240)
    trainer = subprocess.run([sys.executable, "-m", "mmhooks", "train", "cfg.py", "--work-dir", "trainer"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    for result in (flag, key, trainer):
        assert result.returncode == 0, result.stderr[-3000:]
    assert "lightning.pytorch" not in flag.stderr  # no Trainer banners: Fabric ran it
    states = [torch.load(tmp_path / d / "epoch_2.pth", weights_only=False)["state_dict"]
              for d in ("flag", "key", "trainer")]
    for name, value in states[2].items():
        assert torch.equal(states[0][name], value) and torch.equal(states[1][name], value), name


# ----------------------------------------------------------------------------- TensorBoard
def _event_scalars(directory):
    """Tag -> [(step, value)] read back with TensorBoard's own event reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


@pytest.mark.slow  # two runs with TensorBoard writers, and TensorBoard's event reader
def test_tensorboard_events_are_the_trainer_backends_and_equal_scalars_json(tmp_path):
    pytest.importorskip("tensorboard")
    import json

    visualizer = dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend"),
                                                       dict(type="TensorboardVisBackend")])
    events, jsons = {}, {}
    for backend in ("lightning", "fabric"):
        cfg = schedule(True, 2)
        cfg["default_hooks"]["logger"] = dict(type="LoggerHook", interval=2)
        runner = run("mmhooks", tmp_path / backend, backend=backend, visualizer=dict(visualizer), **cfg)
        runner.visualizer.close()
        vis_data = os.path.join(runner.log_dir, "vis_data")
        events[backend] = _event_scalars(vis_data)
        jsons[backend] = {}
        for line in open(os.path.join(vis_data, "scalars.json")):
            record = json.loads(line)
            step = record.pop("step")
            for tag, value in record.items():
                jsons[backend].setdefault(tag, []).append((step, value))
    assert sorted(events["fabric"]) == sorted(events["lightning"])
    assert "lr" in events["fabric"] and "mse" in events["fabric"]
    for tag, points in events["lightning"].items():
        ours = events["fabric"][tag]
        assert [s for s, _ in ours] == [s for s, _ in points], tag
        if tag not in ("time", "data_time"):
            assert [v for _, v in ours] == pytest.approx([v for _, v in points], rel=1e-5), tag
            assert [v for _, v in ours] == pytest.approx([v for _, v in jsons["fabric"][tag]], rel=1e-6), tag


def test_a_resumed_loss_scale_carries_over_to_fabrics_scaler():
    """fp16 (CUDA) gives Fabric's plugin a GradScaler; the AmpOptimWrapper's resumed scale must not be lost."""
    import types

    from lightning.fabric import Fabric

    from mmhooks.adapters.fabric.step import FabricStep
    from mmhooks.optim import AmpOptimWrapper

    fabric = Fabric(accelerator="cpu", devices=1, precision="bf16-mixed")
    fabric.strategy.precision.scaler = torch.amp.GradScaler("cpu")  # as '16-mixed' has on CUDA
    model = nn.Linear(2, 2)
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), dtype="bfloat16")
    wrapper.load_state_dict({**wrapper.state_dict(), "loss_scaler": {**wrapper.loss_scaler.state_dict(),
                                                                      "scale": 512.0}})
    step = FabricStep(fabric, fabric.setup_module(model), types.SimpleNamespace(message_hub=None, model=model))
    step.attach(wrapper)
    assert wrapper.loss_scaler is fabric.strategy.precision.scaler
    assert wrapper.state_dict()["loss_scaler"]["scale"] == 512.0
    assert wrapper.use_backend_precision and not step.direct
