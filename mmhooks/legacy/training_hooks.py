"""MMCV's config-to-hook builders of ``BaseRunner``: ``register_training_hooks`` and its parts.

:class:`TrainingHooksMixin` turns MMCV's ``lr_config``, ``momentum_config``, ``optimizer_config``,
``checkpoint_config``, ``timer_config``, ``log_config``, ``custom_hooks_config`` and the downstream
``evaluation`` config into hooks; the runner that mixes it in supplies ``register_hook``.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any

from mmhooks.errors import ConfigError, MMHooksTranslationWarning, check_keys, closest
from mmhooks.legacy.checkpoint_hook import LegacyCheckpointHook
from mmhooks.legacy.ema_hook import LegacyEMAHook
from mmhooks.legacy.eval_hook import LegacyEvalHook
from mmhooks.legacy.logger_hooks import LegacyIterTimerHook
from mmhooks.legacy.lr_updater import build_lr_updater
from mmhooks.legacy.momentum_updater import build_momentum_updater
from mmhooks.legacy.optimizer_hook import (
    _OPTIMIZER_HOOK_ARGS,
    OptimizerHook,
    OptimizerSettings,
    parse_optimizer_config,
)
from mmhooks.registry import HOOKS

__all__ = ["TrainingHooksMixin"]


class TrainingHooksMixin:
    """MMCV's ``register_*_hook`` methods for a legacy runner (``BaseLegacyRunner``).

    The runner provides ``register_hook`` (MMCV's priority order) and the attributes declared here; the
    builders record what the Lightning side needs (``optimizer_settings``, ``vis_backends``,
    ``log_processor_cfg``) on it.
    """

    by_epoch: bool
    optimizer: Any
    optimizer_settings: OptimizerSettings | None
    log_processor_cfg: dict[str, Any] | None
    vis_backends: list[dict[str, Any]]

    def register_hook(self, hook: Any, priority: Any = "NORMAL") -> None:
        """Supplied by the runner."""
        raise NotImplementedError

    def register_hook_from_cfg(self, hook_cfg: Mapping[str, Any], path: str = "hook") -> None:
        """Build a hook from ``dict(type=..., priority=...)``; MMCV-only types map to their MMCV semantics."""
        cfg = dict(hook_cfg)
        priority = cfg.pop("priority", "NORMAL")
        self.register_hook(self._build_hook(cfg, path), priority)

    def _build_hook(self, cfg: dict[str, Any], path: str) -> Any:
        kind = cfg.get("type")
        mmcv_types: dict[str, type] = {"EMAHook": LegacyEMAHook, "CheckpointHook": LegacyCheckpointHook,
                                       "EvalHook": LegacyEvalHook, "DistEvalHook": LegacyEvalHook,
                                       "IterTimerHook": LegacyIterTimerHook}
        if isinstance(kind, str) and kind in mmcv_types:
            cfg = {**cfg, "type": mmcv_types[kind]}
        if kind == "SyncBuffersHook":
            cfg.pop("distributed", None)  # MMEngine's hook detects the distributed case itself
        if kind in _OPTIMIZER_HOOK_ARGS:
            raise ConfigError("type", kind, "a hook that is not an optimizer hook",
                              "pass it as optimizer_config to register_training_hooks.", path)
        return HOOKS.build(cfg, path=path)

    def register_lr_hook(self, lr_config: Any) -> None:
        if lr_config is None:
            return
        if isinstance(lr_config, Mapping):
            hook = build_lr_updater(lr_config, "lr_config", by_epoch_default=self.by_epoch)
        else:
            hook = lr_config
        self.register_hook(hook, priority="VERY_HIGH")

    def register_momentum_hook(self, momentum_config: Any) -> None:
        if momentum_config is None:
            return
        hook = build_momentum_updater(momentum_config) if isinstance(momentum_config, Mapping) else momentum_config
        self.register_hook(hook, priority="HIGH")

    def register_optimizer_hook(self, optimizer_config: Any) -> None:
        """A dict is run by the LightningModule (backward, clip, step); a hook instance runs as a hook."""
        if optimizer_config is None:
            return
        if not isinstance(optimizer_config, Mapping):
            self.register_hook(optimizer_config, priority="ABOVE_NORMAL")
            return
        settings = parse_optimizer_config(optimizer_config)
        if isinstance(self.optimizer, Mapping):
            raise ConfigError("optimizer_config", dict(optimizer_config), "None with a dict of optimizers (MMCV's "
                              "OptimizerHook steps one optimizer)", "step the optimizers in train_step and pass "
                              "optimizer_config=None.")
        self.optimizer_settings = settings
        self.register_hook(OptimizerHook(settings), priority="ABOVE_NORMAL")

    def register_checkpoint_hook(self, checkpoint_config: Any) -> None:
        if checkpoint_config is None:
            return
        if isinstance(checkpoint_config, Mapping):
            cfg = dict(checkpoint_config)
            kind = cfg.pop("type", "CheckpointHook")
            if kind != "CheckpointHook":
                self.register_hook_from_cfg({"type": kind, **cfg}, path="checkpoint_config")
                return
            if not self.by_epoch:
                cfg.setdefault("by_epoch", False)
            try:
                hook = LegacyCheckpointHook(**cfg)
            except ConfigError as err:
                raise err.under("checkpoint_config") from None
            except TypeError as err:
                raise ConfigError("checkpoint_config", cfg, "CheckpointHook arguments", str(err)) from err
        else:
            hook = checkpoint_config
        self.register_hook(hook, priority="NORMAL")

    def register_timer_hook(self, timer_config: Any) -> None:
        if timer_config is None:
            return
        if isinstance(timer_config, Mapping):
            self.register_hook_from_cfg({"priority": "LOW", **timer_config}, path="timer_config")
        else:
            self.register_hook(timer_config, priority="LOW")

    def register_logger_hooks(self, log_config: Any) -> None:
        """``log_config.hooks``, each with ``log_config.interval`` as its default interval (MMCV's rule).

        ``TextLoggerHook`` and ``TensorboardLoggerHook`` are MMCV's own (``{timestamp}.log.json``,
        ``tf_logs``); the other MMCV backends (Wandb, MLflow, ...) become visualizer backends of one mmhooks
        ``LoggerHook`` whose window is ``log_config.interval``. In an IterBasedRunner every logger defaults
        to ``by_epoch=False``.
        """
        if log_config is None:
            return
        from mmhooks.legacy.convert import VIS_BACKENDS
        from mmhooks.legacy.logger_hooks import LegacyTensorboardLoggerHook, LegacyTextLoggerHook

        if not isinstance(log_config, Mapping):
            raise ConfigError("log_config", log_config, "a dict with interval and hooks",
                              "write log_config=dict(interval=50, hooks=[dict(type='TextLoggerHook')]).")
        interval = log_config.get("interval", 10)
        mmcv_loggers: dict[str, type] = {"TextLoggerHook": LegacyTextLoggerHook,
                                         "TensorboardLoggerHook": LegacyTensorboardLoggerHook}
        backend_interval: int | None = None
        by_epoch = self.by_epoch
        for i, info in enumerate(log_config.get("hooks", [])):
            path = f"log_config.hooks[{i}]"
            if not isinstance(info, Mapping):
                self.register_hook(info, priority="VERY_LOW")
                continue
            cfg = {"interval": interval, **info}
            if not self.by_epoch:
                cfg.setdefault("by_epoch", False)
            kind = cfg.pop("type", None)
            if isinstance(kind, str) and kind in mmcv_loggers:
                hook_cls = mmcv_loggers[kind]
                check_keys(path, cfg, inspect.signature(hook_cls).parameters, f"a {kind} argument")
                try:
                    hook = hook_cls(**cfg)
                except ConfigError as err:
                    raise err.under(path) from None
                self.register_hook(hook, priority="VERY_LOW")
            elif kind in VIS_BACKENDS:
                by_epoch = cfg.pop("by_epoch", by_epoch)
                cfg.pop("reset_flag", None)
                name, keep, drop = VIS_BACKENDS[kind]
                backend = {"type": name, **{k: cfg[k] for k in keep if k in cfg}}
                if "log_dir" in backend:
                    backend["save_dir"] = backend.pop("log_dir")
                self.vis_backends.append(backend)
                backend_interval = backend_interval or cfg["interval"]
                for key in drop:
                    if key in cfg:
                        warnings.warn(f"{path}.{key}: {kind} option with no {name} counterpart; ignored.",
                                      MMHooksTranslationWarning, stacklevel=3)
            elif isinstance(kind, str) and kind in HOOKS:
                self.register_hook(HOOKS.build({"type": kind, **cfg}, path=path), priority="VERY_LOW")
            else:
                known = sorted([*mmcv_loggers, *VIS_BACKENDS])
                near = closest(kind, known) if isinstance(kind, str) else None
                raise ConfigError("type", kind, f"one of {known} or a registered hook",
                                  f"did you mean {near!r}?" if near else "remove this logger.", path)
        if backend_interval is None:
            return
        from mmhooks.hooks.logger_hook import LoggerHook
        from mmhooks.hooks.runtime_info_hook import RuntimeInfoHook

        self.register_hook(RuntimeInfoHook(), priority="VERY_HIGH")
        self.register_hook(LoggerHook(interval=backend_interval, log_metric_by_epoch=bool(by_epoch)),
                           priority="VERY_LOW")
        self.log_processor_cfg = {"type": "LogProcessor", "window_size": backend_interval,
                                  "by_epoch": bool(by_epoch)}

    def register_custom_hooks(self, custom_config: Any) -> None:
        if custom_config is None:
            return
        items = custom_config if isinstance(custom_config, (list, tuple)) else [custom_config]
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                self.register_hook_from_cfg(item, path=f"custom_hooks_config[{i}]")
            else:
                self.register_hook(item, priority="NORMAL")

    def register_training_hooks(
        self,
        lr_config: Any,
        optimizer_config: Any = None,
        checkpoint_config: Any = None,
        log_config: Any = None,
        momentum_config: Any = None,
        timer_config: Any = None,
        custom_hooks_config: Any = None,
    ) -> None:
        """MMCV's default hooks, in MMCV's order: lr, momentum, optimizer, checkpoint, timer, loggers, custom.

        Raises:
            ConfigError: an unknown ``lr_config.policy`` / ``momentum_config.policy``, an
                ``optimizer_config.type`` that does not exist, unknown hook arguments.
        """
        if timer_config is None:
            timer_config = {"type": "IterTimerHook"}
        self.register_lr_hook(lr_config)
        self.register_momentum_hook(momentum_config)
        self.register_optimizer_hook(optimizer_config)
        self.register_checkpoint_hook(checkpoint_config)
        self.register_timer_hook(timer_config)
        self.register_logger_hooks(log_config)
        self.register_custom_hooks(custom_hooks_config)

    def register_eval_hook(self, dataloader: Any, evaluation: Mapping[str, Any] | None = None) -> None:
        """The downstream ``evaluation`` config: an MMCV ``EvalHook`` at priority LOW, by epoch for this runner."""
        cfg = {**dict(evaluation or {}), "by_epoch": self.by_epoch}
        cfg.pop("type", None)
        try:
            hook = LegacyEvalHook(dataloader, **cfg)
        except ConfigError as err:
            raise err.under("evaluation") from None
        except TypeError as err:
            raise ConfigError("evaluation", sorted(cfg), "EvalHook arguments", str(err)) from err
        self.register_hook(hook, priority="LOW")
