"""The Fabric backend: a :class:`mmhooks.runner.Runner` run by MMEngine's own loops on ``lightning.fabric.Fabric``.

Fabric brings the launch, the process group, the strategy (DDP, ...) and the
precision plugin; the loops are mmhooks' (``runner.train_loop.run()``), so
hooks fire in MMEngine's order with MMEngine's counters, with nothing to
translate. ``train()`` follows MMEngine's ``Runner.train``: build the
dataloaders, optimizer wrapper and schedulers once the process group exists,
``before_run``, ``init_weights``, ``load_from`` or resume, the train loop,
``after_run``.

How a step is carried out (see :mod:`mmhooks.adapters.fabric.step`):

* one process at full precision: ``model.train_step(data, optim_wrapper)``,
  exactly as MMEngine, nothing in between;
* otherwise the OptimWrapper's backward goes through ``fabric.backward``
  (precision plugin, strategy), its ``optimizer`` is Fabric's, accumulation
  windows skip the gradient all-reduce (``fabric.no_backward_sync``), and the
  forward runs through Fabric's module (DDP's forward, autocast), as MMEngine's
  ``MMDistributedDataParallel.train_step`` does.

Checkpoints hold MMEngine's keys only (:mod:`mmhooks.runner.checkpoint_content`);
rank zero writes them, so MMEngine, the Lightning backend's ``load_from`` and
this backend's resume read them alike.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import torch
from lightning.fabric import Fabric

from mmhooks.adapters.fabric.fabric_kwargs import FabricSettings, fabric_settings
from mmhooks.adapters.fabric.step import FabricStep
from mmhooks.runner.backend import framework_verbose
from mmhooks.runner.checkpoint import atomic_save, load_checkpoint_file, unwrap_model
from mmhooks.runner.checkpoint_content import HOOK_STATES_KEY, hook_states, mmengine_checkpoint
from mmhooks.runner.resume import check_resumable, resolve_resume, resume_from_checkpoint
from mmhooks.runner.startup_gc import training_starts

__all__ = ["FabricBackend"]


def quiet_fabric() -> None:
    """Hide Fabric's start-up messages (seed, distributed setup): noise next to MMEngine's log lines."""
    logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")  # Lightning vs torch 2.13


class FabricBackend:
    """Runs one :class:`~mmhooks.runner.Runner` (``train``, ``val``, ``test``) on one ``lightning.fabric.Fabric``.

    The Fabric, its process group and the set-up model serve every call, so a
    ``test()`` after ``train()`` runs in the same processes on the same model.
    """

    name = "fabric"
    calls_training_starts = True  # before the first iteration (mmhooks.runner.startup_gc)

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        values = dict(runner._cfg_values)
        if values.get("optim_wrapper") is not None and not isinstance(values["optim_wrapper"], dict):
            values["optim_wrapper"] = runner.optim_wrapper  # a built wrapper tells its precision itself
        self.settings: FabricSettings = fabric_settings(values)  # config errors now, before any file is written
        self.fabric: Fabric | None = None
        self.module: Any = None  # the model as Fabric set it up (strategy wrapper, precision)
        self._step: FabricStep | None = None
        self._loaded = False  # MMEngine's _has_loaded: load_from / resume happen once per runner
        if not framework_verbose():
            quiet_fabric()

    # ------------------------------------------------------------------ processes
    @property
    def rank(self) -> int:
        return int(self.fabric.global_rank) if self.fabric is not None else 0

    @property
    def world_size(self) -> int:
        return int(self.fabric.world_size) if self.fabric is not None else 1

    def broadcast(self, value: Any, src: int = 0) -> Any:
        fabric = self.fabric
        if fabric is None or fabric.world_size == 1:
            return value
        return fabric.broadcast(value, src=src)

    def agree_on_stop(self, stop: bool) -> bool:
        """True on every rank when any rank asked to stop (the train loop asks where it checks the flag)."""
        fabric = self.fabric
        if fabric is None or fabric.world_size == 1:
            return stop
        return bool(fabric.strategy.reduce_boolean_decision(stop, all=False))

    def _start(self) -> Fabric:
        """Launch (once), agree on the run's identity and seed, set up the model (files come once objects are built)."""
        runner = self.runner
        fabric = self.fabric
        if fabric is None:
            self.settings.apply_torch_flags()
            fabric = self.fabric = Fabric(**self.settings.kwargs)
            fabric.launch()
        runner.agree_on_identity()
        runner.sync_seed(self.broadcast)
        if self.module is None:
            self.module = fabric.setup_module(runner.model)
        return fabric

    # ------------------------------------------------------------------ running
    def train(self) -> Any:
        """MMEngine's ``Runner.train``: objects, ``before_run``, weights, load or resume, the loop, ``after_run``."""
        runner = self.runner
        resume_path = resolve_resume(runner.context.resume, runner.load_from, runner.work_dir)
        checkpoint = None
        if resume_path is not None and not self._loaded:
            checkpoint = load_checkpoint_file(resume_path, map_location="cpu")
            check_resumable(checkpoint, resume_path)  # before anything is written
        fabric = self._start()
        runner.build_train_objects()
        runner.build_eval_objects("val")
        loop = runner.train_loop
        if not runner.by_epoch and hasattr(runner.train_dataloader, "__len__"):
            loop.prepare()  # MMEngine builds the loop's iterator before before_run (it draws from torch's generator)
        runner.start_run_files()  # after building: a run that cannot build its objects writes nothing
        runner.visualizer  # a bad visualizer or log processor config fails now, not at the first log line
        runner.log_processor
        runner.call_hook("before_run")
        runner.init_model_weights()
        self._sync_initialised_weights()
        if checkpoint is not None and resume_path is not None:
            self._loaded = True
            runner.context.resumed_from = resume_path
            resume_from_checkpoint(runner, checkpoint, resume_path)
            runner.log_resume_start(checkpoint)
            runner.log_resumed()
            del checkpoint
        else:
            self._load_from()
        step = self._step = FabricStep(fabric, self.module, runner)
        step.attach(runner.optim_wrapper)
        runner.optim_wrapper.initialize_count_status(runner.model, runner.iter, runner.max_iters)
        loop.train_step_fn = step.train_step_fn()
        training_starts()  # start-up is over (Runner.train paused the collector)
        try:
            loop.run()
        finally:
            loop.train_step_fn = None
            step.detach(runner.optim_wrapper)
            self._step = None
        runner.call_hook("after_run")
        return runner.model

    def evaluate(self, stage: str) -> dict[str, Any]:
        """MMEngine's ``Runner.val`` / ``test``: ``before_run``, ``load_from`` (once), the loop, ``after_run``."""
        runner = self.runner
        self._start()
        runner.build_eval_objects(stage)
        runner.start_run_files()
        loop = runner.val_loop if stage == "val" else runner.test_loop
        runner.visualizer
        runner.call_hook("before_run")
        self._load_from()
        metrics: dict[str, Any] = loop.run()
        runner.call_hook("after_run")
        return metrics

    def _load_from(self) -> None:
        runner = self.runner
        if self._loaded or not runner.load_from or runner._resume:
            return
        self._loaded = True
        runner.load_checkpoint(runner.load_from)

    def _sync_initialised_weights(self) -> None:
        """MMEngine broadcasts rank zero's weights after ``init_weights``, so every replica starts equal."""
        if self.world_size == 1 or not torch.distributed.is_initialized():
            return
        for tensor in unwrap_model(self.runner.model).state_dict().values():
            torch.distributed.broadcast(tensor, 0)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path: str, meta: dict[str, Any], save_optimizer: bool,
                        save_param_scheduler: bool) -> None:
        """MMEngine's master-only ``save_checkpoint``: rank zero builds the dict, hooks add theirs, one atomic write."""
        if self.rank != 0:
            return
        runner = self.runner
        checkpoint = mmengine_checkpoint(runner, unwrap_model(runner.model).state_dict(), meta=meta,
                                         save_optimizer=save_optimizer, save_param_scheduler=save_param_scheduler)
        states = hook_states(runner.hooks)
        if states:
            checkpoint[HOOK_STATES_KEY] = states
        runner.call_hook("before_save_checkpoint", checkpoint=checkpoint)
        atomic_save(checkpoint, path)
