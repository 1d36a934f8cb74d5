"""Differential traces: the mount points, order and counters hooks see under MMEngine and under HookCallback."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from mmhooks.adapters.lightning import HookCallback
from mmhooks.hooks import Hook

from trace_utils import make_recorder, mmengine_metric, mmengine_toy_model, regression_data

mmengine = pytest.importorskip("mmengine")

NO_DEFAULT_HOOKS = dict(runtime_info=None, timer=None, sampler_seed=None, logger=None, param_scheduler=None,
                        checkpoint=None)


class TinyModule(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.mse_loss(self.layer(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("mse", F.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def loaders(batch_size=4):
    return (DataLoader(regression_data(12), batch_size=batch_size),
            DataLoader(regression_data(8, seed=1), batch_size=batch_size))


def mmengine_trace(tmp_path, train_cfg, priorities=(("rec", "NORMAL"),), accumulative_counts=1):
    from mmengine.hooks import Hook as MMHook
    from mmengine.runner import Runner

    log = []
    hooks = [make_recorder(MMHook, log, name, prio) for name, prio in priorities]
    train_dl, val_dl = loaders()
    runner = Runner(
        model=mmengine_toy_model(), work_dir=str(tmp_path / "mm"), train_dataloader=train_dl,
        val_dataloader=val_dl, val_evaluator=mmengine_metric(), val_cfg=dict(), train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01), accumulative_counts=accumulative_counts),
        default_hooks=NO_DEFAULT_HOOKS, custom_hooks=hooks, log_level="WARNING",
    )
    runner.train()
    return log


def lightning_trace(make_trainer, priorities=(("rec", "NORMAL"),), callback_kwargs=None, **trainer_kwargs):
    log = []
    hooks = [make_recorder(Hook, log, name, prio) for name, prio in priorities]
    train_dl, val_dl = loaders()
    callback = HookCallback(hooks, **(callback_kwargs or {}))
    make_trainer(callbacks=[callback], **trainer_kwargs).fit(TinyModule(), train_dl, val_dl)
    return log


def test_epoch_based_val_every_epoch(tmp_path, make_trainer):
    expected = mmengine_trace(tmp_path, dict(by_epoch=True, max_epochs=3))
    assert lightning_trace(make_trainer, max_epochs=3) == expected


def test_sanity_check_fires_nothing(tmp_path, make_trainer):
    expected = mmengine_trace(tmp_path, dict(by_epoch=True, max_epochs=2))
    assert lightning_trace(make_trainer, max_epochs=2, num_sanity_val_steps=2) == expected


@pytest.mark.parametrize("val_begin,val_interval", [(2, 1), (1, 2), (2, 3)], ids=lambda v: str(v))
def test_epoch_based_val_begin_and_interval(tmp_path, make_trainer, val_begin, val_interval):
    expected = mmengine_trace(tmp_path, dict(by_epoch=True, max_epochs=4, val_begin=val_begin,
                                             val_interval=val_interval))
    got = lightning_trace(make_trainer, max_epochs=4,
                          callback_kwargs=dict(val_begin=val_begin, val_interval=val_interval))
    assert got == expected


def test_iteration_based_with_val_interval(tmp_path, make_trainer):
    expected = mmengine_trace(tmp_path, dict(by_epoch=False, max_iters=7, val_interval=3))
    got = lightning_trace(make_trainer, max_steps=7, callback_kwargs=dict(val_interval=3))
    assert got == expected


def test_gradient_accumulation_counts_batches(tmp_path, make_trainer):
    expected = mmengine_trace(tmp_path, dict(by_epoch=True, max_epochs=2), accumulative_counts=2)
    got = lightning_trace(make_trainer, max_epochs=2, accumulate_grad_batches=2)
    assert got == expected


def test_priority_mix_with_equal_priorities(tmp_path, make_trainer):
    priorities = (("low", "LOW"), ("first", 20), ("normal_a", "NORMAL"), ("normal_b", 50), ("highest", "HIGHEST"))
    expected = mmengine_trace(tmp_path, dict(by_epoch=True, max_epochs=1), priorities=priorities)
    got = lightning_trace(make_trainer, max_epochs=1, priorities=priorities)
    assert got == expected


def mmengine_eval_trace(tmp_path, stage):
    from mmengine.hooks import Hook as MMHook
    from mmengine.runner import Runner

    log = []
    _, val_dl = loaders()
    kwargs = {f"{stage}_dataloader": val_dl, f"{stage}_evaluator": mmengine_metric(), f"{stage}_cfg": dict()}
    runner = Runner(model=mmengine_toy_model(), work_dir=str(tmp_path / "mm"), default_hooks=NO_DEFAULT_HOOKS,
                    custom_hooks=[make_recorder(MMHook, log)], log_level="WARNING", **kwargs)
    getattr(runner, stage)()
    return log


class EvalModule(TinyModule):
    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("mse", F.mse_loss(self.layer(x), y))


@pytest.mark.parametrize("stage", ["val", "test"])
def test_standalone_validate_and_test(tmp_path, make_trainer, stage):
    expected = mmengine_eval_trace(tmp_path, stage)
    log = []
    _, val_dl = loaders()
    trainer = make_trainer(callbacks=[HookCallback([make_recorder(Hook, log)])])
    (trainer.validate if stage == "val" else trainer.test)(EvalModule(), val_dl, verbose=False)
    assert log == expected


def test_every_lightning_checkpoint_passes_before_save_checkpoint(make_trainer, tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint

    seen = []

    class Stamp(Hook):
        def before_save_checkpoint(self, runner, checkpoint):
            seen.append((runner.epoch, runner.iter, checkpoint["meta"]["epoch"], checkpoint["meta"]["iter"]))
            checkpoint["stamp"] = "mine"

    train_dl, val_dl = loaders()
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpts", every_n_epochs=1, save_top_k=-1)
    make_trainer(max_epochs=2, callbacks=[HookCallback([Stamp()]), ckpt], enable_checkpointing=True).fit(
        TinyModule(), train_dl, val_dl)
    assert seen == [(1, 3, 1, 3), (2, 6, 2, 6)]
    saved = torch.load(tmp_path / "ckpts" / "epoch=1-step=6.ckpt", weights_only=False)
    assert saved["stamp"] == "mine"
    assert list(saved)[:3] == ["meta", "state_dict", "message_hub"]


def test_hook_error_surfaces_with_hook_and_stage(make_trainer):
    from mmhooks.runner.hook_list import HookError

    class Broken(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if runner.iter == 2:
                raise RuntimeError("boom")

    train_dl, _ = loaders()
    with pytest.raises(HookError, match=r"^Broken.after_train_iter raised RuntimeError: boom$"):
        make_trainer(max_epochs=1, callbacks=[HookCallback([Broken()])]).fit(TinyModule(), train_dl)


def test_hooks_written_against_real_mmengine_run_in_hook_callback(tmp_path, make_trainer):
    from mmengine.hooks import Hook as MMHook

    expected = mmengine_trace(tmp_path, dict(by_epoch=True, max_epochs=2))
    log = []
    train_dl, val_dl = loaders()
    make_trainer(max_epochs=2, callbacks=[HookCallback([make_recorder(MMHook, log)])]).fit(
        TinyModule(), train_dl, val_dl)
    assert log == expected
