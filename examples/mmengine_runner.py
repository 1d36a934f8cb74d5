"""The Runner snippet of MMEngine's migration guide, with one changed import.

Under MMEngine this file starts with ``from mmengine.runner import Runner``;
here the Runner comes from mmhooks and trains on the Lightning Trainer.
A small ResNet-like model on synthetic images stands in for the guide's
CIFAR-10 ResNet, so nothing is downloaded.

Run: python examples/mmengine_runner.py
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from mmhooks.evaluator import BaseMetric
from mmhooks.model import BaseModel
from mmhooks.runner import Runner  # was: from mmengine.runner import Runner
from mmhooks.testing.examples import SyntheticImages


class BasicBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + x)


class MMResNetLike(BaseModel):
    def __init__(self, width: int = 16, num_classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(width), BasicBlock(width))
        self.head = nn.Linear(width, num_classes)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        x = self.blocks(self.stem(inputs.float()))
        logits = self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, data_samples)}
        if mode == "predict":
            return logits, data_samples
        return logits


class Accuracy(BaseMetric):
    def process(self, data_batch, data_samples):
        score, gt = data_samples
        self.results.append({"batch_size": len(gt), "correct": (score.argmax(dim=1) == gt).sum().cpu()})

    def compute_metrics(self, results):
        total_correct = sum(item["correct"] for item in results)
        total_size = sum(item["batch_size"] for item in results)
        return dict(accuracy=float(100 * total_correct / total_size))


def collate(batch):
    return torch.stack([b["inputs"] for b in batch]), torch.stack([b["data_samples"] for b in batch])


def main(work_dir: str = "./work_dirs/mmengine_runner", max_epochs: int = 2) -> Runner:
    train_dataloader = DataLoader(SyntheticImages(256, seed=0), batch_size=32, shuffle=True, collate_fn=collate)
    val_dataloader = DataLoader(SyntheticImages(128, seed=1), batch_size=32, collate_fn=collate)
    runner = Runner(
        model=MMResNetLike(),
        work_dir=work_dir,
        train_dataloader=train_dataloader,
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        val_dataloader=val_dataloader,
        val_cfg=dict(),
        val_evaluator=dict(type=Accuracy),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=4)),
    )
    runner.train()
    return runner


if __name__ == "__main__":
    main()
