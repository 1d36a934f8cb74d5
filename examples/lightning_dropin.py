"""MMEngine hooks in a plain Lightning Trainer: your LightningModule, your optimizer, MMEngine's hooks.

Run: python examples/lightning_dropin.py

``LoggerHook`` alone prints MMEngine's full lines (loss, the values logged with
``self.log``, lr, momentum, time, data_time, eta); ``param_scheduler`` is
MMEngine's config, built against the Trainer's optimizer. Without a logger the
run's files go under the Trainer's ``default_root_dir``; with one, into the
logger's ``version_N`` folder.
"""

from __future__ import annotations

import tempfile

import lightning.pytorch as pl
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from mmhooks.adapters.lightning import HookCallback
from mmhooks.hooks import Hook
from mmhooks.testing import tiny_dataset


class Regressor(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        out = self.layer(x)
        self.log("train_mae", (out - y).abs().mean())  # shows up in MMEngine's train lines
        return F.mse_loss(out, y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("loss", F.mse_loss(self.layer(x), y))  # in the val lines; CheckpointHook's save_best below

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)


class PrintEpochs(Hook):
    """A hook written for MMEngine: it reads runner.epoch/iter and the validation metrics."""

    def after_val_epoch(self, runner, metrics=None):
        runner.logger.info(f"validated after epoch {runner.epoch} (iteration {runner.iter}): {metrics}")


def main() -> None:
    root = tempfile.mkdtemp(prefix="mmhooks-dropin-")
    hooks = [
        dict(type="LoggerHook", interval=2),
        dict(type="CheckpointHook", interval=1, save_best="loss", rule="less"),
        dict(type="EMAHook", momentum=0.05),  # validation and checkpoints see the EMA weights, as in MMEngine
        PrintEpochs(),
    ]
    callback = HookCallback(hooks, param_scheduler=[dict(type="CosineAnnealingLR", T_max=3, by_epoch=True)])
    trainer = pl.Trainer(max_epochs=3, default_root_dir=root, callbacks=[callback], logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, num_sanity_val_steps=0)
    data = tiny_dataset(48)
    trainer.fit(Regressor(), DataLoader(data, batch_size=8, shuffle=True), DataLoader(data, batch_size=16))
    print(f"checkpoints and logs in {callback.runner.work_dir}")


if __name__ == "__main__":
    main()
