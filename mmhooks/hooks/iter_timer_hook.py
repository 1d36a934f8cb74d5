"""``IterTimerHook``: measures data and iteration time and estimates the time left (eta)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Optional, Union

from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["IterTimerHook"]


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Record ``{mode}/data_time`` and ``{mode}/time`` scalars and the ``eta`` info.

    ``data_time`` is the time from the end of the previous iteration (or the
    start of the epoch) to ``before_*_iter``; ``time`` runs to ``after_*_iter``
    and so includes ``data_time``. Work done by hooks that run after this one
    in ``after_*_iter`` is charged to the next iteration, as in MMEngine.

    ``eta`` in training is the mean iteration time since ``before_train``
    times the iterations left; in val/test it uses the current loop's
    dataloader.
    """

    priority = "NORMAL"

    def __init__(self) -> None:
        self.time_sec_tot: float = 0
        self.time_sec_test_val: float = 0
        self.start_iter = 0
        self.t = time.time()

    def before_train(self, runner: RunnerLike) -> None:
        self.start_iter = runner.iter  # a resumed run estimates from its own iterations only

    def _before_epoch(self, runner: RunnerLike, mode: str = "train") -> None:
        self.t = time.time()

    def _after_epoch(self, runner: RunnerLike, mode: str = "train") -> None:
        self.time_sec_test_val = 0

    def _before_iter(self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, mode: str = "train") -> None:
        runner.message_hub.update_scalar(f"{mode}/data_time", time.time() - self.t)

    def _after_iter(
        self,
        runner: RunnerLike,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Optional[Union[dict[str, Any], Sequence[Any]]] = None,
        mode: str = "train",
    ) -> None:
        hub = runner.message_hub
        now = time.time()
        iter_time = now - self.t
        hub.update_scalar(f"{mode}/time", iter_time)
        self.t = now
        if mode == "train":
            self.time_sec_tot += iter_time
            mean_time = self.time_sec_tot / (runner.iter - self.start_iter + 1)
            hub.update_info("eta", mean_time * (runner.max_iters - runner.iter - 1))
        else:
            dataloader = runner.val_dataloader if mode == "val" else runner.test_dataloader
            self.time_sec_test_val += iter_time
            mean_time = self.time_sec_test_val / (batch_idx + 1)
            hub.update_info("eta", mean_time * (len(dataloader) - batch_idx - 1))
