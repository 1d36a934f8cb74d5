"""``RuntimeInfoHook``: records the run's counters, learning rates and losses in the message hub.

Every other logging component reads the message hub, so this hook runs first
(``VERY_HIGH``): the learning rate is recorded before the iteration timer and
the losses right after ``train_step``.
"""

from __future__ import annotations

import subprocess
from typing import Any, Optional

import numpy as np
import torch

from mmhooks import __version__
from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["RuntimeInfoHook"]


def _is_scalar(value: Any) -> bool:
    """A number, or an array/tensor with exactly one element."""
    if isinstance(value, np.ndarray):
        return value.size == 1
    if isinstance(value, (int, float, np.number)):
        return True
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return False


def _git_hash() -> str:
    """The commit of the git repository around the working directory, or ``""`` (as MMEngine records it)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip().decode("ascii", "replace") if done.returncode == 0 else ""


@HOOKS.register_module()
class RuntimeInfoHook(Hook):
    """Write counters, learning rates, outputs and metrics to ``runner.message_hub``.

    Keys: infos ``cfg``, ``seed``, ``experiment_name``, ``mmengine_version``, ``loop_stage``,
    ``epoch``, ``iter``, ``max_epochs``, ``max_iters``, ``dataset_meta``; scalars
    ``train/<lr name>`` (first parameter group), ``train/<output key>``, ``val/<metric>``
    and ``test/<metric>`` (non-scalar metrics go to the infos under the same keys).

    MMEngine parity:
        ``mmengine_version`` holds the mmhooks version (plus the git commit of the working
        directory, as MMEngine appends it).
    """

    priority = "VERY_HIGH"

    def __init__(self) -> None:
        self.last_loop_stage: Optional[str] = None

    def before_run(self, runner: RunnerLike) -> None:
        cfg = runner.cfg
        pretty_text = getattr(cfg, "pretty_text", None)
        runner.message_hub.update_info_dict(
            {
                "cfg": pretty_text if pretty_text is not None else repr(cfg),
                "seed": runner.seed,
                "experiment_name": runner.experiment_name,
                "mmengine_version": __version__ + _git_hash(),
            }
        )
        self.last_loop_stage = None

    def before_train(self, runner: RunnerLike) -> None:
        hub = runner.message_hub
        hub.update_info("loop_stage", "train")
        hub.update_info("epoch", runner.epoch)
        hub.update_info("iter", runner.iter)
        hub.update_info("max_epochs", runner.max_epochs)
        hub.update_info("max_iters", runner.max_iters)
        dataset: Any = getattr(runner.train_dataloader, "dataset", None)
        if hasattr(dataset, "metainfo"):
            hub.update_info("dataset_meta", dataset.metainfo)

    def after_train(self, runner: RunnerLike) -> None:
        runner.message_hub.pop_info("loop_stage")

    def before_train_epoch(self, runner: RunnerLike) -> None:
        runner.message_hub.update_info("epoch", runner.epoch)

    def before_train_iter(self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        hub = runner.message_hub
        hub.update_info("iter", runner.iter)
        lr_dict = runner.optim_wrapper.get_lr()
        if not isinstance(lr_dict, dict):
            raise TypeError(
                f"runner.optim_wrapper.get_lr(): got {type(lr_dict).__name__}; expected a dict of name -> list of "
                "learning rates. Fix: use an OptimWrapper or OptimWrapperDict."
            )
        for name, lrs in lr_dict.items():
            hub.update_scalar(f"train/{name}", lrs[0])

    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        if outputs is not None:
            hub = runner.message_hub
            for key, value in outputs.items():
                hub.update_scalar(f"train/{key}", value)

    def before_val(self, runner: RunnerLike) -> None:
        self.last_loop_stage = runner.message_hub.get_info("loop_stage")
        runner.message_hub.update_info("loop_stage", "val")

    def after_val_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        self._record_metrics(runner, "val", metrics)

    def after_val(self, runner: RunnerLike) -> None:
        if self.last_loop_stage == "train":
            runner.message_hub.update_info("loop_stage", "train")
            self.last_loop_stage = None
        else:
            runner.message_hub.pop_info("loop_stage")

    def before_test(self, runner: RunnerLike) -> None:
        runner.message_hub.update_info("loop_stage", "test")

    def after_test(self, runner: RunnerLike) -> None:
        runner.message_hub.pop_info("loop_stage")

    def after_test_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        self._record_metrics(runner, "test", metrics)

    @staticmethod
    def _record_metrics(runner: RunnerLike, mode: str, metrics: Optional[dict[str, Any]]) -> None:
        if metrics is None:
            return
        hub = runner.message_hub
        for key, value in metrics.items():
            if _is_scalar(value):
                hub.update_scalar(f"{mode}/{key}", value)
            else:
                hub.update_info(f"{mode}/{key}", value)
