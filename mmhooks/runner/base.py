"""``RunnerBase``: MMEngine's runner attributes over one :class:`~mmhooks.runner.context.RunContext`.

Every object a hook receives as ``runner`` derives from this class (the
config-driven :class:`~mmhooks.runner.Runner`, the runner a ``HookCallback``
makes inside a user's Trainer), so they share one implementation of the
:class:`~mmhooks.runner.protocol.RunnerLike` contract. State is read from the
context, never copied: ``runner.epoch`` is ``context.progress.epoch``,
``runner.train_loop.epoch`` too.

Services (logger, message hub, visualizer, log processor) are built on first
use. The logger opens the run's log file only then, so a Runner whose
configuration is rejected leaves ``work_dir`` untouched.
"""

from __future__ import annotations

import logging
import os.path as osp
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mmhooks import interop
from mmhooks.runner.context import RunContext
from mmhooks.runner.hook_list import HookList

__all__ = ["RunnerBase"]

_DEFAULT_REVISE_KEYS = ((r"^module\.", ""),)
_MMENGINE_LOOPS = "mmengine.runner.loops"


class RunnerBase:
    """MMEngine's runner surface (``RunnerLike``) over ``context``, with hooks in ``hooks``.

    Args:
        context: The run's identity, schedule, progress and built objects.
        hooks: The run's hook list (shared with whatever executes the run).
        visualizer: A visualizer config (``dict(type=..., vis_backends=[...])``), a built one, or ``None``
            for MMEngine's default (a ``LocalVisBackend`` under ``log_dir``).
        log_processor: A ``LogProcessor`` config or ``None``.
    """

    def __init__(self, context: RunContext, hooks: HookList | None = None, visualizer: Any = None,
                 log_processor: Any = None) -> None:
        self.context = context
        self._hooks = hooks if hooks is not None else HookList()
        self._visualizer_cfg = visualizer
        self._log_processor_cfg = log_processor
        self._services: dict[str, Any] = {}
        self._pending_log: Any = None  # lines logged before the log file exists (a MemoryHandler)
        # Names of this run's global instances; unique even when two runs share a timestamp and an id().
        self._instance_name = f"mmhooks-{uuid.uuid4().hex[:12]}"
        self._loops: dict[str, Any] = {}
        self.backend: Any = None

    # ------------------------------------------------------------------ identity
    @property
    def cfg(self) -> Any:
        return self.context.cfg

    @property
    def work_dir(self) -> str:
        return self.context.identity.work_dir

    @property
    def log_dir(self) -> str:
        return self.context.identity.log_dir

    @property
    def _log_dir(self) -> str:
        return self.log_dir

    @property
    def timestamp(self) -> str:
        return self.context.identity.timestamp

    @property
    def experiment_name(self) -> str:
        return self.context.identity.experiment_name

    @property
    def _experiment_name(self) -> str:
        return self.experiment_name

    @property
    def model_name(self) -> str:
        model = self.model
        return type(getattr(model, "module", model)).__name__

    @property
    def seed(self) -> Any:
        return self.context.identity.seed

    @property
    def deterministic(self) -> bool:
        return self.context.identity.deterministic

    @property
    def launcher(self) -> str:
        return self.context.identity.launcher

    @property
    def default_scope(self) -> str:
        return self.context.identity.default_scope

    @property
    def log_level(self) -> str | int:
        return self.context.identity.log_level

    @property
    def rank(self) -> int:
        backend = self.backend
        if backend is not None:
            return int(backend.rank)
        from mmhooks.dist import get_rank

        return get_rank()

    @property
    def world_size(self) -> int:
        backend = self.backend
        if backend is not None:
            return int(backend.world_size)
        from mmhooks.dist import get_world_size

        return get_world_size()

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def load_from(self) -> str | None:
        return self.context.load_from

    @property
    def _load_from(self) -> str | None:
        return self.context.load_from

    @property
    def _resume(self) -> bool:
        return bool(self.context.resume)

    @_resume.setter
    def _resume(self, value: bool) -> None:  # MMEngine's tests and some scripts set it
        self.context.resume = value

    # ------------------------------------------------------------------ progress
    @property
    def by_epoch(self) -> bool:
        return self.context.progress.by_epoch

    @property
    def epoch(self) -> int:
        return self.context.progress.epoch

    @property
    def iter(self) -> int:
        return self.context.progress.iter

    @property
    def max_epochs(self) -> int:
        return self.context.progress.max_epochs

    @property
    def max_iters(self) -> int:
        return self.context.progress.max_iters

    @property
    def val_begin(self) -> int:
        return self.context.progress.val_begin

    @property
    def val_interval(self) -> int:
        return self.context.progress.val_interval

    def agree_on_identity(self) -> None:
        """Take rank zero's timestamp and work_dir on every rank (one run, one set of paths)."""
        backend = self.backend
        if backend is None or self.world_size == 1:
            return
        identity = self.context.identity
        identity.timestamp, identity.work_dir = backend.broadcast((identity.timestamp, identity.work_dir))

    def request_stop(self, value: bool = True) -> None:
        """Ask training to stop where MMEngine's loop would next look (``train_loop.stop_training = True``)."""
        self.context.progress.stop_training = bool(value)

    def stop_requested(self) -> bool:
        return self.context.progress.stop_training

    # ------------------------------------------------------------- built objects
    @property
    def model(self) -> Any:
        return self.context.objects.model

    @model.setter
    def model(self, value: Any) -> None:  # PrepareTTAHook swaps the model
        self.context.objects.model = value

    @property
    def optim_wrapper(self) -> Any:
        return self.context.objects.optim_wrapper

    @optim_wrapper.setter
    def optim_wrapper(self, value: Any) -> None:
        self.context.objects.optim_wrapper = value

    @property
    def param_schedulers(self) -> Any:
        return self.context.objects.param_schedulers

    @param_schedulers.setter
    def param_schedulers(self, value: Any) -> None:
        self.context.objects.param_schedulers = value

    @property
    def train_dataloader(self) -> Any:
        return self.context.objects.train_dataloader

    @train_dataloader.setter
    def train_dataloader(self, value: Any) -> None:
        self.context.objects.train_dataloader = value

    @property
    def val_dataloader(self) -> Any:
        return self.context.objects.val_dataloader

    @val_dataloader.setter
    def val_dataloader(self, value: Any) -> None:
        self.context.objects.val_dataloader = value

    @property
    def test_dataloader(self) -> Any:
        return self.context.objects.test_dataloader

    @test_dataloader.setter
    def test_dataloader(self, value: Any) -> None:
        self.context.objects.test_dataloader = value

    @property
    def val_evaluator(self) -> Any:
        return self.context.objects.val_evaluator

    @val_evaluator.setter
    def val_evaluator(self, value: Any) -> None:
        self.context.objects.val_evaluator = value

    @property
    def test_evaluator(self) -> Any:
        return self.context.objects.test_evaluator

    @test_evaluator.setter
    def test_evaluator(self, value: Any) -> None:
        self.context.objects.test_evaluator = value

    # --------------------------------------------------------------------- loops
    def _has_stage(self, stage: str) -> bool:
        """Whether the run has a loop for ``stage`` (MMEngine: ``train_cfg`` / ``val_dataloader`` given)."""
        if stage == "train":
            return self.context.schedule is not None
        objects = self.context.objects
        return getattr(objects, f"{stage}_dataloader") is not None and \
            getattr(objects, f"{stage}_evaluator") is not None

    def _loop(self, stage: str) -> Any:
        loop = self._loops.get(stage)
        if loop is None:
            if not self._has_stage(stage):
                return None
            from mmhooks.runner import loops

            if stage == "train":
                cls: type = loops.EpochBasedTrainLoop if self.context.progress.by_epoch else loops.IterBasedTrainLoop
            else:
                cls = loops.ValLoop if stage == "val" else loops.TestLoop
            loop = self._loops[stage] = cls(self)
        if _MMENGINE_LOOPS in sys.modules and not hasattr(type(loop), "mmhooks_plain_class"):
            # MMEngine's loop classes exist, so code may test them: pass that isinstance check from now on.
            # Adopting only then keeps a run that never loads MMEngine's runner package from importing it.
            interop.adopt(loop)
        return loop

    @property
    def train_loop(self) -> Any:
        """MMEngine's ``EpochBasedTrainLoop`` or ``IterBasedTrainLoop`` of this run (its counters are the runner's)."""
        loop = self._loop("train")
        if loop is None:
            raise RuntimeError("runner.train_loop: this run has no training (train_cfg is None). "
                               "Fix: set train_dataloader, train_cfg and optim_wrapper.")
        return loop

    @property
    def _train_loop(self) -> Any:
        """The train loop, or ``None`` for a run without training (MMEngine's LoggerHook tests this)."""
        return self._loop("train")

    @property
    def val_loop(self) -> Any:
        return self._loop("val")

    @property
    def test_loop(self) -> Any:
        return self._loop("test")

    # ------------------------------------------------------------------ services
    def _service(self, name: str) -> Any:
        found = self._services.get(name)
        if found is None:
            found = self._services[name] = getattr(self, f"_build_{name}")()
        return found

    @property
    def logger(self) -> logging.Logger:
        """MMEngine's run logger: console, and ``{log_dir}/{timestamp}.log`` on rank zero (opened on first use)."""
        logger: logging.Logger = self._service("logger")
        return logger

    def _build_logger(self) -> logging.Logger:
        """The run's MMLogger, current from now on; its file opens when the run starts (:meth:`open_log_file`).

        Lines logged before (model and hook construction) are kept and written
        to the file first, so the file holds what MMEngine's does.
        """
        from logging.handlers import MemoryHandler

        from mmhooks.logging.logger import MMLogger

        logger = MMLogger.get_instance(f"{self._instance_name}-{self.experiment_name}", log_level=self.log_level)
        MMLogger._instance_dict.move_to_end(logger.instance_name)  # the current instance, for print_log('current')
        pending = MemoryHandler(capacity=1 << 20, flushLevel=logging.CRITICAL + 1, flushOnClose=False)
        pending.setLevel(logger.handlers[0].level if self.rank == 0 else logging.CRITICAL + 1)
        logger.handlers.append(pending)
        self._pending_log = pending
        interop.publish(logger=logger)
        return logger

    def open_log_file(self, logger: logging.Logger | None = None) -> list[logging.LogRecord]:
        """Start ``{log_dir}/{timestamp}.log`` (rank zero); return the lines logged before it existed.

        The caller writes them with :meth:`write_to_log_file` where they belong in the file.
        """
        logger = logger or self.logger
        pending = self._pending_log
        if pending is None:
            return []
        self._pending_log = None
        logger.handlers.remove(pending)
        records = list(pending.buffer)
        pending.buffer.clear()
        add_log_file = getattr(logger, "add_log_file", None)
        if callable(add_log_file):
            add_log_file(osp.join(self.log_dir, f"{self.timestamp}.log"))
        return records

    def write_to_log_file(self, records: Sequence[logging.LogRecord], logger: logging.Logger | None = None) -> None:
        """Write ``records`` to the log file only (the console showed them when they were logged)."""
        handlers = [h for h in (logger or self.logger).handlers if isinstance(h, logging.FileHandler)]
        for record in records:
            for handler in handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)  # applies the handler's filters

    @property
    def message_hub(self) -> Any:
        return self._service("message_hub")

    def _build_message_hub(self) -> Any:
        from mmhooks.logging import MessageHub

        hub = interop.adopt(MessageHub.get_instance(f"{self._instance_name}-{self.experiment_name}"))
        MessageHub._instance_dict.move_to_end(hub.instance_name)
        interop.publish(message_hub=hub)
        return hub

    @property
    def visualizer(self) -> Any:
        return self._service("visualizer")

    def _build_visualizer(self) -> Any:
        from mmhooks.registry import VISUALIZERS

        cfg = self._visualizer_cfg
        if cfg is not None and not isinstance(cfg, Mapping):
            visualizer = cfg
        else:
            cfg = dict(cfg) if cfg is not None else dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")])
            cfg.setdefault("type", "Visualizer")
            cfg.setdefault("name", f"{self._instance_name}-{self.experiment_name}")
            cfg.setdefault("save_dir", self.log_dir)
            if self.rank != 0:  # only rank zero writes files
                cfg["vis_backends"] = []
            visualizer = VISUALIZERS.build(cfg, path="visualizer")
        interop.adopt(visualizer)
        interop.publish(visualizer=visualizer)
        return visualizer

    @property
    def log_processor(self) -> Any:
        return self._service("log_processor")

    def _build_log_processor(self) -> Any:
        from mmhooks.registry import LOG_PROCESSORS

        cfg = self._log_processor_cfg
        if cfg is not None and not isinstance(cfg, Mapping):
            return cfg
        cfg = dict(cfg or {})
        cfg.setdefault("type", "LogProcessor")
        cfg.setdefault("by_epoch", self.by_epoch)
        return LOG_PROCESSORS.build(cfg, path="log_processor")

    def init_model_weights(self) -> None:
        """Initialise the model before training (the config-driven Runner calls ``model.init_weights()``)."""

    # --------------------------------------------------------------------- hooks
    @property
    def hooks(self) -> list[Any]:
        return self._hooks.hooks

    @property
    def hook_list(self) -> HookList:
        """The hook list itself (shared with the backend's callback, so ``register_hook`` is seen at once)."""
        return self._hooks

    def register_hook(self, hook: Any, priority: Any = None) -> None:
        """MMEngine's ``register_hook``: insert by priority (equal priorities keep registration order)."""
        self._hooks.register(hook, priority)

    def register_hooks(self, default_hooks: Any = None, custom_hooks: Sequence[Any] | None = None) -> None:
        """MMEngine's ``register_hooks``: the default set merged with ``default_hooks``, then ``custom_hooks``."""
        from mmhooks.errors import ConfigError, join_path
        from mmhooks.runner.hook_list import merge_default_hooks

        for name, hook in merge_default_hooks(default_hooks).items():
            self._hooks.register(hook, path=join_path("default_hooks", name))
        if custom_hooks is not None and not isinstance(custom_hooks, Sequence):
            raise ConfigError("custom_hooks", custom_hooks, "a list of hook configs or hooks",
                              "write custom_hooks=[dict(type='EMAHook')].")
        for index, hook in enumerate(custom_hooks or []):
            self._hooks.register(hook, path=f"custom_hooks[{index}]")

    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        """Call ``fn_name`` on every hook that implements it, in priority order."""
        self._hooks.call(fn_name, self, **kwargs)

    # --------------------------------------------------------------- checkpoints
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
        """Write an MMEngine-format checkpoint ``out_dir/filename`` (every rank calls it; rank zero writes).

        ``meta`` gets MMEngine's ``epoch``/``iter``: after ``after_train_epoch``
        the counters already count the finished epoch (``by_epoch``), after an
        iteration ``iter + 1``.
        """
        if self.backend is None:
            raise RuntimeError("runner.save_checkpoint: no run is in progress. Fix: call it from a hook, or "
                               "after runner.train() use mmhooks.runner.checkpoint.save_checkpoint(model, path).")
        meta = dict(meta or {})
        if by_epoch:
            meta.setdefault("epoch", self.epoch + 1)
            meta.setdefault("iter", self.iter)
        else:
            meta.setdefault("epoch", self.epoch)
            meta.setdefault("iter", self.iter + 1)
        self.backend.save_checkpoint(osp.join(out_dir, filename), meta=meta, save_optimizer=save_optimizer,
                                     save_param_scheduler=save_param_scheduler)

    def load_checkpoint(self, filename: str, map_location: Any = "cpu", strict: bool = False,
                        revise_keys: Any = _DEFAULT_REVISE_KEYS) -> dict[str, Any]:
        """MMEngine's ``runner.load_checkpoint``: read, ``after_load_checkpoint``, then load the weights."""
        from mmhooks.runner.checkpoint import _load_checkpoint, load_checkpoint_to_model, unwrap_model

        checkpoint: dict[str, Any] = _load_checkpoint(filename, map_location=map_location)  # paths, URLs, zoos
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)  # before the weights, as in MMEngine
        load_checkpoint_to_model(unwrap_model(self.model), checkpoint, strict=strict, logger=self.logger,
                                 revise_keys=revise_keys, source=filename)
        self.logger.info(f"Load checkpoint from {filename}")
        return checkpoint


if TYPE_CHECKING:  # mypy checks that every runner implements what hooks may read
    from mmhooks.runner.protocol import RunnerLike

    def _implements_runner_like(runner: RunnerBase) -> RunnerLike:
        return runner
