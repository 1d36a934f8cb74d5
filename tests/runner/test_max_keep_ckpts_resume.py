"""``max_keep_ckpts`` across interruptions: MMEngine's Runner and mmhooks' Runner leave the same files.

A preemptible job is killed after a checkpoint and restarted with ``resume=True``
several times. MMEngine keeps ``keep_ckpt_ids`` in the message hub, so every
restart continues the same rotation and the file it resumed from is deleted
in its turn; the job never ends with more than ``max_keep_ckpts`` regular
checkpoints. Each segment is compared, not just the end.
"""

from __future__ import annotations

import os
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")

pytestmark = pytest.mark.slow  # several Lightning fits


class Preempted(RuntimeError):
    """Stands for the job being killed right after a checkpoint was written."""


def preemption(base_hook, stop_at: int | None, by_epoch: bool):
    class Preemption(base_hook):
        priority = "LOWEST"  # after CheckpointHook (VERY_LOW) has saved

        def after_train_epoch(self, runner):
            if by_epoch and stop_at == runner.epoch + 1:
                raise Preempted(f"epoch {stop_at}")

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if not by_epoch and stop_at == runner.iter + 1:
                raise Preempted(f"iter {stop_at}")

    return Preemption()


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


def loaders():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(20, 4, generator=g)
    y = torch.stack([x.sum(1), x[:, 0] - x[:, 1]], dim=1)
    return DataLoader(TensorDataset(x, y), batch_size=4), DataLoader(TensorDataset(x[:8], y[:8]), batch_size=4)


def segment_config(by_epoch: bool, max_keep_ckpts: int, name: str) -> dict:
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=7, val_interval=1)
        checkpoint = dict(type="CheckpointHook", interval=1, max_keep_ckpts=max_keep_ckpts, save_best="mse",
                          rule="less")
    else:
        train_cfg = dict(by_epoch=False, max_iters=22, val_interval=4)
        checkpoint = dict(type="CheckpointHook", by_epoch=False, interval=3, max_keep_ckpts=max_keep_ckpts,
                          save_best="mse", rule="less")
    return dict(
        experiment_name=name,
        train_cfg=train_cfg,
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9)),
        default_hooks=dict(checkpoint=checkpoint, logger=dict(type="LoggerHook", interval=5)),
        randomness=dict(seed=3),
        resume=True,
    )


def run_mmengine(work_dir, cfg, hook):
    from mmengine.evaluator import BaseMetric
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    train_dl, val_dl = loaders()
    runner = Runner(model=toy_model(BaseModel), work_dir=str(work_dir), train_dataloader=train_dl,
                    val_dataloader=val_dl, val_evaluator=[metric(BaseMetric)], custom_hooks=[hook], **cfg)
    runner.train()


def run_mmhooks(work_dir, cfg, hook):
    from mmhooks.evaluator import BaseMetric
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    train_dl, val_dl = loaders()
    runner = Runner(model=toy_model(BaseModel), work_dir=str(work_dir), train_dataloader=train_dl,
                    val_dataloader=val_dl, val_evaluator=metric(BaseMetric), custom_hooks=[hook],
                    trainer=dict(enable_progress_bar=False), **cfg)
    runner.train()


def _chain(err: BaseException | None):
    while err is not None:
        yield err
        err = err.__cause__


def left_behind(work_dir) -> tuple[list[str], str]:
    checkpoints = sorted(name for name in os.listdir(work_dir) if name.endswith(".pth"))
    with open(os.path.join(work_dir, "last_checkpoint")) as handle:
        return checkpoints, os.path.basename(handle.read().strip())


# (by_epoch, stop points, one max_keep_ckpts per segment): the last segment runs to the end.
SCENARIOS = {
    "iters-keep-2-three-resumes": (False, [6, 12, 15, None], [2, 2, 2, 2]),
    "epochs-keep-2": (True, [3, None], [2, 2]),
    "epochs-keep-shrinks-3-to-1": (True, [5, None], [3, 1]),
    "epochs-keep-2-three-resumes": (True, [2, 4, 5, None], [2, 2, 2, 2]),
}


def _as_param(name, value):
    return value if hasattr(value, "marks") else pytest.param(*value, id=name)


@pytest.mark.parametrize(("by_epoch", "stops", "keeps"), [_as_param(k, v) for k, v in SCENARIOS.items()],
                         ids=list(SCENARIOS))
def test_interrupted_and_resumed_runs_leave_mmengines_files(by_epoch, stops, keeps, tmp_path, monkeypatch):
    from mmengine.hooks import Hook as MMHook

    from mmhooks.hooks import Hook

    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # MMEngine's own resume on torch >= 2.6
    for index, (stop, keep) in enumerate(zip(stops, keeps)):
        name = f"keep_{index}_{uuid.uuid4().hex}"
        for work_dir, run, base in ((tmp_path / "mm", run_mmengine, MMHook), (tmp_path / "ours", run_mmhooks, Hook)):
            cfg = segment_config(by_epoch, keep, name)
            if stop is None:
                run(work_dir, cfg, preemption(base, None, by_epoch))
            else:
                with pytest.raises(Exception) as info:  # mmhooks wraps a hook's error in HookError
                    run(work_dir, cfg, preemption(base, stop, by_epoch))
                assert any(isinstance(err, Preempted) for err in _chain(info.value)), info.value
        ours, theirs = left_behind(tmp_path / "ours"), left_behind(tmp_path / "mm")
        assert ours == theirs, f"after segment {index} (stopped at {stop})"
    regular = [name for name in ours[0] if not name.startswith("best_")]
    assert len(regular) == keeps[-1]


def test_moved_work_dir_resumes_from_its_own_checkpoint(tmp_path, caplog):
    """``last_checkpoint`` holds an absolute path; a moved work_dir resumes from its own copy, and says so."""
    import shutil

    from mmhooks.hooks import Hook

    original, moved = tmp_path / "original", tmp_path / "moved"
    run_mmhooks(original, segment_config(True, -1, f"moved_{uuid.uuid4().hex}") | dict(resume=False,
                train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1)), preemption(Hook, None, True))
    shutil.move(str(original), str(moved))  # the original directory is gone
    assert open(moved / "last_checkpoint").read() == str(original / "epoch_2.pth")
    before = (moved / "epoch_2.pth").read_bytes()
    cfg = segment_config(True, -1, f"moved_{uuid.uuid4().hex}") | dict(
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1))
    with caplog.at_level("WARNING", logger="mmhooks.runner.checkpoint"):
        run_mmhooks(moved, cfg, preemption(Hook, None, True))
    assert any(str(original / "epoch_2.pth") in r.getMessage() and str(moved / "epoch_2.pth") in r.getMessage()
               for r in caplog.records)
    assert (moved / "epoch_2.pth").read_bytes() == before  # resumed after epoch 2: it was not trained (saved) again
    resumed = torch.load(moved / "epoch_3.pth", weights_only=False)
    assert (resumed["meta"]["epoch"], resumed["meta"]["iter"]) == (3, 15)
    assert open(moved / "last_checkpoint").read() == str(moved / "epoch_3.pth")
