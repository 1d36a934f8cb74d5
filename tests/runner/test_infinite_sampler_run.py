"""An iteration-based run with ``InfiniteSampler`` (or ``DefaultSampler``) finishes and matches MMEngine's Runner.

The run lasts several passes over a dataset whose length is not a multiple of
the batch size, so every batch after the first pass straddles two
permutations of the sampler's stream: a sampler that restarts (or stops) its
stream when the DataLoader is iterated again shows up in the batches, the
losses and the weights.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import TensorDataset

mmengine = pytest.importorskip("mmengine")

DATASET_LENGTH = 10
BATCH_SIZE = 4
MAX_ITERS = 14  # 56 samples: five and a half passes over the dataset
WATCHDOG_S = 30.0


def toy_model(base_model):
    class Toy(base_model):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 2)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
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


def dataset():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(DATASET_LENGTH, 4, generator=g)
    y = torch.stack([x.sum(1), x[:, 0] - x[:, 1]], dim=1)
    return TensorDataset(x, y)


def recorder(base_hook, trace):
    class Recorder(base_hook):
        priority = "VERY_HIGH"

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            trace.append(dict(iter=runner.iter, lr=runner.optim_wrapper.get_lr()["lr"][0],
                              inputs=data_batch[0].clone()))

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            trace[-1]["loss"] = float(outputs["loss"].detach())

    return Recorder()


def run_config(name, sampler, num_workers=0):
    return dict(
        experiment_name=name,
        train_dataloader=dict(dataset=dataset(), batch_size=BATCH_SIZE, collate_fn=dict(type="default_collate"),
                              sampler=dict(type=sampler, shuffle=True), num_workers=num_workers),
        val_dataloader=dict(dataset=dataset(), batch_size=BATCH_SIZE, collate_fn=dict(type="default_collate"),
                            sampler=dict(type="DefaultSampler", shuffle=False)),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=MAX_ITERS, val_interval=6),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
        param_scheduler=[dict(type="LinearLR", start_factor=0.25, by_epoch=False, begin=0, end=5),
                         dict(type="MultiStepLR", milestones=[9, 12], gamma=0.5, by_epoch=False)],
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=3, log_metric_by_epoch=False),
            checkpoint=dict(type="CheckpointHook", interval=5, by_epoch=False),
        ),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=11),
    )


def mmengine_run(work_dir, sampler, num_workers=0):
    from mmengine.evaluator import BaseMetric
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    trace = []
    runner = Runner(model=toy_model(BaseModel), work_dir=str(work_dir), val_evaluator=[metric(BaseMetric)],
                    custom_hooks=[recorder(Hook, trace)],
                    **run_config(f"infinite_{uuid.uuid4().hex}", sampler, num_workers))
    model = runner.train()
    return trace, model, runner


def mmhooks_run(work_dir, sampler, num_workers=0, **extra):
    from mmhooks.evaluator import BaseMetric
    from mmhooks.hooks import Hook
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    trace = []
    runner = Runner(model=toy_model(BaseModel), work_dir=str(work_dir), val_evaluator=metric(BaseMetric),
                    custom_hooks=[recorder(Hook, trace)], trainer=dict(enable_progress_bar=False),
                    **run_config(f"infinite_{uuid.uuid4().hex}", sampler, num_workers), **extra)
    # A hung fit spins over empty epochs; the watchdog asks Lightning to stop so that the test fails, not hangs.
    stop = threading.Event()

    def watchdog():
        if not stop.wait(WATCHDOG_S) and runner.trainer is not None:
            runner.trainer.should_stop = True

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        model = runner.train()
    finally:
        stop.set()
        thread.join()
    return trace, model, runner


# DefaultSampler in an iteration-based run: MMEngine restarts the loader with set_epoch(pass) after each pass.
@pytest.fixture(scope="module", params=["InfiniteSampler", pytest.param("DefaultSampler", marks=pytest.mark.slow)])
def both_runs(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    return mmengine_run(root / "mm", request.param), mmhooks_run(root / "ours", request.param)


def test_run_finishes_with_every_iteration(both_runs):
    _, (our_trace, _, _) = both_runs
    assert [step["iter"] for step in our_trace] == list(range(MAX_ITERS))


def test_same_batches_as_mmengine(both_runs):
    (mm_trace, _, _), (our_trace, _, _) = both_runs
    assert len(our_trace) == len(mm_trace)
    for ours, theirs in zip(our_trace, mm_trace):
        torch.testing.assert_close(ours["inputs"], theirs["inputs"], rtol=0, atol=0)


def test_same_lr_and_loss_per_iteration(both_runs):
    (mm_trace, _, _), (our_trace, _, _) = both_runs
    assert [(s["iter"], s["lr"]) for s in our_trace] == [(s["iter"], s["lr"]) for s in mm_trace]
    torch.testing.assert_close([s["loss"] for s in our_trace], [s["loss"] for s in mm_trace], rtol=0, atol=1e-6)


def test_same_final_weights(both_runs):
    (_, mm_model, _), (_, our_model, _) = both_runs
    theirs, ours = mm_model.state_dict(), our_model.state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=1e-6)


def test_same_checkpoints(both_runs):
    (_, _, mm_runner), (_, _, our_runner) = both_runs

    def names(runner):
        return sorted(f for f in os.listdir(runner.work_dir) if f.endswith(".pth"))

    assert names(our_runner) == names(mm_runner) == ["iter_10.pth", "iter_14.pth", "iter_5.pth"]
    for name in names(mm_runner):
        theirs = torch.load(os.path.join(mm_runner.work_dir, name), weights_only=False)
        ours = torch.load(os.path.join(our_runner.work_dir, name), weights_only=False)
        assert (ours["meta"]["epoch"], ours["meta"]["iter"]) == (theirs["meta"]["epoch"], theirs["meta"]["iter"])
        assert list(ours["state_dict"]) == list(theirs["state_dict"])
        for key, value in theirs["state_dict"].items():
            torch.testing.assert_close(ours["state_dict"][key], value, rtol=0, atol=1e-6)


# ------------------------------------------------ one iterator for the whole run, as MMEngine's IterBasedTrainLoop
@pytest.mark.slow  # DataLoader worker processes
def test_infinite_sampler_with_workers_matches_mmengine(tmp_path):
    mm_trace, _, _ = mmengine_run(tmp_path / "mm", "InfiniteSampler", num_workers=2)
    our_trace, _, _ = mmhooks_run(tmp_path / "ours", "InfiniteSampler", num_workers=2)
    assert len(our_trace) == len(mm_trace) == MAX_ITERS
    for ours, theirs in zip(our_trace, mm_trace):
        torch.testing.assert_close(ours["inputs"], theirs["inputs"], rtol=0, atol=0)


def test_resume_from_iteration_checkpoint_continues_the_stream(both_runs, tmp_path, request):
    """Resuming from iter_5.pth sees MMEngine's batches 5..13 (its loop skips the 5 batches already used)."""
    import shutil

    sampler = request.node.callspec.params["both_runs"]
    (mm_trace, _, _), (_, _, our_runner) = both_runs
    work_dir = tmp_path / "resumed"
    shutil.copytree(our_runner.work_dir, work_dir)
    trace, _, _ = mmhooks_run(work_dir, sampler, resume=True, load_from=str(work_dir / "iter_5.pth"))
    assert [step["iter"] for step in trace] == list(range(5, MAX_ITERS))
    for ours, theirs in zip(trace, mm_trace[5:]):
        torch.testing.assert_close(ours["inputs"], theirs["inputs"], rtol=0, atol=0)
