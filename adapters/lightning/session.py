"""What a runner asks of a running ``lightning.Trainer``: ranks, broadcasts, stops and checkpoint writes.

:class:`TrainerSession` implements the per-run part of the core's
:class:`~mmhooks.runner.backend.Backend` contract over one Trainer. The
Runner's :class:`~mmhooks.adapters.lightning.backend.LightningBackend` extends
it with ``train``/``evaluate``; a ``HookCallback`` in a user's own Trainer
binds a plain session to its runner at ``setup``.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

from mmhooks.adapters.lightning.checkpoint_io import save_via_trainer

__all__ = ["TrainerSession"]


class TrainerSession:
    """A runner's view of the Trainer that executes it (``trainer`` is set when the run starts)."""

    name = "lightning"

    def __init__(self, trainer: pl.Trainer | None = None) -> None:
        self.trainer = trainer
        self.pending_save: dict[str, Any] | None = None

    @property
    def rank(self) -> int:
        return self.trainer.global_rank if self.trainer is not None else 0

    @property
    def world_size(self) -> int:
        return self.trainer.world_size if self.trainer is not None else 1

    def broadcast(self, value: Any, src: int = 0) -> Any:
        trainer = self.trainer
        if trainer is None or trainer.world_size == 1:
            return value
        return trainer.strategy.broadcast(value, src=src)

    def save_checkpoint(self, path: str, meta: dict[str, Any], save_optimizer: bool,
                        save_param_scheduler: bool) -> None:
        """``trainer.save_checkpoint``; the HookCallback's ``on_save_checkpoint`` adds MMEngine's keys."""
        if self.trainer is None:
            raise RuntimeError("runner.save_checkpoint: the Trainer has not started. Fix: save from a hook.")
        self.pending_save = dict(meta=meta, save_optimizer=save_optimizer, save_param_scheduler=save_param_scheduler)
        try:
            save_via_trainer(self.trainer, path)
        finally:
            self.pending_save = None

    def train(self) -> Any:
        raise RuntimeError("runner.train() is not available inside your own lightning.Trainer: call trainer.fit().")

    def evaluate(self, stage: str) -> dict[str, Any]:
        raise RuntimeError("runner.val()/test() are not available inside your own lightning.Trainer: call "
                           "trainer.validate() or trainer.test().")
