"""Tiny models and loaders, shipped so tests, examples and bug reports share them."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.testing.fake_runner import FakeRunner

__all__ = ["FakeRunner", "tiny_dataset", "tiny_loader"]


def tiny_dataset(n: int = 24, in_features: int = 4, out_features: int = 1, seed: int = 0) -> TensorDataset:
    """A deterministic regression dataset: ``y = x @ w + noise``."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=generator)
    w = torch.randn(in_features, out_features, generator=generator)
    y = x @ w + 0.1 * torch.randn(n, out_features, generator=generator)
    return TensorDataset(x, y)


def tiny_loader(n: int = 24, batch_size: int = 4, **kwargs: Any) -> DataLoader[tuple[torch.Tensor, ...]]:
    """A non-shuffled DataLoader over :func:`tiny_dataset` (``n // batch_size`` batches)."""
    return DataLoader(tiny_dataset(n), batch_size=batch_size, **kwargs)
