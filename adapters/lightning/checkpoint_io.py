"""One checkpoint file for both worlds: MMEngine's keys and layout, plus what Lightning resumes from.

``runner.save_checkpoint`` goes through ``trainer.save_checkpoint`` so that
Lightning adds its loop counters, optimizer and callback states; our
``on_save_checkpoint`` then adds MMEngine's ``meta``, ``message_hub``,
``optimizer`` and ``param_schedulers`` in MMEngine's key order. Rank zero
writes to a temporary name and renames it into place.
"""

from __future__ import annotations

import os
import time
from typing import Any

import lightning.pytorch as pl
import torch

import mmhooks
from mmhooks.runner.checkpoint import to_cpu, weights_to_cpu

__all__ = ["add_mmengine_fields", "save_via_trainer"]

# Keys of a Lightning checkpoint that carry optimizer state.
_OPTIMIZER_KEYS = ("optimizer_states", "lr_schedulers")


def save_via_trainer(trainer: pl.Trainer, path: str) -> None:
    """``trainer.save_checkpoint`` to ``path`` atomically (all ranks call it; rank zero writes)."""
    tmp_path = f"{path}.tmp-{os.getpid()}"
    trainer.save_checkpoint(tmp_path, weights_only=False)  # includes a barrier
    if trainer.is_global_zero:
        os.replace(tmp_path, path)
    trainer.strategy.barrier("mmhooks_save_checkpoint")


def add_mmengine_fields(
    runner: Any,
    checkpoint: dict[str, Any],
    meta: dict[str, Any] | None = None,
    save_optimizer: bool = True,
    save_param_scheduler: bool = True,
) -> None:
    """Rewrite ``checkpoint`` in place: MMEngine's keys first, then Lightning's."""
    meta = dict(meta) if meta else dict(epoch=runner.epoch, iter=runner.iter)
    meta.update(
        cfg=getattr(runner.cfg, "pretty_text", ""),
        seed=runner.seed,
        experiment_name=runner.experiment_name,
        time=time.strftime("%Y%m%d_%H%M%S", time.localtime()),
        mmhooks_version=mmhooks.__version__,
    )
    dataset = getattr(runner.train_dataloader, "dataset", None)
    metainfo = getattr(dataset, "metainfo", None)
    if metainfo is not None:
        meta["dataset_meta"] = metainfo
    lightning_part = dict(checkpoint)
    ordered: dict[str, Any] = {
        "meta": meta,
        "state_dict": weights_to_cpu(lightning_part.pop("state_dict", {})),
        "message_hub": to_cpu(runner.message_hub.state_dict()),
    }
    optim_wrapper = runner.optim_wrapper
    if save_optimizer and optim_wrapper is not None:
        ordered["optimizer"] = to_cpu(optim_wrapper.state_dict())
    elif not save_optimizer:
        for key in _OPTIMIZER_KEYS:
            lightning_part.pop(key, None)
    schedulers = runner.param_schedulers
    if save_param_scheduler and schedulers:
        if isinstance(schedulers, dict):
            ordered["param_schedulers"] = {k: [s.state_dict() for s in v] for k, v in schedulers.items()}
        else:
            ordered["param_schedulers"] = [s.state_dict() for s in schedulers]
    checkpoint.clear()
    checkpoint.update(ordered)
    checkpoint.update(lightning_part)
