"""``HookCallback``: MMEngine hooks, in MMEngine's order and with its counters, inside any Lightning Trainer.

Where Lightning's order differs from MMEngine's, MMEngine wins:

* ``after_train_epoch`` fires after the last batch of an epoch, *before*
  Lightning's end-of-epoch validation, and the epoch counter is incremented
  then, so validation hooks see the 1-based number of the finished epoch.
* ``runner.iter`` counts batches (``train_step`` calls), not optimizer steps.
* Nothing fires during Lightning's sanity check.
* An iteration-based run fires ``before_train_epoch``/``after_train_epoch``
  once, around the whole run, with ``batch_idx`` the global iteration.
* ``before_run`` precedes ``after_load_checkpoint`` (Lightning restores model
  weights before ``on_fit_start``; the hooks see the checkpoint afterwards and
  weights are re-loaded if a hook edited them, as EMAHook does).
* ``after_val_epoch`` receives the validation metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from mmhooks.adapters.lightning import _internals
from mmhooks.adapters.lightning.checkpoint_io import add_mmengine_fields
from mmhooks.adapters.lightning.logged_values import complete_logging, has_hook
from mmhooks.adapters.lightning.runner_facade import LightningRunner
from mmhooks.adapters.lightning.schedules import build_trainer_schedulers, check_not_compounded
from mmhooks.errors import ConfigError
from mmhooks.runner.base import RunnerBase
from mmhooks.runner.hook_list import HookList
from mmhooks.runner.resume import load_param_scheduler_states

__all__ = ["HookCallback"]


def _metric_value(value: Any) -> Any:
    """A tensor metric as a Python number (MMEngine hooks compare floats)."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "numel", lambda: 0)() == 1:
        return item()
    return value


class HookCallback(Callback):
    """Run MMEngine-style hooks (instances or config dicts) as one Lightning Callback.

    Args:
        hooks: Hooks or ``dict(type=..., priority=...)`` configs, run in MMEngine
            priority order (equal priorities keep the given order). From a
            LightningCLI YAML: ``{type: EMAHook, momentum: 0.001}`` or
            ``{class_path: mmhooks.hooks.EMAHook, init_args: {...}}``.
        work_dir: Where checkpoints and the run's ``{timestamp}/`` folder go; by
            default the first logger's ``log_dir`` (``trainer.log_dir``), or the
            Trainer's ``default_root_dir`` without a logger.
        cfg: The config shown in logs and saved in checkpoints.
        param_scheduler: MMEngine's ``param_scheduler`` config, built when training
            starts against the Trainer's optimizer(s) with its epoch length, and
            stepped by a ``ParamSchedulerHook`` (added if ``hooks`` has none).
        complete_logs: With a ``LoggerHook`` among the hooks, add what it needs to
            print MMEngine's full lines in a Lightning Trainer (see
            :mod:`~mmhooks.adapters.lightning.logged_values`): ``RuntimeInfoHook`` and
            ``IterTimerHook`` if missing, and the values logged with ``self.log``.
            ``False`` runs exactly ``hooks``.
        visualizer: A visualizer config (MMEngine's default: ``LocalVisBackend``;
            a ``TensorboardVisBackend`` is added when the Trainer logs to TensorBoard).
        log_processor: A ``LogProcessor`` config.
        runner: A :class:`~mmhooks.runner.Runner` (or other ``RunnerBase``) whose hooks and state
            this callback drives; then ``hooks`` and the other arguments are not given. Without
            it the callback makes a :class:`~mmhooks.adapters.lightning.runner_facade.LightningRunner`.
        runner_info: Further runner attributes (see
            :data:`~mmhooks.adapters.lightning.runner_facade.RUNNER_INFO_KEYS`).

    Raises:
        ConfigError: for a bad hook or ``param_scheduler`` config (before anything is
            written), and when training starts with MMEngine schedulers and a Lightning
            LR scheduler on the same parameter.

    State:
        ``hooks``: each hook's own ``state_dict()`` where it has one. MMEngine's
        ``message_hub`` and ``param_schedulers`` go in the checkpoint's own keys.

    Example:
        >>> from mmhooks.hooks import Hook
        >>> callback = HookCallback([Hook(), dict(type="EMAHook", priority="HIGH")])
        >>> [type(h).__name__ for h in callback.hooks]
        ['EMAHook', 'Hook']
        >>> [type(h).__name__ for h in HookCallback([dict(type="LoggerHook")]).hooks]
        ['LightningRuntimeInfoHook', 'LoggedMetricsHook', 'IterTimerHook', 'LoggerHook']
    """

    def __init__(
        self,
        hooks: Sequence[Any] = (),
        work_dir: str | None = None,
        cfg: Any = None,
        param_scheduler: dict[str, Any] | list[dict[str, Any]] | None = None,
        complete_logs: bool = True,
        visualizer: dict[str, Any] | None = None,
        log_processor: dict[str, Any] | None = None,
        runner: RunnerBase | None = None,
        **runner_info: Any,
    ) -> None:
        self._param_scheduler = param_scheduler
        if runner is not None:
            given = (list(hooks) or work_dir is not None or cfg is not None or param_scheduler is not None
                     or visualizer is not None or log_processor is not None or runner_info)
            if given:
                raise TypeError("HookCallback(runner=...): the runner brings its hooks, work_dir and config; "
                                "pass only runner.")
            self.runner: RunnerBase = runner
            self._hooks = runner.hook_list
            has_schedule = runner.context.schedule is not None
            # An explicit MMEngine validation schedule replaces Lightning's check_val_every_n_epoch.
            self._mmengine_val_schedule = has_schedule
            # Iteration-based: the callback ends the run (Lightning's max_steps counts optimizer steps).
            self._stop_at_max_iters = has_schedule and not runner.context.progress.by_epoch
        else:
            self._hooks = HookList(hooks, path="hooks")
            if param_scheduler is not None:
                self._add_param_scheduler(param_scheduler, runner_info)
            if complete_logs:
                complete_logging(self._hooks)
            self._mmengine_val_schedule = any(k in runner_info for k in ("val_interval", "val_begin",
                                                                         "train_schedule"))
            self._stop_at_max_iters = runner_info.get("max_iters") is not None
            if visualizer is not None:
                runner_info["visualizer"] = visualizer
            if log_processor is not None:
                runner_info["log_processor"] = log_processor
            self.runner = LightningRunner(self._hooks, work_dir=work_dir, cfg=cfg, **runner_info)
        self._stage: str | None = None
        self._ran_before_run = False
        self._pending_checkpoint: dict[str, Any] | None = None
        self._pending_scheduler_state: Any = None
        self._epoch_open = False
        self._last_batch_done = False  # the open epoch's last batch has run (its close is pending)
        self._resumed_loop: dict[str, Any] | None = None
        self._state_key_types: tuple[type, ...] | None = None
        self._state_key = ""

    def _add_param_scheduler(self, param_scheduler: Any, runner_info: Mapping[str, Any]) -> None:
        """Check the config now (nothing is written yet) and make sure a ParamSchedulerHook steps it."""
        from mmhooks.optim import check_param_scheduler_cfgs

        if runner_info.get("param_schedulers") is not None:
            raise ConfigError("param_scheduler", param_scheduler, "either param_scheduler (configs) or "
                              "param_schedulers (built schedulers), not both",
                              "keep one of the two.", "HookCallback")
        check_param_scheduler_cfgs(param_scheduler, path="HookCallback.param_scheduler")
        if not has_hook(self._hooks, "ParamSchedulerHook"):
            from mmhooks.hooks import ParamSchedulerHook

            self._hooks.register(ParamSchedulerHook())

    @property
    def progress(self) -> Any:
        """The run's counters (``runner.context.progress``): the one copy hooks and this callback move."""
        return self.runner.context.progress

    # ------------------------------------------------------------------ identity
    @property
    def hooks(self) -> list[Any]:
        return self._hooks.hooks

    @property
    def state_key(self) -> str:
        # Lightning reads this around every callback call; rebuild it only when the hooks change.
        hook_types = tuple(map(type, self._hooks.hooks))
        if hook_types != self._state_key_types:
            self._state_key_types = hook_types
            self._state_key = self._generate_state_key(hooks=[t.__name__ for t in hook_types])
        return self._state_key

    def state_dict(self) -> dict[str, Any]:
        states = {}
        for index, hook in enumerate(self.hooks):
            state_dict = getattr(hook, "state_dict", None)
            if callable(state_dict) and not hasattr(hook, "parameters"):
                states[f"{index}:{type(hook).__name__}"] = state_dict()
        progress = self.progress
        # A checkpoint taken inside the last after_train_iter of an epoch precedes after_train_epoch;
        # a resume from it must still close that epoch (and validate), as the interrupted run did.
        loop = {"epoch": progress.epoch, "iter": progress.iter, "epoch_open": self._epoch_open,
                "epoch_complete": self._epoch_open and self._last_batch_done}
        return {"hooks": states, "loop": loop}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resumed_loop = state_dict.get("loop")
        saved = state_dict.get("hooks", {})
        for index, hook in enumerate(self.hooks):
            key = f"{index}:{type(hook).__name__}"
            if key in saved and callable(getattr(hook, "load_state_dict", None)):
                hook.load_state_dict(saved[key])

    # ----------------------------------------------------------------- helpers
    def _call(self, stage: str, **kwargs: Any) -> None:
        self._hooks.call(stage, self.runner, **kwargs)

    def _begin_run(self, stage: str) -> None:
        self._ran_before_run = True
        runner = self.runner
        if stage == "fit" and isinstance(runner, LightningRunner):
            runner.update_limits()  # what is known before the dataloaders exist (MMEngine knows it at before_run)
        # A bad visualizer or log processor config fails now, not at the first logged iteration.
        runner.visualizer
        runner.log_processor
        self._call("before_run")
        if stage == "fit":
            # MMEngine: after before_run, before load_from, on resume too (its draws move torch's generator)
            runner.init_model_weights()
        if self._pending_checkpoint is not None:
            checkpoint, self._pending_checkpoint = self._pending_checkpoint, None
            log_resume_start = getattr(runner, "log_resume_start", None)
            if callable(log_resume_start):  # MMEngine's resume lines, after the initialisation table
                log_resume_start(checkpoint)
            self._apply_loaded_checkpoint(checkpoint, reload_weights=stage == "fit")
        elif runner.load_from and not runner._resume:  # MMEngine's load_from: weights only
            runner.load_checkpoint(runner.load_from)

    def _apply_loaded_checkpoint(self, checkpoint: dict[str, Any], reload_weights: bool = False) -> None:
        """MMEngine's resume steps that Lightning does not do: hooks, message hub, scheduler state.

        ``reload_weights``: the model was initialised after Lightning restored it; load the weights again.
        """
        runner, trainer = self.runner, self._trainer
        hooks_edit = bool(self._hooks.active("after_load_checkpoint"))
        if hooks_edit:
            self._call("after_load_checkpoint", checkpoint=checkpoint)
        if hooks_edit or reload_weights:
            # Hooks may have edited the weights (EMAHook swaps EMA and raw weights).
            if "state_dict" in checkpoint and trainer is not None:
                trainer.strategy.load_model_state_dict(
                    checkpoint, strict=bool(getattr(trainer.lightning_module, "strict_loading", True))
                )
        if runner._resume and "message_hub" in checkpoint:
            runner.message_hub.load_state_dict(checkpoint["message_hub"])
        if runner._resume and "param_schedulers" in checkpoint:
            self._pending_scheduler_state = checkpoint["param_schedulers"]

    def _load_pending_scheduler_state(self) -> None:
        """Restore the resumed scheduler state once schedulers exist (a hook may build them in before_train)."""
        state, schedulers = self._pending_scheduler_state, self.runner.param_schedulers
        if state is None or not schedulers:
            return
        self._pending_scheduler_state = None
        load_param_scheduler_states(schedulers, state)

    def _close_train_epoch(self) -> None:
        self._epoch_open = False
        self._last_batch_done = False
        self._call("after_train_epoch")
        self.progress.epoch += 1
        self._sync_stop()

    def _sync_stop(self) -> None:
        """Where MMEngine's loop looks at ``stop_training`` (epoch ends, iterations of an iteration-based run,
        after validation): a stop asked by a hook or by a Lightning callback stops the Trainer, on every rank.

        A hook that decides on one rank only cannot leave the others waiting.
        """
        trainer, progress = self._trainer, self.progress
        if trainer is None or trainer.state.fn != "fit":
            return
        stop = bool(progress.stop_training or trainer.should_stop)
        if trainer.world_size > 1:
            stop = bool(trainer.strategy.reduce_boolean_decision(stop, all=False))
        trainer.should_stop = progress.stop_training = stop

    # --------------------------------------------------------------- lifecycle
    _trainer: pl.Trainer | None = None
    _pl_module: pl.LightningModule | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._trainer, self._pl_module = trainer, pl_module
        runner = self.runner
        if isinstance(runner, LightningRunner):
            runner.bind(trainer, pl_module)
            runner.context.resume = False  # set by on_load_checkpoint when fit resumes (ckpt_path is unset here)
        self._stage = stage
        self._ran_before_run = False
        self._epoch_open = False
        self._pending_eval_checkpoint: dict[str, Any] | None = None
        self.progress.stop_training = False
        # validate/test: before_run comes when the loop starts, once the module's setup has built the loader and
        # evaluator (MMEngine builds its ValLoop/TestLoop before before_run).

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        if self._ran_before_run:
            self._apply_loaded_checkpoint(checkpoint)
        elif self._stage == "fit":  # weights are restored before on_fit_start; hooks see the checkpoint after before_run
            self.runner.context.resume = True
            self._pending_checkpoint = checkpoint
        else:  # a checkpoint given to validate/test: handed to the hooks after before_run
            self._pending_eval_checkpoint = checkpoint

    def _begin_eval_run(self, stage: str) -> None:
        if self._ran_before_run:
            return
        if isinstance(self.runner, LightningRunner):
            self.runner.share_dataset_meta("val" if stage == "validate" else "test")
        self._begin_run(stage)
        checkpoint, self._pending_eval_checkpoint = self._pending_eval_checkpoint, None
        if checkpoint is not None:
            self._apply_loaded_checkpoint(checkpoint)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._begin_run("fit")

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        runner, progress = self.runner, self.progress
        if isinstance(runner, LightningRunner):
            runner.update_limits()
            runner.share_dataset_meta("train", "val")
        progress.epoch = trainer.current_epoch if progress.by_epoch else 0
        progress.iter = _internals.batches_ready(trainer)
        if self._mmengine_val_schedule:
            _internals.install_val_policy(trainer, self._validation_due)
        if self._param_scheduler is not None:
            runner.param_schedulers = build_trainer_schedulers(
                self._param_scheduler, runner, keep_values=self._pending_scheduler_state is not None)
        self._load_pending_scheduler_state()
        self._call("before_train")
        self._load_pending_scheduler_state()  # schedulers a hook built in before_train
        check_not_compounded(runner.param_schedulers, trainer.lr_scheduler_configs)
        if not progress.by_epoch:
            self._call("before_train_epoch")
        resumed, self._resumed_loop = self._resumed_loop, None
        if progress.by_epoch and resumed and resumed.get("epoch_complete"):
            self._finish_interrupted_epoch(trainer, resumed)

    def _finish_interrupted_epoch(self, trainer: pl.Trainer, resumed: dict[str, Any]) -> None:
        """Close the epoch the checkpoint was taken at the end of, and run its validation if due."""
        self.progress.epoch = int(resumed["epoch"])  # runner.iter is already right (batches done)
        self._epoch_open = True
        self._close_train_epoch()
        if self._mmengine_val_schedule and self._validation_due():
            _internals.run_validation_now(trainer)

    def _validation_due(self) -> bool:
        """MMEngine's rule, checked after each batch (after the counters moved)."""
        if self.progress.by_epoch and self._epoch_open:  # mid-epoch: MMEngine validates only at epoch ends
            return False
        loop = self.runner._train_loop
        return bool(loop is not None and loop.validation_due())

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.progress.by_epoch:
            self._open_train_epoch(trainer)

    def _open_train_epoch(self, trainer: pl.Trainer) -> None:
        self.progress.epoch = trainer.current_epoch
        self._epoch_open = True
        self._call("before_train_epoch")

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        progress = self.progress
        if progress.by_epoch and not self._epoch_open:
            # Lightning resumes mid-epoch without on_train_epoch_start; MMEngine starts the epoch with it.
            self._open_train_epoch(trainer)
        index = batch_idx if progress.by_epoch else progress.iter
        self._call("before_train_iter", batch_idx=index, data_batch=batch)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        progress = self.progress
        index = batch_idx if progress.by_epoch else progress.iter
        if self._epoch_open and _internals.is_last_train_batch(trainer, batch_idx):
            self._last_batch_done = True  # a checkpoint saved by an after_train_iter hook records it
        if self._hooks.active("after_train_iter"):
            self._call("after_train_iter", batch_idx=index, data_batch=batch, outputs=self._train_outputs(outputs))
        progress.iter += 1
        if self._last_batch_done:
            self._close_train_epoch()
        elif not progress.by_epoch:
            if self._stop_at_max_iters and progress.iter >= progress.max_iters:
                trainer.should_stop = True
            elif progress.stop_training:
                self._sync_stop()

    def _train_outputs(self, outputs: Any) -> Any:
        """MMEngine passes ``train_step``'s log_vars; Lightning passes the step output with a scaled loss."""
        module = self._pl_module
        module_outputs = getattr(module, "mm_train_outputs", None)
        if module_outputs is not None:
            return module_outputs
        if not isinstance(outputs, Mapping):
            return {"loss": outputs} if outputs is not None else {}
        trainer = self._trainer
        accumulate = trainer.accumulate_grad_batches if trainer is not None else 1
        if accumulate > 1 and "loss" in outputs and getattr(module, "automatic_optimization", False):
            return {**outputs, "loss": outputs["loss"] * accumulate}  # undo Lightning's division
        return outputs

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._epoch_open:  # the epoch ended early (should_stop) without a last batch
            self._close_train_epoch()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.progress.by_epoch:
            self._call("after_train_epoch")
        self._call("after_train")

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self._ran_before_run:
            self._ran_before_run = False
            self._call("after_run")

    # -------------------------------------------------------------- validation
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if self._stage == "validate":
            self._begin_eval_run("validate")
        if self._epoch_open and trainer.should_stop:  # stopping mid-epoch: close the epoch first
            self._close_train_epoch()
        self._call("before_val")

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._call("before_val_epoch")

    def on_validation_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not trainer.sanity_checking:
            self._call("before_val_iter", batch_idx=batch_idx, data_batch=batch)

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not trainer.sanity_checking:
            self._call("after_val_iter", batch_idx=batch_idx, data_batch=batch, outputs=outputs)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self._call("after_val_epoch", metrics=self._eval_metrics(trainer, "val"))
        self._call("after_val")
        self._sync_stop()

    def _eval_metrics(self, trainer: pl.Trainer, stage: str) -> dict[str, Any]:
        module_metrics: dict[str, Any] | None = getattr(self._pl_module, f"mm_{stage}_metrics", None)
        if module_metrics is not None:
            return module_metrics
        return {key: _metric_value(value) for key, value in _internals.eval_loop_metrics(trainer).items()}

    # -------------------------------------------------------------------- test
    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._begin_eval_run("test")
        self._call("before_test")

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._call("before_test_epoch")

    def on_test_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._call("before_test_iter", batch_idx=batch_idx, data_batch=batch)

    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._call("after_test_iter", batch_idx=batch_idx, data_batch=batch, outputs=outputs)

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._call("after_test_epoch", metrics=self._eval_metrics(trainer, "test"))
        self._call("after_test")

    # -------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        session = self.runner.backend
        options = getattr(session, "pending_save", None) or dict(meta=None, save_optimizer=True,
                                                                 save_param_scheduler=True)
        add_mmengine_fields(self.runner, checkpoint, **options)
        if trainer.state.fn == "fit" and not self._epoch_open and _internals.epoch_batches_done(trainer):
            # Saved after the epoch's last batch and after_train_epoch: MMEngine resumes it at the next epoch.
            _internals.mark_epoch_finished(checkpoint, trainer.current_epoch + 1)
        if trainer.is_global_zero:  # MMEngine's save_checkpoint is master-only
            self._call("before_save_checkpoint", checkpoint=checkpoint)
