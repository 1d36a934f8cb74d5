"""The built-in example's pieces: synthetic images, a small CNN and an accuracy metric.

Imported by ``examples/configs/quickstart.py`` through ``custom_imports``, so
the example runs with no download. The images are random noise plus a
class-dependent pattern, which a small CNN learns within a few epochs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mmhooks.evaluator.metric import BaseMetric
from mmhooks.model.base_model import BaseModel
from mmhooks.registry import DATASETS, METRICS, MODELS

__all__ = ["SmallCNN", "SyntheticImages", "TopOneAccuracy"]


@DATASETS.register_module()
class SyntheticImages(torch.utils.data.Dataset[dict[str, Any]]):
    """``num_samples`` RGB images of ``size`` x ``size`` pixels in ``num_classes`` classes.

    Each sample is a dict ``{'inputs': (3, H, W) tensor, 'data_samples': label}``,
    the shape MMEngine's ``pseudo_collate`` and data preprocessors expect.
    """

    metainfo = dict(classes=("stripes", "checks", "dots", "blank"))

    def __init__(self, num_samples: int = 256, size: int = 16, num_classes: int = 4, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, num_classes, (num_samples,), generator=generator)
        noise = torch.randn(num_samples, 3, size, size, generator=generator) * 0.5
        patterns = torch.randn(num_classes, 3, size, size, generator=torch.Generator().manual_seed(1234))
        self.images = noise + patterns[self.labels]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"inputs": self.images[index], "data_samples": self.labels[index]}


@MODELS.register_module()
class SmallCNN(BaseModel):
    """Two conv blocks with BatchNorm and a linear head; ``forward`` follows BaseModel's three modes."""

    def __init__(self, num_classes: int = 4, width: int = 16, data_preprocessor: Any = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, stride=2), nn.BatchNorm2d(width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(width, num_classes)

    def forward(self, inputs: torch.Tensor, data_samples: Any = None, mode: str = "tensor") -> Any:
        logits = self.head(self.features(inputs))
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, _labels(data_samples, logits.device))}
        if mode == "predict":
            labels = _labels(data_samples, logits.device)
            return [dict(pred=int(p), gt=int(g)) for p, g in zip(logits.argmax(dim=1), labels)]
        return logits


def _labels(data_samples: Any, device: torch.device) -> torch.Tensor:
    if isinstance(data_samples, torch.Tensor):
        return data_samples.to(device)
    return torch.as_tensor([int(s) for s in data_samples], device=device)


@METRICS.register_module()
class TopOneAccuracy(BaseMetric):
    """Percentage of samples whose predicted class is the label, logged as ``accuracy/top1``."""

    default_prefix = "accuracy"

    def process(self, data_batch: Any, data_samples: Any) -> None:
        self.results.extend(int(s["pred"] == s["gt"]) for s in data_samples)

    def compute_metrics(self, results: list[Any]) -> dict[str, float]:
        return {"top1": 100.0 * sum(results) / max(len(results), 1)}
