"""``HookCallback(hooks, param_scheduler=[...])``: MMEngine's schedules on a user's own optimizer, never compounded.

The lr (and momentum) of every iteration is compared with MMEngine 0.10.7's
Runner on the same config, optimizer settings and epoch length.
"""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import HookCallback
from mmhooks.errors import ConfigError
from mmhooks.hooks import Hook

mmengine = pytest.importorskip("mmengine")

SCHEDULES = {
    "warmup-then-epoch-steps": [
        dict(type="LinearLR", start_factor=0.25, by_epoch=False, begin=0, end=5),
        dict(type="MultiStepLR", milestones=[1, 2], gamma=0.5, by_epoch=True),
    ],
    "epoch-cosine-converted-to-iterations": [
        dict(type="CosineAnnealingLR", T_max=3, eta_min=0.001, by_epoch=True, convert_to_iter_based=True),
        dict(type="CosineAnnealingMomentum", T_max=3, eta_min=0.5, by_epoch=True, convert_to_iter_based=True),
    ],
    "default-end-and-poly": [
        dict(type="PolyLR", power=2.0, eta_min=0.0, by_epoch=False),
    ],
}


def data(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True))


class Regressor(pl.LightningModule):
    def __init__(self, lightning_scheduler=None):
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(4, 1)
        self.lightning_scheduler = lightning_scheduler

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        if self.lightning_scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": self.lightning_scheduler(optimizer)}


def record(base, log):
    class Recorder(base):
        priority = "VERY_HIGH"

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            group = runner.optim_wrapper.optimizer.param_groups[0]
            log.append((runner.epoch, runner.iter, group["lr"], group["momentum"]))

    return Recorder()


def mmengine_trace(tmp_path, schedule, max_epochs=3):
    from mmengine.hooks import Hook as MMHook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Net(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 1)

        def forward(self, inputs, targets=None, mode="tensor"):
            return {"loss": F.mse_loss(self.layer(inputs), targets)}

        def train_step(self, data, optim_wrapper):
            x, y = data
            loss = self(x, y, mode="loss")["loss"]
            optim_wrapper.update_params(loss)
            return {"loss": loss}

    log = []
    runner = Runner(
        model=Net(), work_dir=str(tmp_path / "mmengine"), train_dataloader=DataLoader(data(), batch_size=4),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)), param_scheduler=schedule,
        default_hooks=dict(logger=None, checkpoint=None), custom_hooks=[record(MMHook, log)], log_level="WARNING",
    )
    runner.train()
    return log


def lightning_fit(make_trainer, schedule, log, max_epochs=3, hooks=(), ckpt_path=None, saver=None, **module):
    callback = HookCallback([*hooks, record(Hook, log)], param_scheduler=schedule)
    callbacks = [callback] + ([saver] if saver is not None else [])
    trainer = make_trainer(max_epochs=max_epochs, callbacks=callbacks, enable_checkpointing=saver is not None)
    model = Regressor(**module)
    trainer.fit(model, DataLoader(data(), batch_size=4), ckpt_path=ckpt_path)
    return callback, model


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_lr_and_momentum_of_every_iteration_match_mmengine(tmp_path, make_trainer, name):
    expected = mmengine_trace(tmp_path, SCHEDULES[name])
    got: list = []
    callback, _ = lightning_fit(make_trainer, SCHEDULES[name], got)
    assert len(got) == 12
    assert [(epoch, it) for epoch, it, _, _ in got] == [(epoch, it) for epoch, it, _, _ in expected]
    assert [lr for _, _, lr, _ in got] == pytest.approx([lr for _, _, lr, _ in expected], rel=1e-12)
    assert [m for _, _, _, m in got] == pytest.approx([m for _, _, _, m in expected], rel=1e-12)
    assert [type(hook).__name__ for hook in callback.hooks][-1] == "ParamSchedulerHook"  # added, MMEngine's LOW


def test_epoch_length_is_the_trainers(make_trainer):
    """limit_train_batches shortens the epoch MMEngine's conversions count with (num_training_batches)."""
    got: list = []
    callback = HookCallback([record(Hook, got)], param_scheduler=[
        dict(type="MultiStepLR", milestones=[1], gamma=0.5, by_epoch=True, convert_to_iter_based=True)])
    trainer = make_trainer(max_epochs=2, callbacks=[callback], limit_train_batches=2)
    trainer.fit(Regressor(), DataLoader(data(), batch_size=4))
    assert [it for _, it, _, _ in got] == [0, 1, 2, 3]
    assert [lr for _, _, lr, _ in got] == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_resumed_fit_continues_the_schedule(make_trainer, tmp_path):
    schedule = SCHEDULES["warmup-then-epoch-steps"]
    straight: list = []
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_epochs=1, save_top_k=-1)
    _, straight_model = lightning_fit(make_trainer, schedule, straight, saver=saver)
    resumed: list = []
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt2", every_n_epochs=1, save_top_k=-1)
    _, resumed_model = lightning_fit(make_trainer, schedule, resumed, saver=saver,
                                     ckpt_path=tmp_path / "ckpt" / "epoch=0-step=4.ckpt")
    assert resumed == straight[4:]
    torch.testing.assert_close(resumed_model.layer.weight, straight_model.layer.weight, rtol=0, atol=0)


def test_a_lightning_lr_scheduler_and_mmengine_schedulers_on_lr_are_refused(make_trainer):
    def step_lr(optimizer):
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    with pytest.raises(ConfigError) as caught:
        lightning_fit(make_trainer, [dict(type="MultiStepLR", milestones=[1], by_epoch=True)], [],
                      lightning_scheduler=step_lr)
    message = str(caught.value)
    assert message.startswith("HookCallback.param_scheduler: got MultiStepLR(lr")
    assert "configure_optimizers returned StepLR" in message and "compound" in message


def test_the_refusal_also_covers_a_param_scheduler_hooks_own_config(make_trainer):
    def step_lr(optimizer):
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    hook = dict(type="ParamSchedulerHook", param_scheduler=[dict(type="LinearLR", start_factor=0.5, by_epoch=False)])
    with pytest.raises(ConfigError, match="configure_optimizers returned StepLR"):
        lightning_fit(make_trainer, None, [], hooks=[hook], lightning_scheduler=step_lr)


def test_a_lightning_lr_scheduler_with_an_mmengine_momentum_schedule_is_allowed(make_trainer):
    def step_lr(optimizer):
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    got: list = []
    lightning_fit(make_trainer, [dict(type="StepMomentum", step_size=1, gamma=0.5, by_epoch=True)], got,
                  max_epochs=2, lightning_scheduler=step_lr)
    assert [lr for _, _, lr, _ in got[::4]] == pytest.approx([0.1, 0.05])  # Lightning's StepLR
    assert [momentum for _, _, _, momentum in got[::4]] == pytest.approx([0.9, 0.45])  # MMEngine's StepMomentum


def test_a_bad_param_scheduler_config_fails_at_construction():
    with pytest.raises(ConfigError, match=r"^HookCallback\.param_scheduler\[0\]\.milestones"):
        HookCallback([], param_scheduler=[dict(type="MultiStepLR", milestones=3)])


class TwoOptimizers(pl.LightningModule):
    """Manual optimization with two optimizers (a GAN's shape): schedules keyed by MMEngine's names."""

    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.first, self.second = nn.Linear(4, 1), nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        for optimizer, net in zip(self.optimizers(), (self.first, self.second)):
            loss = F.mse_loss(net(x), y)
            optimizer.zero_grad()
            self.manual_backward(loss)
            optimizer.step()

    def configure_optimizers(self):
        return [torch.optim.SGD(self.first.parameters(), lr=0.1, momentum=0.9),
                torch.optim.Adam(self.second.parameters(), lr=0.01)]


def test_schedules_keyed_by_optimizer_name_with_several_optimizers(make_trainer):
    got: list = []

    class Both(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            got.append(tuple(lrs[0] for lrs in runner.optim_wrapper.get_lr().values()))

    callback = HookCallback([Both()], param_scheduler=dict(
        optimizer0=[dict(type="StepLR", step_size=1, gamma=0.5, by_epoch=True)], optimizer1=[]))
    make_trainer(max_epochs=2, callbacks=[callback]).fit(TwoOptimizers(), DataLoader(data(8), batch_size=4))
    assert sorted(callback.runner.param_schedulers) == ["optimizer0", "optimizer1"]
    assert [first for first, _ in got] == pytest.approx([0.1, 0.1, 0.05, 0.05])
    assert [second for _, second in got] == pytest.approx([0.01] * 4)
