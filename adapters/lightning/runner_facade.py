"""The ``runner`` that MMEngine hooks receive, backed by a Lightning ``Trainer``.

Hooks read MMEngine's counters: ``epoch`` and ``iter`` follow MMEngine's
loops, not Lightning's (``iter`` counts batches, ``epoch`` is already
incremented when validation runs at the end of an epoch). The
:class:`~mmhooks.adapters.lightning.HookCallback` moves them; everything else
is read from the Trainer and the LightningModule when a hook asks.
"""

from __future__ import annotations

import copy
import logging
import os
import os.path as osp
import time
from functools import cached_property
from typing import Any

import lightning.pytorch as pl
import torch

from mmhooks.runner.hook_list import HookList

__all__ = ["EvalLoopView", "LightningRunner", "TrainLoopView"]

log = logging.getLogger(__name__)


class TrainLoopView:
    """What hooks see as ``runner.train_loop``: counters, limits and the stop flag."""

    def __init__(self, runner: LightningRunner) -> None:
        self._runner = runner

    @property
    def dataloader(self) -> Any:
        return self._runner.train_dataloader

    @property
    def stop_training(self) -> bool:
        trainer = self._runner.trainer
        return bool(trainer is not None and trainer.should_stop)

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        # MMEngine checks the flag at the top of its loop; Lightning's should_stop is
        # checked after each batch and lets the current epoch's validation run.
        if self._runner.trainer is not None:
            self._runner.trainer.should_stop = bool(value)

    @property
    def epoch(self) -> int:
        return self._runner.epoch

    @property
    def iter(self) -> int:
        return self._runner.iter

    _epoch = epoch
    _iter = iter

    @property
    def max_epochs(self) -> int:
        return self._runner.max_epochs

    @property
    def max_iters(self) -> int:
        return self._runner.max_iters

    @property
    def val_interval(self) -> int:
        return self._runner.val_interval

    @property
    def val_begin(self) -> int:
        return self._runner.val_begin


class EvalLoopView:
    """What hooks see as ``runner.val_loop`` / ``runner.test_loop``."""

    def __init__(self, runner: LightningRunner, stage: str) -> None:
        self._runner = runner
        self._stage = stage

    @property
    def dataloader(self) -> Any:
        return getattr(self._runner, f"{self._stage}_dataloader")

    @property
    def evaluator(self) -> Any:
        return getattr(self._runner, f"{self._stage}_evaluator")


def _first(loaders: Any) -> Any:
    """The single dataloader Lightning holds, or the first of several."""
    if isinstance(loaders, (list, tuple)):
        return loaders[0] if loaders else None
    if isinstance(loaders, dict):
        return next(iter(loaders.values()), None)
    return loaders


class LightningRunner:
    """MMEngine's runner attributes (spec §8) over a Lightning Trainer.

    Args:
        hooks: The hooks, already sorted by priority.
        work_dir: Where checkpoints and logs go; defaults to the Trainer's
            ``default_root_dir``.
        cfg: The config (a dict or :class:`mmhooks.config.Config`) shown in logs
            and saved in checkpoints' ``meta``.
        by_epoch: Epoch-based (MMEngine's EpochBasedTrainLoop) or iteration-based
            counting; ``None`` infers it from the Trainer (``max_steps`` without
            ``max_epochs`` means iteration-based).
        runner_info: Further runner attributes to expose as given: ``experiment_name``,
            ``seed``, ``timestamp``, ``max_iters``, ``val_interval``, ``val_begin``,
            ``visualizer``, ``log_processor``, ``param_schedulers``, ``launcher``,
            ``default_scope``, ``log_level``, ``val_evaluator``, ``test_evaluator``.
    """

    def __init__(
        self,
        hooks: HookList,
        work_dir: str | None = None,
        cfg: Any = None,
        by_epoch: bool | None = None,
        **runner_info: Any,
    ) -> None:
        self._hook_list = hooks
        self._work_dir_arg = work_dir
        self.cfg = _as_config(cfg)
        self._by_epoch_arg = by_epoch
        self.trainer: pl.Trainer | None = None
        self.pl_module: pl.LightningModule | None = None
        self._model_override: Any = None
        # MMEngine counters (§4): iter counts train_step calls, epoch completed epochs.
        self.epoch = 0
        self.iter = 0
        self.by_epoch = True if by_epoch is None else by_epoch
        self._max_epochs_arg: int | None = runner_info.pop("max_epochs", None)
        self._max_iters_arg: int | None = runner_info.pop("max_iters", None)
        self.max_epochs = 0
        self.max_iters = 0
        self.val_interval = int(runner_info.pop("val_interval", 1))
        self.val_begin = int(runner_info.pop("val_begin", 1))
        self.seed = runner_info.pop("seed", None)
        self.timestamp: str = runner_info.pop("timestamp", None) or time.strftime("%Y%m%d_%H%M%S", time.localtime())
        self._experiment_name_arg = runner_info.pop("experiment_name", None)
        self._visualizer_cfg = runner_info.pop("visualizer", None)
        self._log_processor_cfg = runner_info.pop("log_processor", None)
        self.param_schedulers = runner_info.pop("param_schedulers", None)
        self.launcher = runner_info.pop("launcher", "none")
        self.default_scope = runner_info.pop("default_scope", "mmengine")
        self.log_level = runner_info.pop("log_level", "INFO")
        self.val_evaluator = runner_info.pop("val_evaluator", None)
        self.test_evaluator = runner_info.pop("test_evaluator", None)
        self.deterministic = runner_info.pop("deterministic", False)
        self.auto_scale_lr = runner_info.pop("auto_scale_lr", None)
        self._optim_wrapper: Any = runner_info.pop("optim_wrapper", None)
        self.train_schedule: Any = runner_info.pop("train_schedule", None)
        self.load_from: str | None = runner_info.pop("load_from", None)
        if runner_info:
            raise TypeError(
                f"HookCallback: unknown runner attributes {sorted(runner_info)}; accepted are work_dir, cfg, "
                "by_epoch, experiment_name, seed, timestamp, max_epochs, max_iters, val_interval, val_begin, "
                "visualizer, log_processor, param_schedulers, optim_wrapper, launcher, default_scope, log_level, "
                "val_evaluator, test_evaluator, deterministic, auto_scale_lr, train_schedule, load_from."
            )
        self._resume = False
        self.train_loop = TrainLoopView(self)
        self.val_loop = EvalLoopView(self, "val")
        self.test_loop = EvalLoopView(self, "test")
        self.work_dir = osp.abspath(work_dir) if work_dir else ""

    # ------------------------------------------------------------------ binding
    def bind(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Attach to a Trainer at ``setup``: paths agree across ranks, rank zero creates them."""
        self.trainer = trainer
        self.pl_module = pl_module
        if not self.work_dir:
            self.work_dir = osp.abspath(trainer.default_root_dir)
        if trainer.world_size > 1:
            self.timestamp = trainer.strategy.broadcast(self.timestamp, src=0)
            self.work_dir = trainer.strategy.broadcast(self.work_dir, src=0)
        if self._by_epoch_arg is None:
            self.by_epoch = not (trainer.max_steps not in (-1, None) and trainer.max_epochs in (-1, None))
        if trainer.is_global_zero:
            os.makedirs(self.log_dir, exist_ok=True)

    @property
    def rank(self) -> int:
        return self.trainer.global_rank if self.trainer is not None else 0

    @property
    def world_size(self) -> int:
        return self.trainer.world_size if self.trainer is not None else 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def hooks(self) -> list[Any]:
        return self._hook_list.hooks

    def register_hook(self, hook: Any, priority: Any = None) -> None:
        self._hook_list.register(hook, priority)

    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        self._hook_list.call(fn_name, self, **kwargs)

    # ------------------------------------------------------------------- model
    @property
    def model(self) -> Any:
        if self._model_override is not None:
            return self._model_override
        module = self.pl_module
        return getattr(module, "mm_model", module)

    @model.setter
    def model(self, value: Any) -> None:  # PrepareTTAHook swaps the model
        self._model_override = value

    @property
    def model_name(self) -> str:
        return type(self.model).__name__

    @property
    def optim_wrapper(self) -> Any:
        if self._optim_wrapper is not None:
            return self._optim_wrapper
        module_wrapper = getattr(self.pl_module, "mm_optim_wrapper", None)
        if module_wrapper is not None:
            return module_wrapper
        if self.trainer is None or not self.trainer.optimizers:
            return None
        self._optim_wrapper = _view_of(self.trainer.optimizers)
        return self._optim_wrapper

    @optim_wrapper.setter
    def optim_wrapper(self, value: Any) -> None:
        self._optim_wrapper = value

    # ------------------------------------------------------------- dataloaders
    @property
    def train_dataloader(self) -> Any:
        return _first(self.trainer.train_dataloader) if self.trainer is not None else None

    @property
    def val_dataloader(self) -> Any:
        return _first(self.trainer.val_dataloaders) if self.trainer is not None else None

    @property
    def test_dataloader(self) -> Any:
        return _first(self.trainer.test_dataloaders) if self.trainer is not None else None

    @property
    def _train_loop(self) -> Any:
        # LoggerHook/LogProcessor test this to know whether training is configured.
        if self.trainer is None or self.trainer.state.fn not in ("fit", None):
            return None
        return self.train_loop

    def update_limits(self) -> None:
        """Set ``max_epochs``/``max_iters`` once the train dataloader exists (``on_train_start``)."""
        trainer = self.trainer
        assert trainer is not None
        accumulate = max(1, int(trainer.accumulate_grad_batches))
        if self.by_epoch:
            self.max_epochs = int(self._max_epochs_arg or trainer.max_epochs or 0)
            batches = trainer.num_training_batches
            per_epoch = int(batches) if batches != float("inf") else 0
            self.max_iters = int(self._max_iters_arg or self.max_epochs * per_epoch)
        else:
            self.max_epochs = 1
            self.max_iters = int(self._max_iters_arg or trainer.max_steps * accumulate)

    # ---------------------------------------------------------- run metadata
    @property
    def log_dir(self) -> str:
        return osp.join(self.work_dir, self.timestamp)

    @property
    def _log_dir(self) -> str:
        return self.log_dir

    @property
    def experiment_name(self) -> str:
        if self._experiment_name_arg:
            return f"{self._experiment_name_arg}_{self.timestamp}"
        filename = getattr(self.cfg, "filename", None)
        if filename:
            return f"{osp.splitext(osp.basename(filename))[0]}_{self.timestamp}"
        return self.timestamp

    @cached_property
    def logger(self) -> logging.Logger:
        """MMEngine-style logger writing ``{log_dir}/{timestamp}.log`` on rank zero."""
        from mmhooks.logging.logger import MMLogger

        log_file = osp.join(self.log_dir, f"{self.timestamp}.log") if self.rank == 0 else None
        return MMLogger.get_instance(
            f"mmhooks-{self.experiment_name}-{id(self)}", log_file=log_file, log_level=self.log_level
        )

    @cached_property
    def message_hub(self) -> Any:
        from mmhooks.logging import MessageHub

        return MessageHub.get_instance(f"mmhooks-{self.experiment_name}-{id(self)}")

    @cached_property
    def visualizer(self) -> Any:
        from mmhooks.adapters.lightning.visualizer import build_visualizer

        return build_visualizer(self, self._visualizer_cfg)

    @cached_property
    def log_processor(self) -> Any:
        from mmhooks.registry import LOG_PROCESSORS

        cfg = dict(self._log_processor_cfg or {})
        cfg.setdefault("type", "LogProcessor")
        cfg.setdefault("by_epoch", self.by_epoch)
        return LOG_PROCESSORS.build(cfg, path="log_processor")

    # -------------------------------------------------------------- checkpoints
    def save_checkpoint(
        self,
        out_dir: str,
        filename: str,
        file_client_args: Any = None,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        meta: dict[str, Any] | None = None,
        by_epoch: bool = True,
        backend_args: Any = None,
    ) -> None:
        """Write an MMEngine-format checkpoint that also resumes a Lightning fit.

        Every rank must call this (Lightning's save has a barrier); rank zero
        writes to a temporary name and renames, so a crash never leaves a
        partial file under the final name.
        """
        from mmhooks.adapters.lightning.checkpoint_io import save_via_trainer

        meta = dict(meta or {})
        if by_epoch:
            meta.setdefault("epoch", self.epoch + 1)
            meta.setdefault("iter", self.iter)
        else:
            meta.setdefault("epoch", self.epoch)
            meta.setdefault("iter", self.iter + 1)
        self._pending_save = dict(meta=meta, save_optimizer=save_optimizer, save_param_scheduler=save_param_scheduler)
        try:
            assert self.trainer is not None  # bound in setup, before any hook can save
            save_via_trainer(self.trainer, osp.join(out_dir, filename))
        finally:
            self._pending_save = None

    _pending_save: dict[str, Any] | None = None

    def mmengine_checkpoint_fields(self, checkpoint: dict[str, Any]) -> None:
        """Add MMEngine's keys to a Lightning checkpoint dict (called from ``on_save_checkpoint``)."""
        from mmhooks.adapters.lightning.checkpoint_io import add_mmengine_fields

        options = self._pending_save or dict(meta=None, save_optimizer=True, save_param_scheduler=True)
        add_mmengine_fields(self, checkpoint, **options)

    def load_checkpoint(
        self, filename: str, map_location: Any = "cpu", strict: bool = False, revise_keys: Any = ((r"^module\.", ""),)
    ) -> dict[str, Any]:
        """Load weights from ``filename`` into the model (``load_from``); fires ``after_load_checkpoint``."""
        from mmhooks.adapters.lightning.checkpoint_io import load_weights

        checkpoint: dict[str, Any] = load_weights(
            self, filename, map_location=map_location, strict=strict, revise_keys=revise_keys
        )
        return checkpoint


def _as_config(cfg: Any) -> Any:
    """The run's config as an object with ``pretty_text`` and ``filename`` (an empty one if none)."""
    try:
        from mmhooks.config import Config
    except ImportError:  # pragma: no cover - config package always present
        return cfg
    if cfg is None:
        return Config()
    if isinstance(cfg, Config) or hasattr(cfg, "pretty_text"):
        return cfg
    return Config(copy.deepcopy(dict(cfg)))


def _view_of(optimizers: list[torch.optim.Optimizer]) -> Any:
    """An OptimWrapper (or OptimWrapperDict) view of the Trainer's optimizers, for reading lr/momentum."""
    from mmhooks.optim import OptimWrapper, OptimWrapperDict

    optimizers = [getattr(opt, "_optimizer", opt) for opt in optimizers]  # unwrap LightningOptimizer
    if len(optimizers) == 1:
        return OptimWrapper(optimizers[0])
    return OptimWrapperDict(**{f"optimizer{i}": OptimWrapper(opt) for i, opt in enumerate(optimizers)})
