"""The runner view a legacy ``EpochBasedRunner`` / ``IterBasedRunner`` hands its MMCV hooks.

It is a :class:`~mmhooks.legacy.LegacyRunnerView` (MMCV counters over the MMEngine-style facade) whose
model, optimizer, logger, checkpoints and hook calls are the legacy runner's own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from mmhooks.legacy.phase_loader import PhaseLoader
from mmhooks.legacy.runner_view import LegacyRunnerView, _IterLoaderView

__all__ = ["LegacyRunnerLike"]


class LegacyRunnerLike(Protocol):
    """What the view reads from and forwards to its legacy runner (a ``BaseLegacyRunner``)."""

    meta: dict[str, Any]

    @property
    def model(self) -> Any: ...

    @property
    def optimizer(self) -> Any: ...

    @property
    def logger(self) -> logging.Logger: ...

    @property
    def work_dir(self) -> str | None: ...

    @property
    def timestamp(self) -> str: ...

    @property
    def hooks(self) -> list[Any]: ...

    @property
    def max_epochs(self) -> int | None: ...

    @property
    def max_iters(self) -> int | None: ...

    def save_checkpoint(self, *args: Any, **kwargs: Any) -> None: ...

    def resume(self, *args: Any, **kwargs: Any) -> None: ...

    def load_checkpoint(self, *args: Any, **kwargs: Any) -> Any: ...

    def register_hook(self, hook: Any, priority: Any = "NORMAL") -> None: ...

    def call_hook(self, fn_name: str) -> None: ...


class _MMCVRunnerView(LegacyRunnerView):
    """The view MMCV hooks receive from a legacy runner: MMCV counters plus the runner's own objects."""

    def __init__(self, facade: Any, by_epoch: bool, legacy_runner: LegacyRunnerLike, train_loader: Any,
                 val_loader: Any) -> None:
        super().__init__(facade, by_epoch)
        self.legacy_runner = legacy_runner
        self.meta = legacy_runner.meta
        self._loaders = (train_loader, val_loader)
        self.workflow_counts = (1, 0)  # iterations (IterBasedRunner) per train / val workflow entry
        self.start_iter = 0

    # Lightning attaches its dataloaders after on_fit_start (before_run); the run's own are known earlier.
    def _train_loader(self) -> Any:
        return self._loaders[0]

    def _val_loader(self) -> Any:
        loader = self._loaders[1]
        if isinstance(loader, PhaseLoader):  # IterBasedRunner: MMCV's IterLoader over the val loader
            return _IterLoaderView(loader.loader, loader.epoch)
        return loader

    # MMCV's run() sets both before before_run (IterBasedRunner: max_epochs None); the Lightning side
    # learns them only when training starts.
    @property
    def _max_epochs(self) -> int | None:
        return self.legacy_runner.max_epochs

    @property
    def _max_iters(self) -> int:
        return int(self.legacy_runner.max_iters or 0)

    @property
    def max_epochs(self) -> int | None:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    @property
    def model(self) -> Any:
        return self.legacy_runner.model

    @property
    def optimizer(self) -> Any:
        return self.legacy_runner.optimizer

    @property
    def logger(self) -> logging.Logger:
        return self.legacy_runner.logger

    @property
    def work_dir(self) -> str | None:
        return self.legacy_runner.work_dir

    @property
    def timestamp(self) -> str:
        return self.legacy_runner.timestamp

    @property
    def hooks(self) -> list[Any]:
        return self.legacy_runner.hooks

    @property
    def meta_given(self) -> bool:
        return bool(getattr(self.legacy_runner, "meta_given", True))

    def sync(self, stage: str, batch_idx: int | None = None, data_batch: Any = None, outputs: Any = None,
             metrics: Mapping[str, Any] | None = None) -> None:
        module: Any = getattr(self.runner, "pl_module", None)
        if stage == "after_train_iter" and getattr(module, "mmcv_outputs", None) is not None:
            outputs = module.mmcv_outputs  # MMCV's dict (loss tensor, log_vars, num_samples), not log_vars
        if stage == "after_val_epoch":
            metrics = None  # the val log_vars are in the log buffer already (MMCV adds nothing at epoch end)
        pushed = self._last_push
        super().sync(stage, batch_idx, data_batch, outputs, metrics)
        if not self.by_epoch:
            self._iter_phase_counters(stage)
        grad_norm = getattr(module, "pending_grad_norm", None)
        if stage == "after_train_iter" and grad_norm is not None and self._last_push != pushed:
            self.log_buffer.update({"grad_norm": grad_norm}, int(self.outputs.get("num_samples", 1)))
            module.pending_grad_norm = None

    def _iter_phase_counters(self, stage: str) -> None:
        """IterBasedRunner: ``inner_iter`` counts iterations inside the current workflow entry."""
        train_count, val_count = self.workflow_counts
        if stage in ("before_train_iter", "after_train_iter"):
            self._inner_iter = (self._iter - self.start_iter) % max(train_count, 1)
        elif stage in ("after_train_epoch", "after_run"):
            if val_count:  # the last entry was a val phase (MMCV runs it even after the last train iteration)
                self._inner_iter = val_count
            else:
                done = max(self._iter - self.start_iter, 1)
                self._inner_iter = (done - 1) % max(train_count, 1) + 1

    def save_checkpoint(self, *args: Any, **kwargs: Any) -> None:
        self.legacy_runner.save_checkpoint(*args, **kwargs)

    def resume(self, *args: Any, **kwargs: Any) -> None:
        self.legacy_runner.resume(*args, **kwargs)

    def load_checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        return self.legacy_runner.load_checkpoint(*args, **kwargs)

    def register_hook(self, hook: Any, priority: Any = "NORMAL") -> None:
        self.legacy_runner.register_hook(hook, priority)

    def call_hook(self, fn_name: str) -> None:
        self.legacy_runner.call_hook(fn_name)
