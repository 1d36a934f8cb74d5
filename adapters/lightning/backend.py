"""Run a built :class:`mmhooks.runner.Runner` on a ``lightning.Trainer``."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import lightning.pytorch as pl

from mmhooks.adapters.lightning import _internals
from mmhooks.adapters.lightning.hook_callback import HookCallback
from mmhooks.adapters.lightning.model_module import MMModelModule
from mmhooks.adapters.lightning.resume import skip_done_batches
from mmhooks.adapters.lightning.trainer_kwargs import trainer_kwargs
from mmhooks.runner.checkpoint import find_latest_checkpoint, load_checkpoint_file

__all__ = ["LightningBackend", "resolve_resume"]

log = logging.getLogger(__name__)


def resolve_resume(resume: bool | str, load_from: str | None, work_dir: str) -> str | None:
    """The checkpoint a fit resumes from (MMEngine's ``load_or_resume`` rules), or None."""
    if not resume:
        return None
    if isinstance(resume, str):
        return resume
    if load_from:
        return load_from
    found = find_latest_checkpoint(work_dir)
    if found is None:
        warnings.warn(
            f"resume: got True but {work_dir}/last_checkpoint does not exist; training starts from scratch. "
            "Fix: pass resume='path/to/checkpoint.pth' to resume from a specific file.",
            stacklevel=3,
        )
    return found


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

    def __init__(self, runner: Any, callback: HookCallback) -> None:
        super().__init__(runner.model)
        self._runner = runner
        self._callback = callback
        self.mm_runner = callback.runner

    def setup(self, stage: str) -> None:
        runner, facade = self._runner, self._callback.runner
        runner.sync_seed(lambda value: self.trainer.strategy.broadcast(value, src=0))
        facade.seed = runner.seed
        if self.trainer.is_global_zero and not getattr(runner, "_run_files_written", False):
            _write_run_files(runner, self._callback)
        if stage == "fit":
            runner.build_train_objects()
            runner.build_eval_objects("val")
            self.set_optim_wrapper(runner.optim_wrapper)
            facade.optim_wrapper = runner.optim_wrapper
            facade.param_schedulers = runner.param_schedulers
        else:
            runner.build_eval_objects("val" if stage == "validate" else "test")
        self.mm_val_evaluator = facade.val_evaluator = runner.val_evaluator
        self.mm_test_evaluator = facade.test_evaluator = runner.test_evaluator

    def train_dataloader(self) -> Any:
        loader = self._runner.train_dataloader
        length = len(loader) if hasattr(loader, "__len__") else 0
        return skip_done_batches(loader, _internals.batches_done_in_resumed_epoch(self.trainer, length))

    def val_dataloader(self) -> Any:
        return self._runner.val_dataloader if self._runner.val_evaluator is not None else []

    def test_dataloader(self) -> Any:
        return self._runner.test_dataloader


def _write_run_files(runner: Any, callback: HookCallback) -> None:
    """What MMEngine's Runner writes when it is built: hook order in the log, the config and its dump."""
    runner._run_files_written = True
    facade = callback.runner
    facade.logger.info(f"Hooks will be executed in the following order:\n{callback._hooks.info()}")
    if runner._cfg_given:
        facade.visualizer.add_config(runner.cfg)
    runner.dump_config()


class LightningBackend:
    """Builds the HookCallback, the LightningModule and the Trainer for one Runner."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.callback: HookCallback | None = None

    def _callback(self) -> HookCallback:
        """One callback (one facade, log file and message hub) for every train/val/test of this Runner."""
        if self.callback is not None:
            return self.callback
        runner = self.runner
        schedule = runner.train_schedule
        values = runner._cfg_values
        info: dict[str, Any] = dict(
            experiment_name=runner._experiment_name,
            seed=runner.seed,
            timestamp=runner.timestamp,
            visualizer=values.get("visualizer"),
            log_processor=values.get("log_processor"),
            param_schedulers=runner.param_schedulers,
            optim_wrapper=runner.optim_wrapper if not isinstance(runner.optim_wrapper, dict) else None,
            launcher=runner.launcher,
            default_scope=runner.default_scope,
            log_level=values.get("log_level", "INFO"),
            val_evaluator=runner.val_evaluator,
            test_evaluator=runner.test_evaluator,
            deterministic=runner.deterministic,
            load_from=runner.load_from,
        )
        if schedule is not None:
            info.update(train_schedule=schedule, val_begin=schedule.val_begin, val_interval=schedule.val_interval)
            if schedule.by_epoch:
                info["max_epochs"] = schedule.max_epochs
            else:
                info["max_iters"] = schedule.max_iters
        self.callback = HookCallback(
            runner.hooks, work_dir=runner.work_dir, cfg=runner.cfg,
            by_epoch=schedule.by_epoch if schedule is not None else True, **info,
        )
        return self.callback

    def _trainer(self, callback: HookCallback) -> pl.Trainer:
        values = dict(self.runner._cfg_values)
        values["work_dir"] = self.runner.work_dir
        if values.get("optim_wrapper") is not None and not isinstance(values["optim_wrapper"], dict):
            values["optim_wrapper"] = self.runner.optim_wrapper
        trainer = pl.Trainer(**trainer_kwargs(values, hook_callback=callback))
        self.runner.trainer = trainer
        return trainer

    def fit(self) -> Any:
        runner = self.runner
        if runner.train_schedule is None:
            raise RuntimeError("Runner.train: no train_cfg. Fix: pass train_dataloader, train_cfg and optim_wrapper.")
        callback = self._callback()
        trainer = self._trainer(callback)
        ckpt_path = resolve_resume(runner._resume, runner.load_from, runner.work_dir)
        if ckpt_path is not None:
            _check_resumable(ckpt_path)
        trainer.fit(RunnerModule(runner, callback), ckpt_path=ckpt_path)
        return runner.model

    def evaluate(self, stage: str) -> dict[str, Any]:
        runner = self.runner
        callback = self._callback()
        trainer = self._trainer(callback)
        module = RunnerModule(runner, callback)
        run = trainer.validate if stage == "val" else trainer.test
        run(module, verbose=False)
        return dict(getattr(module, f"mm_{stage}_metrics") or {})
