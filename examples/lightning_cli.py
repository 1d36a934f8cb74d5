"""MMEngine hooks and schedules from a LightningCLI YAML: ``HookCallback`` in ``trainer.callbacks``.

Run (needs ``pip install 'jsonargparse[signatures]>=4.27'``):

    python examples/lightning_cli.py fit --config examples/lightning_cli.yaml

The YAML lists the hooks as MMEngine config dicts (``{type: EMAHook, ...}``) or
as ``class_path``/``init_args``, and MMEngine's ``param_scheduler``. The run's
log lines, ``scalars.json``, TensorBoard events and MMEngine checkpoints go into
the logger's folder (``work_dirs/lightning_cli/lightning_logs/version_N/``).
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.cli import LightningCLI
from torch.nn import functional as F
from torch.utils.data import DataLoader

from mmhooks.testing import tiny_dataset


class Regressor(pl.LightningModule):
    """An ordinary LightningModule: its own steps, ``self.log``, ``configure_optimizers``."""

    def __init__(self, lr: float = 0.05, momentum: float = 0.9) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        out = self.layer(x)
        self.log("train_mae", (out - y).abs().mean())
        return F.mse_loss(out, y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        out = self.layer(x)
        self.log("val_loss", F.mse_loss(out, y))  # first: CheckpointHook(save_best='auto') tracks it (rule 'less')
        self.log("val_mae", (out - y).abs().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=self.hparams.momentum)


class TinyData(pl.LightningDataModule):
    """Synthetic regression data (no download)."""

    def __init__(self, num_samples: int = 64, batch_size: int = 8) -> None:
        super().__init__()
        self.num_samples = num_samples
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader[Any]:
        return DataLoader(tiny_dataset(self.num_samples), batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader[Any]:
        return DataLoader(tiny_dataset(self.num_samples // 2, seed=1), batch_size=self.batch_size)


def main(args: list[str] | None = None) -> LightningCLI:
    return LightningCLI(Regressor, TinyData, args=args, save_config_kwargs={"overwrite": True})


if __name__ == "__main__":
    main()
