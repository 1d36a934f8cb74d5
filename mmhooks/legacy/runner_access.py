"""What the MMCV-formula updaters read from a runner, for MMEngine-style facades and MMCV-style views alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["optimizers_of", "train_loader_len"]


def optimizers_of(runner: Any) -> dict[str | None, torch.optim.Optimizer]:
    """The optimizers to update, keyed by name (``None`` for a single optimizer).

    An MMEngine-style facade exposes ``optim_wrapper`` (an ``OptimWrapper`` with ``.optimizer``, or an
    ``OptimWrapperDict`` of them); an MMCV-style runner exposes ``optimizer`` (an optimizer or a dict).
    """
    wrapper = getattr(runner, "optim_wrapper", None)
    if wrapper is not None:
        inner = getattr(wrapper, "optimizer", None)
        if isinstance(inner, torch.optim.Optimizer):
            return {None: inner}
        if hasattr(wrapper, "items"):
            return {name: getattr(w, "optimizer", w) for name, w in wrapper.items()}
    optimizer = getattr(runner, "optimizer", None)
    if isinstance(optimizer, Mapping):
        return dict(optimizer.items())
    if optimizer is not None and hasattr(optimizer, "param_groups"):
        return {None: optimizer}
    raise AttributeError(
        "runner: got no optimizer; expected runner.optim_wrapper or runner.optimizer. "
        "Fix: build the optimizer before the legacy updater hooks run (before_run)."
    )


def train_loader_len(runner: Any) -> int:
    """Number of batches per training epoch (MMCV's ``len(runner.data_loader)`` in a train epoch)."""
    for name in ("data_loader", "train_dataloader"):
        loader = getattr(runner, name, None)
        if loader is not None and not isinstance(loader, Mapping):
            return len(loader)
    return len(runner.train_loop.dataloader)
