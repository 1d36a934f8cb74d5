"""The Lightning backend: a :class:`mmhooks.runner.Runner` carried out by a ``lightning.Trainer``.

The Runner owns the run (its context, hooks and built objects); this backend
maps the Runner's config onto Trainer arguments, drives the Runner's hooks
through one :class:`~mmhooks.adapters.lightning.HookCallback` that shares the
Runner's hook list, and lets Lightning's loops, strategies and precision
plugins execute.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import lightning.pytorch as pl

from mmhooks.adapters.lightning import _internals
from mmhooks.adapters.lightning.hook_callback import HookCallback
from mmhooks.adapters.lightning.iteration_loader import IterationEpochs
from mmhooks.adapters.lightning.loggers import lightning_loggers
from mmhooks.adapters.lightning.model_module import MMModelModule
from mmhooks.adapters.lightning.resume import skip_done_batches
from mmhooks.adapters.lightning.session import TrainerSession
from mmhooks.adapters.lightning.trainer_args import build_trainer_kwargs
from mmhooks.runner.backend import framework_verbose
from mmhooks.runner.checkpoint import load_checkpoint_file
from mmhooks.runner.resume import resolve_resume
from mmhooks.runner.startup_gc import training_starts

__all__ = ["LightningBackend", "resolve_resume"]

log = logging.getLogger(__name__)


def quiet_lightning() -> None:
    """Hide Lightning's start-up banners (accelerator, tips): noise next to MMEngine's log lines."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")  # Lightning vs torch 2.13


def _check_resumable(path: str) -> None:
    """Lightning resumes only files that carry its loop state; say so before the Trainer starts."""
    checkpoint = load_checkpoint_file(path, map_location="cpu")
    if "loops" not in checkpoint:
        from mmhooks.errors import ConfigError

        raise ConfigError(
            "resume", path, "a checkpoint written by mmhooks (it carries Lightning's loop state)",
            "use load_from=path to start from its weights, or resume from a checkpoint of an mmhooks run.",
        )


# mypy cannot follow setup.py's package_dir mapping (mmhooks.adapters -> adapters/), so the base may be Any.
class RunnerModule(MMModelModule):  # type: ignore[misc, unused-ignore]
    """MMModelModule whose dataloaders, optimizer wrapper and schedulers the Runner builds in ``setup``.

    ``setup`` runs on every rank after the process group exists, so samplers
    shard by rank and the seed is rank zero's.
    """

    def __init__(self, runner: Any) -> None:
        super().__init__(runner.model)
        self._runner = runner
        self.mm_runner = runner
        self._skipped_batches = False  # a resumed iteration-based run skipped batches; announced at train start

    def setup(self, stage: str) -> None:
        runner = self._runner
        runner.agree_on_identity()
        runner.sync_seed(runner.backend.broadcast)
        os.environ["PL_GLOBAL_SEED"] = str(runner.seed)  # Lightning seeds its worker processes from it
        if stage == "fit":
            runner.build_train_objects()
            if not runner.by_epoch and hasattr(runner.train_dataloader, "__len__"):
                runner.train_loop.prepare()  # MMEngine builds the loop's iterator before before_run
            runner.build_eval_objects("val")
            self.set_optim_wrapper(runner.optim_wrapper)
        else:
            runner.build_eval_objects("val" if stage == "validate" else "test")
        self.mm_val_evaluator = runner.val_evaluator
        self.mm_test_evaluator = runner.test_evaluator
        runner.start_run_files()  # after building: a run that cannot build its objects writes nothing

    def set_optim_wrapper(self, optim_wrapper: Any) -> None:
        """The Runner trains through the model's own ``train_step``, as MMEngine's loop calls it.

        ``MMModelModule`` in a user's Trainer runs a default ``train_step`` under
        Lightning's automatic optimization, so that ``Trainer(gradient_clip_val=...,
        accumulate_grad_batches=...)`` work. The Runner's Trainer takes neither
        (MMEngine's ``clip_grad`` and ``accumulative_counts`` live in the wrapper),
        so the closure, ``optimizer_step`` and ``zero_grad`` hooks of automatic
        optimization would only cost time (7% of a tiny model's iteration) and
        skip a ``train_step`` patched on the model instance.
        """
        super().set_optim_wrapper(optim_wrapper)
        self.automatic_optimization = False

    def on_train_start(self) -> None:
        super().on_train_start()
        runner = self._runner
        runner.log_resumed()  # the callback has restored the counters by now
        training_starts()  # start-up is over (Runner.train paused the collector)
        if self._skipped_batches:  # after before_train_epoch, where MMEngine's loop says it
            runner.train_loop.announce_skip()
            self._skipped_batches = False

    def train_dataloader(self) -> Any:
        runner = self._runner
        loader = runner.train_dataloader
        loop = runner.train_loop
        if getattr(loop, "dataloader_iterator", None) is not None:  # iteration-based: one iterator for the run
            if self.trainer.ckpt_path is not None:
                runner.context.progress.iter = _internals.batches_ready(self.trainer)
                loop.skip_trained_batches(announce=False)
                self._skipped_batches = runner.iter > 0
            return IterationEpochs(loader, loop.dataloader_iterator)
        length = len(loader) if hasattr(loader, "__len__") else 0
        return skip_done_batches(loader, _internals.batches_done_in_resumed_epoch(self.trainer, length))

    def val_dataloader(self) -> Any:
        return self._runner.val_dataloader if self._runner.val_evaluator is not None else []

    def test_dataloader(self) -> Any:
        return self._runner.test_dataloader


class LightningBackend(TrainerSession):  # type: ignore[misc, unused-ignore]  # Any base, see RunnerModule
    """Runs one :class:`~mmhooks.runner.Runner` (``train``, ``val``, ``test``) on a ``lightning.Trainer``.

    One :class:`HookCallback` serves every call, so the log file, message hub
    and hook states carry over from ``train()`` to a later ``test()``.
    """

    name = "lightning"
    calls_training_starts = True  # before the first iteration (mmhooks.runner.startup_gc)

    def __init__(self, runner: Any) -> None:
        super().__init__(None)
        self.runner = runner
        self.callback = HookCallback(runner=runner)
        if not framework_verbose():
            quiet_lightning()

    def _new_trainer(self) -> pl.Trainer:
        runner = self.runner
        values = dict(runner._cfg_values)
        values["work_dir"] = runner.work_dir
        if values.get("optim_wrapper") is not None and not isinstance(values["optim_wrapper"], dict):
            values["optim_wrapper"] = runner.optim_wrapper
        kwargs = build_trainer_kwargs(values, runner.context.schedule, self.callback)
        trackers = lightning_loggers(runner.visualizer)  # vis_backends that write through Lightning loggers
        if trackers:
            user = kwargs.get("logger")
            given = [] if user in (None, False) else list(user) if isinstance(user, (list, tuple)) else [user]
            kwargs["logger"] = [*given, *trackers]  # a user logger first: it sets trainer.log_dir
        trainer = pl.Trainer(**kwargs)
        self.trainer = runner.trainer = trainer
        return trainer

    def train(self) -> Any:
        runner = self.runner
        trainer = self._new_trainer()
        ckpt_path = resolve_resume(runner.context.resume, runner.load_from, runner.work_dir)
        if ckpt_path is not None:
            _check_resumable(ckpt_path)
            runner.context.resumed_from = ckpt_path  # its lines are logged when the checkpoint is applied
        trainer.fit(RunnerModule(runner), ckpt_path=ckpt_path)
        return runner.model

    def evaluate(self, stage: str) -> dict[str, Any]:
        trainer = self._new_trainer()
        module = RunnerModule(self.runner)
        run = trainer.validate if stage == "val" else trainer.test
        run(module, verbose=False)
        return dict(getattr(module, f"mm_{stage}_metrics") or {})
