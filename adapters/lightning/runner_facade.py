"""``LightningRunner``: the runner MMEngine hooks receive inside a user's own Lightning Trainer.

A ``HookCallback`` built from a list of hooks (rather than handed a
:class:`~mmhooks.runner.Runner`) makes one of these. It is a
:class:`~mmhooks.runner.base.RunnerBase` like the Runner, so hooks see the same
contract; what a config-driven Runner builds, this one reads from the Trainer
and the LightningModule when a hook asks (the model, the dataloaders, an
``OptimWrapper`` view of the Trainer's optimizers, the training length).
"""

from __future__ import annotations

import copy
import logging
import os
import os.path as osp
from typing import Any

import lightning.pytorch as pl
import torch

from mmhooks.adapters.lightning.session import TrainerSession
from mmhooks.errors import check_keys
from mmhooks.runner.base import RunnerBase
from mmhooks.runner.context import RunContext, RunIdentity, new_timestamp
from mmhooks.runner.hook_list import HookList

__all__ = ["RUNNER_INFO_KEYS", "LightningRunner", "run_root"]

# Runner attributes a HookCallback accepts as keyword arguments.
RUNNER_INFO_KEYS = (
    "experiment_name", "seed", "timestamp", "max_epochs", "max_iters", "val_interval", "val_begin", "visualizer",
    "log_processor", "param_schedulers", "optim_wrapper", "launcher", "default_scope", "log_level", "val_evaluator",
    "test_evaluator", "deterministic", "train_schedule", "load_from",
)


def _first(loaders: Any) -> Any:
    """The single dataloader Lightning holds, or the first of several."""
    if isinstance(loaders, (list, tuple)):
        return loaders[0] if loaders else None
    if isinstance(loaders, dict):
        return next(iter(loaders.values()), None)
    return loaders


class LightningRunner(RunnerBase):
    """MMEngine's runner attributes over a user's Lightning Trainer and LightningModule.

    Args:
        hooks: The hooks, in priority order.
        work_dir: Where checkpoints and logs go; defaults to :func:`run_root` (the Trainer's tree).
        cfg: The config (a dict or :class:`mmhooks.config.Config`) shown in logs and saved in checkpoints.
        by_epoch: Epoch-based (MMEngine's EpochBasedTrainLoop) or iteration-based counting; ``None``
            infers it from the Trainer (``max_steps`` without ``max_epochs`` means iteration-based).
        runner_info: Further runner attributes, see :data:`RUNNER_INFO_KEYS`.
    """

    def __init__(self, hooks: HookList, work_dir: str | None = None, cfg: Any = None, by_epoch: bool | None = None,
                 **runner_info: Any) -> None:
        check_keys("HookCallback", runner_info, RUNNER_INFO_KEYS, "a runner attribute HookCallback accepts")
        cfg = _as_config(cfg)
        identity = RunIdentity(
            work_dir=osp.abspath(work_dir) if work_dir else "",
            timestamp=runner_info.get("timestamp") or new_timestamp(),
            given_name=runner_info.get("experiment_name"),
            cfg_filename=getattr(cfg, "filename", None),
            seed=runner_info.get("seed"),
            deterministic=bool(runner_info.get("deterministic", False)),
            launcher=runner_info.get("launcher") or "none",
            default_scope=runner_info.get("default_scope") or "mmengine",
            log_level=runner_info.get("log_level") or "INFO",
        )
        context = RunContext(identity=identity, cfg=cfg, load_from=runner_info.get("load_from"))
        context.apply_schedule(runner_info.get("train_schedule"))
        progress = context.progress
        self._by_epoch_given = by_epoch
        if by_epoch is not None:
            progress.by_epoch = by_epoch
        progress.val_interval = int(runner_info.get("val_interval", progress.val_interval))
        progress.val_begin = int(runner_info.get("val_begin", progress.val_begin))
        self._limits = (runner_info.get("max_epochs"), runner_info.get("max_iters"))
        objects = context.objects
        objects.param_schedulers = runner_info.get("param_schedulers")
        objects.optim_wrapper = runner_info.get("optim_wrapper")
        objects.val_evaluator = runner_info.get("val_evaluator")
        objects.test_evaluator = runner_info.get("test_evaluator")
        super().__init__(context, hooks, visualizer=runner_info.get("visualizer"),
                         log_processor=runner_info.get("log_processor"))
        self.backend = TrainerSession()
        self.trainer: pl.Trainer | None = None
        self.pl_module: pl.LightningModule | None = None

    # ------------------------------------------------------------------ binding
    def bind(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Attach to a Trainer at ``setup``: paths agree across ranks (rank zero's), rank zero creates them.

        Without a ``work_dir`` the run goes inside the Trainer's own tree (:func:`run_root`).
        """
        self.trainer = trainer
        self.backend.trainer = trainer
        self.pl_module = pl_module
        identity = self.context.identity
        if not identity.work_dir:
            identity.work_dir = run_root(trainer)
        self.agree_on_identity()
        if self._by_epoch_given is None and self.context.schedule is None:
            self.context.progress.by_epoch = not (trainer.max_steps not in (-1, None)
                                                  and trainer.max_epochs in (-1, None))
        if trainer.is_global_zero:
            os.makedirs(self.log_dir, exist_ok=True)
        if "logger" in self._services:  # built before the Trainer started: its file opens now
            self.write_to_log_file(self.open_log_file())

    def _build_logger(self) -> logging.Logger:
        """Inside a running Trainer the log file opens with the logger (only a run that logs gets one)."""
        logger = super()._build_logger()
        if self.trainer is not None:
            self.write_to_log_file(self.open_log_file(logger), logger)
        return logger

    def update_limits(self) -> None:
        """``max_epochs``/``max_iters`` once the train dataloader exists (``on_train_start``)."""
        trainer = self.trainer
        assert trainer is not None
        progress = self.context.progress
        max_epochs, max_iters = self._limits
        accumulate = max(1, int(trainer.accumulate_grad_batches))
        if progress.by_epoch:
            progress.max_epochs = int(max_epochs or progress.max_epochs or trainer.max_epochs or 0)
            batches = trainer.num_training_batches
            per_epoch = int(batches) if batches not in (float("inf"), None) else 0
            progress.max_iters = int(max_iters or progress.max_epochs * per_epoch)
        else:
            progress.max_epochs = 1
            progress.max_iters = int(max_iters or progress.max_iters or trainer.max_steps * accumulate)

    def _build_visualizer(self) -> Any:
        """As the Runner's, but scalars go to the Trainer's own TensorBoardLogger when it has one."""
        from mmhooks import interop
        from mmhooks.adapters.lightning.visualizer import build_visualizer

        visualizer = interop.adopt(build_visualizer(self, self._visualizer_cfg))
        interop.publish(visualizer=visualizer)
        return visualizer

    # ------------------------------------------------------------------- model
    @property
    def model(self) -> Any:
        model = self.context.objects.model
        if model is not None:
            return model
        module = self.pl_module
        return getattr(module, "mm_model", module)

    @model.setter
    def model(self, value: Any) -> None:  # PrepareTTAHook swaps the model
        self.context.objects.model = value

    @property
    def optim_wrapper(self) -> Any:
        objects = self.context.objects
        if objects.optim_wrapper is not None:
            return objects.optim_wrapper
        module_wrapper = getattr(self.pl_module, "mm_optim_wrapper", None)
        if module_wrapper is not None:
            return module_wrapper
        if self.trainer is None or not self.trainer.optimizers:
            return None
        objects.optim_wrapper = _view_of(self.trainer.optimizers)
        return objects.optim_wrapper

    @optim_wrapper.setter
    def optim_wrapper(self, value: Any) -> None:
        self.context.objects.optim_wrapper = value

    # ------------------------------------------------------------- dataloaders
    # The Trainer holds the dataloaders; a value set by a hook replaces the Trainer's until the next run.
    def _loader(self, stage: str, trainer_attr: str) -> Any:
        given = getattr(self.context.objects, f"{stage}_dataloader")
        if given is not None or self.trainer is None:
            return given
        return _first(getattr(self.trainer, trainer_attr))

    @property
    def train_dataloader(self) -> Any:
        return self._loader("train", "train_dataloader")

    @train_dataloader.setter
    def train_dataloader(self, value: Any) -> None:
        self.context.objects.train_dataloader = value

    @property
    def val_dataloader(self) -> Any:
        return self._loader("val", "val_dataloaders")

    @val_dataloader.setter
    def val_dataloader(self, value: Any) -> None:
        self.context.objects.val_dataloader = value

    @property
    def test_dataloader(self) -> Any:
        return self._loader("test", "test_dataloaders")

    @test_dataloader.setter
    def test_dataloader(self, value: Any) -> None:
        self.context.objects.test_dataloader = value

    def share_dataset_meta(self, *stages: str) -> None:
        """MMEngine's loops: each stage's dataset ``metainfo`` becomes the visualizer's (and evaluator's) ``dataset_meta``.

        Stages are handed over in order, so the last one with a ``metainfo``
        wins (``"train", "val"`` in a fit, as MMEngine's ``train()``). A dataset
        without one (a plain Lightning user's) leaves ``dataset_meta`` as it is,
        without MMEngine's warning.
        """
        for stage in stages:
            loader = getattr(self, f"{stage}_dataloader")
            metainfo = getattr(getattr(loader, "dataset", None), "metainfo", None)
            if metainfo is None:
                continue
            self.visualizer.dataset_meta = metainfo
            evaluator = getattr(self, f"{stage}_evaluator", None)
            if evaluator is not None:
                evaluator.dataset_meta = metainfo

    def _has_stage(self, stage: str) -> bool:
        if stage != "train":
            return True
        # LoggerHook/LogProcessor test runner._train_loop to know whether training is configured.
        return self.trainer is None or self.trainer.state.fn in ("fit", None)


def run_root(trainer: pl.Trainer) -> str:
    """Where a run without ``work_dir`` puts its files: one run, one tree with Lightning's.

    The first logger's ``log_dir`` (``lightning_logs/version_N`` of a
    TensorBoardLogger or CSVLogger; ``save_dir`` of other loggers), else the
    Trainer's ``default_root_dir`` (``trainer.log_dir``, called on every rank:
    it broadcasts rank zero's).
    """
    log_dir = trainer.log_dir
    return osp.abspath(log_dir if log_dir else trainer.default_root_dir)


def _as_config(cfg: Any) -> Any:
    """The run's config as an object with ``pretty_text`` and ``filename`` (an empty one if none)."""
    from mmhooks import interop
    from mmhooks.config import Config

    if cfg is None:
        return Config()
    if isinstance(cfg, Config) or hasattr(cfg, "pretty_text"):
        return interop.adopt(cfg) if isinstance(cfg, Config) else cfg
    return interop.adopt(Config(copy.deepcopy(dict(cfg))))


def _view_of(optimizers: list[torch.optim.Optimizer]) -> Any:
    """An OptimWrapper (or OptimWrapperDict) view of the Trainer's optimizers, for reading lr/momentum."""
    from mmhooks import interop
    from mmhooks.optim import OptimWrapper, OptimWrapperDict

    plain = [getattr(opt, "optimizer", opt) for opt in optimizers]  # LightningOptimizer -> the torch optimizer
    if len(plain) == 1:
        return interop.adopt(OptimWrapper(plain[0]))
    return interop.adopt(OptimWrapperDict(**{f"optimizer{i}": OptimWrapper(opt) for i, opt in enumerate(plain)}))
