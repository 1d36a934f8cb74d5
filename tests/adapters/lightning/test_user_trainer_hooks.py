"""What README's "What each hook does inside your Trainer" promises, checked.

* EMAHook: validation (and so every ``self.log`` validation metric, ModelCheckpoint
  and EarlyStopping) sees the EMA weights, and ``state_dict`` of every checkpoint,
  Lightning's ModelCheckpoint's included, holds them (the raw weights in
  ``ema_state_dict``), as MMEngine's checkpoints do.
* CheckpointHook: MMEngine's files in the run's folder (the logger's), next to
  ModelCheckpoint's ``checkpoints/``; ``save_best='auto'`` tracks the first
  metric the validation step logs, with MMEngine's rule for its name.
"""

from __future__ import annotations

import glob
import os

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import HookCallback
from mmhooks.hooks import Hook


def data(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True))


class Regressor(pl.LightningModule):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(4, 1)
        self.validated_weights: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.mse_loss(self.layer(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        if batch_idx == 0:
            self.validated_weights.append(self.layer.weight.detach().clone())
        out = self.layer(x)
        self.log("val_loss", F.mse_loss(out, y))
        self.log("val_mae", (out - y).abs().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def fit(tmp_path, hooks, max_epochs=3, **trainer_kwargs):
    callback = HookCallback(hooks)
    saver = ModelCheckpoint(monitor="val_loss", save_top_k=-1)
    trainer = pl.Trainer(max_epochs=max_epochs, default_root_dir=str(tmp_path), logger=CSVLogger(str(tmp_path)),
                         callbacks=[callback, saver], accelerator="cpu", enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0, **trainer_kwargs)
    model = Regressor()
    trainer.fit(model, DataLoader(data(), batch_size=4), DataLoader(data(8, seed=1), batch_size=4))
    return callback, saver, model


def test_ema_weights_are_what_validation_and_model_checkpoint_see(tmp_path):
    callback, saver, model = fit(tmp_path, [dict(type="EMAHook", momentum=0.5)])
    (last,) = [path for path in glob.glob(os.path.join(saver.dirpath, "*.ckpt")) if "epoch=2" in path]
    checkpoint = torch.load(last, weights_only=False)
    # the weights the validation step ran with are the EMA ones, and they are the checkpoint's state_dict
    torch.testing.assert_close(checkpoint["state_dict"]["layer.weight"], model.validated_weights[-1])
    torch.testing.assert_close(checkpoint["ema_state_dict"]["module.layer.weight"], model.layer.weight.detach())
    assert not torch.allclose(model.validated_weights[-1], model.layer.weight.detach())  # raw weights differ


class RecordMetrics(Hook):
    def __init__(self):
        self.seen: list[dict] = []

    def after_val_epoch(self, runner, metrics=None):
        self.seen.append(dict(metrics))


def test_checkpoint_hook_save_best_auto_tracks_the_first_logged_metric(tmp_path):
    recorder = RecordMetrics()
    callback, saver, _ = fit(tmp_path, [dict(type="CheckpointHook", interval=1, save_best="auto"), recorder])
    assert [list(metrics) for metrics in recorder.seen] == [["val_loss", "val_mae"]] * 3  # in the order logged
    losses = [float(metrics["val_loss"]) for metrics in recorder.seen]
    best_epoch = losses.index(min(losses)) + 1  # 'loss' in the name: MMEngine's rule is 'less'
    work_dir = callback.runner.work_dir
    assert work_dir == saver.dirpath.rsplit(os.sep, 1)[0]  # MMEngine's files and ModelCheckpoint's: one folder
    assert sorted(os.path.basename(p) for p in glob.glob(os.path.join(work_dir, "*.pth"))) == sorted(
        [f"best_val_loss_epoch_{best_epoch}.pth", "epoch_1.pth", "epoch_2.pth", "epoch_3.pth"])
    best = torch.load(os.path.join(work_dir, f"best_val_loss_epoch_{best_epoch}.pth"), weights_only=False)
    assert best["meta"]["epoch"] == best_epoch and "loops" in best  # resumable by Lightning too


class WithMetainfo(TensorDataset):
    """An OpenMMLab-style dataset: class names in ``metainfo``."""

    def __init__(self, base, classes):
        super().__init__(*base.tensors)
        self.metainfo = dict(classes=classes)


class ReadDatasetMeta(Hook):
    """As visualization hooks do: class names from ``runner.visualizer.dataset_meta``."""

    def __init__(self):
        self.seen = {}

    def before_train(self, runner):
        self.seen["before_train"] = runner.visualizer.dataset_meta

    def before_test(self, runner):
        self.seen["before_test"] = runner.visualizer.dataset_meta


def test_the_visualizer_gets_the_datasets_metainfo_as_mmengines_loops_hand_it_over(tmp_path):
    hook = ReadDatasetMeta()
    callback = HookCallback([hook])
    trainer = pl.Trainer(max_epochs=1, default_root_dir=str(tmp_path), logger=False, callbacks=[callback],
                         accelerator="cpu", enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, num_sanity_val_steps=0)
    model = Regressor()
    train, val, test = (WithMetainfo(data(8), ("train",)), WithMetainfo(data(4, seed=1), ("val",)),
                        WithMetainfo(data(4, seed=2), ("test",)))
    trainer.fit(model, DataLoader(train, batch_size=4), DataLoader(val, batch_size=4))
    assert hook.seen["before_train"] == dict(classes=("val",))  # MMEngine: the train loader's, then the val loader's
    model.test_step = model.validation_step
    trainer.test(model, DataLoader(test, batch_size=4))
    assert hook.seen["before_test"] == dict(classes=("test",))


def test_dataset_meta_seen_by_hooks_is_mmengines(tmp_path):
    """Differential: MMEngine's Runner on the same datasets, a hook reading visualizer.dataset_meta."""
    pytest.importorskip("mmengine")
    from trace_utils import mmengine_metric, mmengine_toy_model

    from mmengine.hooks import Hook as MMHook
    from mmengine.runner import Runner as MMRunner

    seen = {}

    class Read(MMHook):
        def before_train(self, runner):
            seen["before_train"] = runner.visualizer.dataset_meta

        def before_test(self, runner):
            seen["before_test"] = runner.visualizer.dataset_meta

    def collate(batch):
        xs, ys = zip(*batch)
        return dict(inputs=torch.stack(xs), targets=torch.stack(ys))

    train, val, test = (WithMetainfo(data(8), ("train",)), WithMetainfo(data(4, seed=1), ("val",)),
                        WithMetainfo(data(4, seed=2), ("test",)))
    runner = MMRunner(model=mmengine_toy_model(), work_dir=str(tmp_path / "mm"),
                      train_dataloader=DataLoader(train, batch_size=4, collate_fn=collate),
                      val_dataloader=DataLoader(val, batch_size=4, collate_fn=collate),
                      test_dataloader=DataLoader(test, batch_size=4, collate_fn=collate),
                      val_evaluator=mmengine_metric(), test_evaluator=mmengine_metric(), val_cfg=dict(), test_cfg=dict(),
                      train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
                      custom_hooks=[Read()], log_level="WARNING", default_hooks=dict(checkpoint=None, logger=None))
    runner.train()
    runner.test()

    hook = ReadDatasetMeta()
    trainer = pl.Trainer(max_epochs=1, default_root_dir=str(tmp_path / "ours"), logger=False,
                         callbacks=[HookCallback([hook])], accelerator="cpu", enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, num_sanity_val_steps=0)
    model = Regressor()
    trainer.fit(model, DataLoader(train, batch_size=4), DataLoader(val, batch_size=4))
    model.test_step = model.validation_step
    trainer.test(model, DataLoader(test, batch_size=4))
    assert seen == {"before_train": {"classes": ("val",)}, "before_test": {"classes": ("test",)}}
    assert hook.seen == seen


def test_plain_datasets_leave_dataset_meta_alone(tmp_path):
    hook = ReadDatasetMeta()
    callback = HookCallback([hook])
    trainer = pl.Trainer(max_epochs=1, default_root_dir=str(tmp_path), logger=False, callbacks=[callback],
                         accelerator="cpu", enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, num_sanity_val_steps=0)
    trainer.fit(Regressor(), DataLoader(data(8), batch_size=4))
    assert hook.seen["before_train"] is None
