"""MMCV 1.x ``EpochBasedRunner`` / ``IterBasedRunner`` with MMCV's API, training on the Lightning Trainer.

The migration guide's MMCV snippet runs with only its import changed::

    from mmhooks.legacy import EpochBasedRunner      # was: from mmcv.runner import EpochBasedRunner
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logger, max_epochs=4)
    runner.register_training_hooks(lr_config=..., optimizer_config=..., checkpoint_config=..., log_config=...)
    runner.run([train_loader], [('train', 1)])

How the parts map (spec mmcv_legacy §1-§4):

=======================================  =============================================================
MMCV                                     mmhooks on Lightning
=======================================  =============================================================
runner loop, counters (§4)               ``HookCallback`` (MMEngine counters) + ``LegacyRunnerView``
                                         (MMCV counters); hooks receive the view
``model.train_step(batch, optimizer)``   called in ``training_step`` under manual optimization
``OptimizerHook`` (backward, clip, step) done after ``train_step`` through Lightning's ``manual_backward``
                                         and optimizer step (precision plugin, strategy); clipping after
                                         unscaling; ``grad_norm`` goes to ``log_buffer``
``GradientCumulativeOptimizerHook``      MMCV's windows on the global iteration, remainder rule kept
``Fp16OptimizerHook`` / ``loss_scale``   ``precision='16-mixed'``; a float scale stays static
``lr_config`` / ``momentum_config``      MMCV's formulas (:mod:`mmhooks.legacy.lr_updater`)
``checkpoint_config``                    :class:`~mmhooks.legacy.LegacyCheckpointHook`: ``epoch_{n}.pth`` / ``iter_{n}.pth``
                                         + ``latest.pth``, MMCV's ``meta`` counters; no ``last_checkpoint``
``log_config`` Text/Tensorboard hooks    MMCV's own (:mod:`mmhooks.legacy.logger_hooks`): console lines,
                                         ``{timestamp}.log.json``, ``tf_logs``; other backends (Wandb...)
                                         become visualizer backends of an mmhooks ``LoggerHook``
``timer_config``                         MMCV's ``IterTimerHook`` (``time`` / ``data_time`` in ``log_buffer``)
``custom_hooks_config`` ``EMAHook``      :class:`~mmhooks.legacy.LegacyEMAHook` (MMCV's buffers, warm-up and swaps)
``evaluation`` (downstream EvalHook)     :class:`~mmhooks.legacy.LegacyEvalHook` via :meth:`register_eval_hook`
workflow ``[('train', n), ('val', 1)]``  Lightning validation after every n-th and the last epoch;
                                         IterBasedRunner ``('val', m)``: m val iterations per phase from
                                         an endless val loader (MMCV's IterLoader)
=======================================  =============================================================

MMEngine parity:
    Not MMCV's: the optimizer step happens before every ``after_train_iter`` hook (MMCV: inside
    ``OptimizerHook.after_train_iter``, priority ABOVE_NORMAL), so only hooks with a priority below 40
    that read gradients there see a difference. ``max_epochs`` / ``max_iters`` are known from ``before_run``
    on, as MMCV's ``run()`` sets them first. An ``iter_{n}.pth`` resumes at iteration ``n`` (MMCV repeats
    one iteration). Resuming needs a checkpoint written by mmhooks. Checked against recordings of MMCV
    1.7.2 runs: ``tests/legacy/golden``.
"""

from __future__ import annotations

import importlib
import logging
import os
import os.path as osp
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch

from mmhooks.errors import ConfigError, MMHooksTranslationWarning, closest
from mmhooks.legacy.hook import GENERIC_FALLBACK, is_legacy_hook
from mmhooks.legacy.mmcv_runner_view import _MMCVRunnerView
from mmhooks.legacy.optimizer_hook import OptimizerSettings
from mmhooks.legacy.phase_loader import PhaseLoader
from mmhooks.legacy.runner_view import _VIEW_ATTR, LegacyHookAdapter
from mmhooks.legacy.training_hooks import TrainingHooksMixin
from mmhooks.runner.hook_list import HookList
from mmhooks.runner.priority import get_priority

__all__ = ["BaseLegacyRunner", "EpochBasedRunner", "IterBasedRunner"]

_WORKFLOW_PHASES = ("train", "val")


class BaseLegacyRunner(TrainingHooksMixin):
    """MMCV 1.x runner API (``BaseRunner``) over Lightning; use :class:`EpochBasedRunner` or :class:`IterBasedRunner`.

    Args:
        model: An ``nn.Module`` with MMCV's ``train_step(data_batch, optimizer, **kwargs)`` returning
            ``dict(loss=..., log_vars=..., num_samples=...)`` (and ``val_step`` for val workflows).
        batch_processor: MMCV's deprecated ``batch_processor(model, data, train_mode)`` instead of ``train_step``.
        optimizer: A ``torch.optim.Optimizer``, a dict of them (name -> optimizer), or ``None``.
        work_dir: Where checkpoints and logs go (created).
        logger: A ``logging.Logger``; one named ``mmhooks.legacy`` when ``None``.
        meta: Saved into every checkpoint's ``meta``.
        max_iters: Iteration budget (IterBasedRunner).
        max_epochs: Epoch budget (EpochBasedRunner).
        trainer: Extra ``lightning.Trainer`` arguments (``accelerator``, ``devices``, ``precision``...);
            they win over the ones the runner derives.
    """

    by_epoch = True

    def __init__(
        self,
        model: torch.nn.Module,
        batch_processor: Callable[..., Any] | None = None,
        optimizer: Any = None,
        work_dir: str | None = None,
        logger: logging.Logger | None = None,
        meta: dict[str, Any] | None = None,
        max_iters: int | None = None,
        max_epochs: int | None = None,
        trainer: Mapping[str, Any] | None = None,
    ) -> None:
        where = type(self).__name__
        if batch_processor is None and not callable(getattr(model, "train_step", None)):
            raise ConfigError("model", type(model).__name__, "a module with train_step(data_batch, optimizer) or "
                              "a batch_processor", "add MMCV's train_step to the model.", where)
        if optimizer is not None and not _is_optimizer(optimizer):
            raise ConfigError("optimizer", type(optimizer).__name__, "a torch.optim.Optimizer, a dict of them, "
                              "or None", "build the optimizer first (torch.optim.SGD(model.parameters(), ...)).",
                              where)
        if logger is not None and not isinstance(logger, logging.Logger):
            raise ConfigError("logger", type(logger).__name__, "a logging.Logger",
                              "pass logging.getLogger(...) or None.", where)
        if meta is not None and not isinstance(meta, dict):
            raise ConfigError("meta", type(meta).__name__, "a dict or None", "pass meta=dict(...).", where)
        if max_epochs is not None and max_iters is not None:
            raise ConfigError("max_epochs", max_epochs, "only one of max_epochs and max_iters",
                              "pass max_epochs (EpochBasedRunner) or max_iters (IterBasedRunner).", where)
        self.model = model
        self.batch_processor = batch_processor
        self.optimizer = optimizer
        self.work_dir = osp.abspath(work_dir) if isinstance(work_dir, str) else None
        if self.work_dir is not None:
            os.makedirs(self.work_dir, exist_ok=True)
        self.logger = logger if logger is not None else logging.getLogger("mmhooks.legacy")
        self.meta: dict[str, Any] = meta if meta is not None else {}
        self.meta_given = meta is not None  # MMCV's TextLoggerHook writes meta first only when there is one
        self.timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        self.mode: str | None = None
        self._epoch = 0
        self._iter = 0
        self._inner_iter = 0
        self._max_epochs = max_epochs
        self._max_iters = max_iters
        self.trainer_args: dict[str, Any] = dict(trainer or {})
        self.optimizer_settings: OptimizerSettings | None = None
        self.log_processor_cfg: dict[str, Any] | None = None
        self.vis_backends: list[dict[str, Any]] = []
        self._hook_list = HookList()
        self._resume_from: str | None = None
        self._view: _MMCVRunnerView | None = None
        self.trainer: Any = None

    # ------------------------------------------------------------------ counters
    @property
    def model_name(self) -> str:
        return type(getattr(self.model, "module", self.model)).__name__

    @property
    def hooks(self) -> list[Any]:
        """The registered hooks in order, MMCV hooks unwrapped from their adapters."""
        return [getattr(h, "legacy_hook", h) for h in self._hook_list]

    _hooks = hooks

    @property
    def epoch(self) -> int:
        return self._view.epoch if self._view is not None else self._epoch

    @property
    def iter(self) -> int:
        return self._view.iter if self._view is not None else self._iter

    @property
    def inner_iter(self) -> int:
        return self._view.inner_iter if self._view is not None else self._inner_iter

    @property
    def max_epochs(self) -> int | None:
        return self._max_epochs

    @property
    def max_iters(self) -> int | None:
        return self._max_iters

    @property
    def rank(self) -> int:
        return int(self.trainer.global_rank) if self.trainer is not None else _dist_info()[0]

    @property
    def world_size(self) -> int:
        return int(self.trainer.world_size) if self.trainer is not None else _dist_info()[1]

    @property
    def log_buffer(self) -> Any:
        return self._view.log_buffer if self._view is not None else None

    def current_lr(self) -> list[float] | dict[str, list[float]]:
        """``lr`` of every param group (a dict name -> list for a dict of optimizers)."""
        return _per_group(self.optimizer, lambda g: float(g["lr"]), "current_lr")

    def current_momentum(self) -> list[float] | dict[str, list[float]]:
        """``momentum``, else ``betas[0]``, else 0 of every param group."""
        def value(group: Mapping[str, Any]) -> float:
            if "momentum" in group:
                return float(group["momentum"])
            return float(group["betas"][0]) if "betas" in group else 0.0

        return _per_group(self.optimizer, value, "current_momentum")

    # ------------------------------------------------------------------- hooks
    def register_hook(self, hook: Any, priority: Any = "NORMAL") -> None:
        """Insert ``hook`` after every hook of lower or equal priority (MMCV's stable rule).

        MMCV-style hooks are wrapped in a :class:`~mmhooks.legacy.LegacyHookAdapter` with this runner's
        epoch/iteration semantics; mmhooks (MMEngine-style) hooks are registered as they are.
        """
        try:
            get_priority(getattr(priority, "value", priority))
        except (KeyError, ValueError, TypeError):
            raise ConfigError("priority", priority, "an int in [0, 100] or a Priority name",
                              "use e.g. priority='NORMAL'.", "register_hook") from None
        priority = getattr(priority, "value", priority)
        if is_legacy_hook(hook):
            try:
                hook.priority = priority
            except AttributeError:
                pass
            self._hook_list.register(LegacyHookAdapter(hook, priority=priority, by_epoch=self.by_epoch), priority)
        else:
            self._hook_list.register(hook, priority)

    def call_hook(self, fn_name: str) -> None:
        """Call ``fn_name(runner)`` on every MMCV-style hook (MMCV's ``call_hook``)."""
        view = self._view
        for hook in self._hook_list:
            legacy = getattr(hook, "legacy_hook", None)
            if legacy is None:
                continue
            method = getattr(legacy, fn_name, None) or getattr(legacy, GENERIC_FALLBACK.get(fn_name, ""), None)
            if method is not None:
                method(view if view is not None else self)

    def get_hook_info(self) -> str:
        return self._hook_list.info()

    # ------------------------------------------------------------------ steps
    def train_step(self, data_batch: Any, **kwargs: Any) -> dict[str, Any]:
        """MMCV's ``run_iter`` in train mode: ``train_step`` (or ``batch_processor``) returning a dict."""
        if self.batch_processor is not None:
            outputs = self.batch_processor(self.model, data_batch, train_mode=True, **kwargs)
        else:  # train_step / val_step are MMCV's API, unknown to nn.Module's type
            outputs = cast(Any, self.model).train_step(data_batch, self.optimizer, **kwargs)
        return _check_outputs(outputs, "train_step")

    def val_step(self, data_batch: Any, **kwargs: Any) -> dict[str, Any]:
        if self.batch_processor is not None:
            outputs = self.batch_processor(self.model, data_batch, train_mode=False, **kwargs)
        elif self.by_epoch:
            outputs = cast(Any, self.model).val_step(data_batch, self.optimizer, **kwargs)
        else:  # IterBasedRunner passes no optimizer
            outputs = cast(Any, self.model).val_step(data_batch, **kwargs)
        return _check_outputs(outputs, "val_step")

    # ------------------------------------------------------------- checkpoints
    def save_checkpoint(
        self,
        out_dir: str,
        filename_tmpl: str | None = None,
        save_optimizer: bool = True,
        meta: dict[str, Any] | None = None,
        create_symlink: bool = True,
    ) -> None:
        """Write ``out_dir/filename_tmpl.format(n)`` with MMCV's ``meta`` (``epoch``, ``iter``) and ``latest.pth``.

        During :meth:`run` the file also carries Lightning's loop state, so :meth:`resume` continues the
        fit exactly; outside a run it holds ``meta``, ``state_dict`` and ``optimizer`` only.
        """
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            raise ConfigError("meta", type(meta).__name__, "a dict or None", "pass meta=dict(...).", "save_checkpoint")
        template = filename_tmpl or ("epoch_{}.pth" if self.by_epoch else "iter_{}.pth")
        meta = {**meta, **self.meta, "epoch": self.epoch + 1, "iter": self.iter}
        filename = template.format(self.epoch + 1 if self.by_epoch else self.iter + 1)
        path = osp.join(out_dir, filename)
        os.makedirs(out_dir, exist_ok=True)
        facade = getattr(self._view, "runner", None) if self._view is not None else None
        if facade is not None and getattr(facade, "trainer", None) is not None:
            facade.save_checkpoint(out_dir, filename, save_optimizer=save_optimizer, meta=meta,
                                   by_epoch=self.by_epoch)
        elif self.rank == 0:
            self._save_plain(path, meta, save_optimizer)
        if create_symlink and self.rank == 0:
            latest = osp.join(out_dir, "latest.pth")
            if osp.lexists(latest):
                os.remove(latest)
            try:
                os.symlink(filename, latest)
            except OSError:  # no symlinks (Windows without rights): copy, as MMCV does
                import shutil

                shutil.copy(path, latest)

    def _save_plain(self, path: str, meta: dict[str, Any], save_optimizer: bool) -> None:
        from mmhooks.runner.checkpoint import atomic_save, get_state_dict, weights_to_cpu

        import mmhooks

        checkpoint: dict[str, Any] = {
            "meta": {**meta, "mmhooks_version": mmhooks.__version__, "time": time.asctime()},
            "state_dict": weights_to_cpu(get_state_dict(self.model)),
        }
        if save_optimizer and self.optimizer is not None:
            if isinstance(self.optimizer, Mapping):
                checkpoint["optimizer"] = {k: v.state_dict() for k, v in self.optimizer.items()}
            else:
                checkpoint["optimizer"] = self.optimizer.state_dict()
        atomic_save(checkpoint, path)

    def load_checkpoint(
        self, filename: str, map_location: Any = "cpu", strict: bool = False,
        revise_keys: Sequence[tuple[str, str]] = ((r"^module\.", ""),),
    ) -> dict[str, Any]:
        """Load the weights of ``filename`` into the model (MMCV's ``load_from``); returns the checkpoint."""
        from mmhooks.runner.checkpoint import load_checkpoint_file, load_state_dict

        import re

        checkpoint: dict[str, Any] = load_checkpoint_file(filename, map_location=map_location)
        state_dict = checkpoint.get("state_dict", checkpoint)
        for pattern, replacement in revise_keys:
            state_dict = {re.sub(pattern, replacement, k): v for k, v in state_dict.items()}
        load_state_dict(getattr(self.model, "module", self.model), state_dict, strict=strict, logger=self.logger)
        return checkpoint

    def resume(self, checkpoint: str, resume_optimizer: bool = True, map_location: Any = "default") -> None:
        """Continue a run from a checkpoint an mmhooks legacy run wrote: weights, optimizer, loops, ``meta``.

        Raises:
            ConfigError: the file has no Lightning loop state (e.g. a checkpoint of MMCV itself); use
                :meth:`load_checkpoint` for its weights.
        """
        from mmhooks.runner.checkpoint import load_checkpoint_file

        loaded = load_checkpoint_file(checkpoint, map_location="cpu")
        if "loops" not in loaded:
            raise ConfigError("resume", checkpoint, "a checkpoint written by an mmhooks legacy runner (it carries "
                              "Lightning's loop state)", "use runner.load_checkpoint(path) to start from its "
                              "weights.")
        if not resume_optimizer:
            warnings.warn("resume.resume_optimizer: False is not supported on Lightning; the optimizer state "
                          "is restored.", MMHooksTranslationWarning, stacklevel=2)
        saved_meta = loaded.get("meta", {})
        self._epoch = int(saved_meta.get("epoch", 0))
        self._iter = int(saved_meta.get("iter", 0))
        self.meta.setdefault("hook_msgs", {}).update(saved_meta.get("hook_msgs", {}))
        self._resume_from = checkpoint
        self.logger.info(f"resumed epoch {self._epoch}, iter {self._iter}")

    # --------------------------------------------------------------------- run
    def _check_workflow(self, data_loaders: Sequence[Any], workflow: Sequence[Any]) -> tuple[Any, Any, int, int]:
        """The train loader, the val loader (or None), the train count and the val count."""
        if not isinstance(data_loaders, (list, tuple)):
            raise ConfigError("data_loaders", type(data_loaders).__name__, "a list with one loader per workflow "
                              "entry", "pass [train_loader] or [train_loader, val_loader].", "run")
        if not isinstance(workflow, (list, tuple)) or not workflow:
            raise ConfigError("workflow", workflow, "a list of (phase, count) pairs", "use [('train', 1)].", "run")
        if len(data_loaders) != len(workflow):
            raise ConfigError("data_loaders", f"{len(data_loaders)} loaders", f"{len(workflow)} (one per workflow "
                              "entry)", "pass one loader per workflow entry.", "run")
        phases = []
        for i, entry in enumerate(workflow):
            ok = isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[1], int) and entry[1] > 0
            phase = entry[0] if isinstance(entry, (list, tuple)) and entry else entry
            if phase not in _WORKFLOW_PHASES:
                near = closest(phase, _WORKFLOW_PHASES) if isinstance(phase, str) else None
                raise ConfigError(f"workflow[{i}]", entry, "a ('train', n) or ('val', n) pair",
                                  f"did you mean {near!r}?" if near else "use only 'train' and 'val' phases.")
            if not ok:
                raise ConfigError(f"workflow[{i}]", entry, "a (phase, count) pair with count >= 1",
                                  f"write ({phase!r}, 1).")
            phases.append(phase)
        if phases == ["train"]:
            return data_loaders[0], None, int(workflow[0][1]), 0
        if phases == ["train", "val"] and (workflow[1][1] == 1 or not self.by_epoch):
            return data_loaders[0], data_loaders[1], int(workflow[0][1]), int(workflow[1][1])
        raise ConfigError("workflow", [tuple(w) for w in workflow], "[('train', n)] or [('train', n), ('val', 1)] "
                          "on Lightning (IterBasedRunner: [('train', n), ('val', m)])",
                          "validate once after every n training phases.")

    def run(self, data_loaders: Sequence[Any], workflow: Sequence[Any], max_epochs: int | None = None,
            **kwargs: Any) -> None:
        """Train on a ``lightning.Trainer`` following ``workflow`` (``[('train', n)]`` or with ``('val', 1)``).

        Raises:
            ConfigError: a workflow phase other than train/val, a loader count that does not match the workflow,
                a missing ``max_epochs`` / ``max_iters``.
        """
        raise NotImplementedError

    def _fit(self, train_loader: Any, val_loader: Any, train_count: int, step_kwargs: Mapping[str, Any],
             val_count: int = 1) -> None:
        backend = importlib.import_module("mmhooks.adapters.lightning.legacy_module")
        if val_loader is not None and not self.by_epoch:
            val_loader = PhaseLoader(val_loader, val_count)  # MMCV: val_count iterations per val phase
        callback = self._build_callback(val_loader is not None, train_count)
        facade = callback.runner
        view = _MMCVRunnerView(facade, self.by_epoch, self, train_loader, val_loader)
        view._epoch, view._iter = self._epoch, self._iter
        view.workflow_counts = (train_count, val_count if val_loader is not None else 0)
        view.start_iter = self._iter
        setattr(facade, _VIEW_ATTR, view)
        self._view = view
        try:
            backend.fit_legacy_runner(self, callback, train_loader, val_loader, dict(step_kwargs))
        finally:
            # MMCV's values after the run: epoch = max_epochs (IterBasedRunner: passes before the last
            # batch fetch), iter = completed training iterations.
            self._iter = int(facade.iter)
            self._epoch = int(facade.epoch) if self.by_epoch else max(self._iter - 1, 0) // max(len(train_loader), 1)
            self._inner_iter = view.inner_iter
            self.mode = view.mode
            self._view = None
            _drop_empty_dir(getattr(facade, "log_dir", None))

    def _build_callback(self, has_val: bool, train_count: int) -> Any:
        """The Lightning callback that runs this runner's hooks, with MMCV's run length known at ``before_run``.

        MMCV's ``run()`` sets ``max_epochs`` / ``max_iters`` before ``before_run``; hooks that are not
        MMCV-style (the LR/momentum updaters, MMEngine hooks) read them from the callback's runner.
        """
        from mmhooks.adapters.lightning.hook_callback import HookCallback
        from mmhooks.optim import OptimWrapper, OptimWrapperDict

        optimizers = self.optimizer
        wrapper: Any = None
        if isinstance(optimizers, Mapping):
            wrapper = OptimWrapperDict(**{k: OptimWrapper(v) for k, v in optimizers.items()})
        elif optimizers is not None:
            wrapper = OptimWrapper(optimizers)
        info: dict[str, Any] = dict(by_epoch=self.by_epoch, timestamp=self.timestamp, optim_wrapper=wrapper,
                                    log_processor=self.log_processor_cfg)
        if self.vis_backends:
            info["visualizer"] = {"type": "Visualizer", "vis_backends": [{"type": "LocalVisBackend"},
                                                                         *self.vis_backends]}
        if self.by_epoch:
            info["max_epochs"] = self._max_epochs
        info["max_iters"] = self._max_iters  # known before before_run, as MMCV's run() computes it first
        if has_val:
            info.update(val_interval=train_count, val_begin=1)
        return HookCallback(list(self._hook_list), work_dir=self.work_dir, **info)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model_name}, work_dir={self.work_dir!r})"


class EpochBasedRunner(BaseLegacyRunner):
    """MMCV 1.x ``EpochBasedRunner``: ``run([train_loader(, val_loader)], [('train', n)(, ('val', 1))])``.

    Hooks see MMCV's counters (spec mmcv_legacy §4.1): ``iter`` counts completed training iterations,
    ``epoch`` is incremented after ``after_train_epoch``, validation phases see the incremented epoch.

    Example:
        >>> import torch
        >>> class Net(torch.nn.Linear):
        ...     def train_step(self, data, optimizer):
        ...         loss = self(data).pow(2).mean()
        ...         return dict(loss=loss, log_vars=dict(loss=float(loss)), num_samples=len(data))
        >>> net = Net(2, 1)
        >>> runner = EpochBasedRunner(net, optimizer=torch.optim.SGD(net.parameters(), lr=0.1), max_epochs=1)
        >>> runner.register_training_hooks(lr_config=dict(policy='step', step=[1]), optimizer_config=dict())
        >>> runner.run([torch.utils.data.DataLoader(torch.ones(4, 2), batch_size=2)], [('train', 1)])
        >>> runner.epoch, runner.iter
        (1, 2)
    """

    by_epoch = True

    def run(self, data_loaders: Sequence[Any], workflow: Sequence[Any], max_epochs: int | None = None,
            **kwargs: Any) -> None:
        if max_epochs is not None:
            warnings.warn("run.max_epochs: setting max_epochs in run() is deprecated in MMCV; pass it to the "
                          "runner's constructor.", DeprecationWarning, stacklevel=2)
            self._max_epochs = max_epochs
        if not isinstance(self._max_epochs, int) or self._max_epochs <= 0:
            raise ConfigError("max_epochs", self._max_epochs, "an int > 0", "pass max_epochs to the constructor.",
                              type(self).__name__)
        train_loader, val_loader, count, _ = self._check_workflow(data_loaders, workflow)
        self._max_iters = self._max_epochs * len(train_loader)
        work_dir = self.work_dir if self.work_dir is not None else "NONE"
        self.logger.info(f"Start running, work_dir: {work_dir}")
        self.logger.info(f"Hooks will be executed in the following order:\n{self.get_hook_info()}")
        self.logger.info(f"workflow: {list(workflow)}, max: {self._max_epochs} epochs")
        self._fit(train_loader, val_loader, count, kwargs)


class IterBasedRunner(BaseLegacyRunner):
    """MMCV 1.x ``IterBasedRunner``: ``run([train_loader(, val_loader)], [('train', n)(, ('val', 1))])``.

    Counters follow spec mmcv_legacy §4.2 and its errata: ``before_epoch`` / ``after_epoch`` run once,
    ``inner_iter`` is 0 in every training iteration, ``epoch`` lags one iteration behind the loader wrap.
    ``lr_config``, ``checkpoint_config`` and the loggers default to ``by_epoch=False``.
    """

    by_epoch = False

    def run(  # type: ignore[override]  # MMCV's IterBasedRunner.run names the third argument max_iters
        self, data_loaders: Sequence[Any], workflow: Sequence[Any], max_iters: int | None = None, **kwargs: Any
    ) -> None:
        if max_iters is not None:
            warnings.warn("run.max_iters: setting max_iters in run() is deprecated in MMCV; pass it to the "
                          "runner's constructor.", DeprecationWarning, stacklevel=2)
            self._max_iters = max_iters
        if not isinstance(self._max_iters, int) or self._max_iters <= 0:
            raise ConfigError("max_iters", self._max_iters, "an int > 0", "pass max_iters to the constructor.",
                              type(self).__name__)
        train_loader, val_loader, count, val_count = self._check_workflow(data_loaders, workflow)
        work_dir = self.work_dir if self.work_dir is not None else "NONE"
        self.logger.info(f"Start running, work_dir: {work_dir}")
        self.logger.info(f"Hooks will be executed in the following order:\n{self.get_hook_info()}")
        self.logger.info(f"workflow: {list(workflow)}, max: {self._max_iters} iters")
        self._fit(train_loader, val_loader, count, kwargs, val_count)


# ---------------------------------------------------------------------------------------------- helpers


def _is_optimizer(value: Any) -> bool:
    if isinstance(value, torch.optim.Optimizer):
        return True
    return isinstance(value, Mapping) and bool(value) and all(
        isinstance(v, torch.optim.Optimizer) for v in value.values())


def _per_group(
    optimizer: Any, read: Callable[[Mapping[str, Any]], float], where: str
) -> list[float] | dict[str, list[float]]:
    if optimizer is None:
        raise RuntimeError(f"{where}: got no optimizer; expected the runner to have one. Fix: pass optimizer= to "
                           "the runner.")
    if isinstance(optimizer, Mapping):
        return {name: [read(g) for g in opt.param_groups] for name, opt in optimizer.items()}
    return [read(g) for g in optimizer.param_groups]


def _drop_empty_dir(path: Any) -> None:
    """Remove the per-run log folder the Lightning side creates when nothing was written there (MMCV has none)."""
    if isinstance(path, str) and osp.isdir(path) and not os.listdir(path):
        try:
            os.rmdir(path)
        except OSError:
            pass


def _dist_info() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _check_outputs(outputs: Any, step: str) -> dict[str, Any]:
    if not isinstance(outputs, dict):
        raise TypeError(f"model.{step}: got {type(outputs).__name__}; expected a dict with loss, log_vars and "
                        f"num_samples. Fix: return dict(loss=loss, log_vars=log_vars, num_samples=n) from {step}.")
    return outputs
