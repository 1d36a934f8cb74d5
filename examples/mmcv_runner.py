"""The MMCV 1.x runner snippet of MMEngine's migration guide, with one changed import.

Under MMCV this file starts with ``from mmcv.runner import EpochBasedRunner``; here the runner comes
from ``mmhooks.legacy`` and trains on the Lightning Trainer, with MMCV's hooks, counters and
checkpoint files (``epoch_{n}.pth`` + ``latest.pth``). Synthetic 32x32 images stand in for the guide's
CIFAR-10, so nothing is downloaded, and the LeNet-style model keeps MMCV's ``train_step``.

Run: python examples/mmcv_runner.py
"""

from __future__ import annotations

import logging

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim import SGD
from torch.utils.data import DataLoader

from mmhooks.legacy import EpochBasedRunner  # was: from mmcv.runner import EpochBasedRunner
from mmhooks.testing.examples import SyntheticImages


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.loss_fn = nn.CrossEntropyLoss()

    def forward(self, img):
        feat = self.pool(F.relu(self.conv1(img)))
        feat = self.pool(F.relu(self.conv2(feat)))
        feat = feat.view(-1, 16 * 5 * 5)
        feat = F.relu(self.fc1(feat))
        feat = F.relu(self.fc2(feat))
        return self.fc3(feat)

    # MMCV's runner calls train_step/val_step and expects loss, log_vars and num_samples
    def train_step(self, data_batch, optimizer, **kwargs):
        img, label = data_batch
        loss = self.loss_fn(self(img), label)
        return dict(loss=loss, log_vars=dict(loss=loss.item()), num_samples=len(img))

    def val_step(self, data_batch, optimizer=None, **kwargs):
        return self.train_step(data_batch, optimizer)


def collate(batch):
    return torch.stack([b["inputs"] for b in batch]), torch.stack([b["data_samples"] for b in batch])


def main(work_dir: str = "./work_dirs/mmcv_runner", max_epochs: int = 4) -> EpochBasedRunner:
    train_dataloader = DataLoader(SyntheticImages(64, size=32, seed=0), batch_size=16, shuffle=True,
                                  collate_fn=collate)
    val_dataloader = DataLoader(SyntheticImages(32, size=32, seed=1), batch_size=16, collate_fn=collate)

    logging.basicConfig(level=logging.INFO)
    logger = logging.getLogger("custom")
    model = Model()
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)

    runner = EpochBasedRunner(
        model=model,
        optimizer=optimizer,
        work_dir=work_dir,
        logger=logger,
        max_epochs=max_epochs,
    )

    # learning rate scheduler config
    lr_config = dict(policy="step", step=[2, 3])
    # configuration of optimizer
    optimizer_config = dict(grad_clip=None)
    # configuration of saving checkpoints periodically
    checkpoint_config = dict(interval=1)
    # save log periodically and multiple hooks can be used simultaneously
    log_config = dict(interval=2, hooks=[dict(type="TextLoggerHook")])
    # register hooks to runner and those hooks will be invoked automatically
    runner.register_training_hooks(
        lr_config=lr_config,
        optimizer_config=optimizer_config,
        checkpoint_config=checkpoint_config,
        log_config=log_config)

    runner.run([train_dataloader, val_dataloader], [("train", 1), ("val", 1)])
    return runner


if __name__ == "__main__":
    main()
