"""One checkpoint file for both worlds: MMEngine's keys and layout, plus what Lightning resumes from.

``runner.save_checkpoint`` goes through ``trainer.save_checkpoint`` so that
Lightning adds its loop counters, optimizer and callback states; our
``on_save_checkpoint`` then adds MMEngine's ``meta``, ``message_hub``,
``optimizer`` and ``param_schedulers`` in MMEngine's key order. Rank zero
writes to a temporary name and renames it into place.
"""

from __future__ import annotations

import os
from typing import Any

import lightning.pytorch as pl

from mmhooks.runner.checkpoint_content import mmengine_checkpoint

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
    """Rewrite ``checkpoint`` in place: MMEngine's keys first (``mmengine_checkpoint``), then Lightning's."""
    lightning_part = dict(checkpoint)
    ordered = mmengine_checkpoint(runner, lightning_part.pop("state_dict", {}), meta=meta,
                                  save_optimizer=save_optimizer, save_param_scheduler=save_param_scheduler)
    if not save_optimizer:
        for key in _OPTIMIZER_KEYS:
            lightning_part.pop(key, None)
    checkpoint.clear()
    checkpoint.update(ordered)
    checkpoint.update(lightning_part)
