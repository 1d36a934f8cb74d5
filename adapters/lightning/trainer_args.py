"""The mapping layer: an MMEngine config in, ``lightning.Trainer`` keyword arguments out.

=========================================  ===============================================
MMEngine key                               Lightning
=========================================  ===============================================
``work_dir``                               ``default_root_dir``
``train_cfg.max_epochs`` (by_epoch)        ``max_epochs``; ``max_steps=-1``
``train_cfg.max_iters`` (by iteration)     ``max_epochs=-1``; the HookCallback stops at max_iters
``train_cfg.val_begin/val_interval``       MMEngine's rule replaces ``check_val_every_n_epoch``
``train_cfg.dynamic_intervals``            same rule, interval switching as MMEngine
(no sanity check in MMEngine)              ``num_sanity_val_steps=0``
(no ``val_dataloader``)                    ``limit_val_batches=0``
``optim_wrapper.type='AmpOptimWrapper'``   ``precision='16-mixed'`` (``dtype='bfloat16'``: ``'bf16-mixed'``)
``optim_wrapper.clip_grad``                clipped by the OptimWrapper (any ``norm_type``, or by value)
``optim_wrapper.accumulative_counts``      the OptimWrapper accumulates (manual optimization)
``randomness.deterministic``               ``deterministic=True``
``env_cfg.cudnn_benchmark``                ``benchmark``
``env_cfg.dist_cfg`` (backend, timeout)    DDP's process-group backend (nccl only with CUDA) and timeout
``launcher='pytorch'``                     ``strategy='ddp'`` (torchrun's environment)
``launcher='slurm'`` / ``'mpi'``           ``plugins=[SLURMEnvironment()]`` / ``[MPIEnvironment()]``
``default_hooks`` / ``custom_hooks``       one ``HookCallback`` in ``callbacks``
``default_hooks.checkpoint``               the CheckpointHook (``enable_checkpointing=False``)
``visualizer`` / ``log_processor``         runner attributes; Lightning's ``logger=False``
(DefaultSampler shards per rank)           ``use_distributed_sampler=False``
(no profiler in MMEngine)                  ``profiler=QuietProfiler()`` (no per-call cost)
``trainer=dict(...)``                      passed through; wins over everything above
=========================================  ===============================================

``AmpOptimWrapper`` without ``dtype`` autocasts to float16 on CUDA and to
bfloat16 on the CPU (as the wrapper itself does); ``dtype='float32'`` or
``'float64'`` gives ``'32-true'`` / ``'64-true'``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from mmhooks.adapters.launch import launcher_kwargs
from mmhooks.errors import ConfigError, check_keys
from mmhooks.runner.execution_cfg import LAUNCHERS, ddp_options
from mmhooks.runner.execution_cfg import amp_precision as _precision
from mmhooks.runner.train_cfg import TrainSchedule, parse_train_cfg

__all__ = ["LAUNCHERS", "build_trainer_kwargs", "trainer_kwargs"]

# Config keys the HookCallback's runner exposes as attributes, under the same names.
_RUNNER_KEYS = ("experiment_name", "visualizer", "log_processor", "log_level", "launcher", "default_scope", "load_from")


def trainer_kwargs(cfg: Any, hook_callback: Any = None) -> dict[str, Any]:
    """Trainer arguments for an MMEngine config (a dict or ``Config``).

    Args:
        cfg: The config; only the keys in the module table are read.
        hook_callback: The ``HookCallback`` to include; by default one is built
            from ``default_hooks`` and ``custom_hooks`` (MMEngine's default set).

    Example:
        >>> kw = trainer_kwargs(dict(work_dir="w", train_cfg=dict(by_epoch=True, max_epochs=3), default_hooks=dict(
        ...     logger=None, checkpoint=None, timer=None, runtime_info=None, sampler_seed=None, param_scheduler=None)))
        >>> kw["max_epochs"], kw["num_sanity_val_steps"], kw["enable_checkpointing"]
        (3, 0, False)
    """
    values = dict(cfg.to_dict() if hasattr(cfg, "to_dict") else cfg)
    schedule = parse_train_cfg(values["train_cfg"]) if values.get("train_cfg") else None
    if hook_callback is None:
        hook_callback = _hook_callback(cfg, values, schedule)
    return build_trainer_kwargs(values, schedule, hook_callback)


def build_trainer_kwargs(cfg: Mapping[str, Any], schedule: TrainSchedule | None, hook_callback: Any) -> dict[str, Any]:
    """Trainer arguments for config values whose ``train_cfg`` is already parsed into ``schedule``."""
    kwargs: dict[str, Any] = dict(
        accelerator="auto",
        num_sanity_val_steps=0,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=sys.stdout.isatty(),
        logger=False,
        use_distributed_sampler=False,
        accumulate_grad_batches=1,
        check_val_every_n_epoch=1,
    )
    if cfg.get("work_dir"):
        kwargs["default_root_dir"] = cfg["work_dir"]
    kwargs.update(launcher_kwargs(cfg.get("launcher", "none")))
    if schedule is not None:
        if schedule.by_epoch:
            kwargs.update(max_epochs=schedule.max_epochs, max_steps=-1)
        else:
            kwargs.update(max_epochs=-1, max_steps=-1)
    if not cfg.get("val_dataloader"):
        kwargs["limit_val_batches"] = 0
    precision = _precision(cfg.get("optim_wrapper"))
    if precision:
        kwargs["precision"] = precision
    randomness = cfg.get("randomness") or {}
    if randomness.get("deterministic"):
        kwargs["deterministic"] = True
    env_cfg = cfg.get("env_cfg") or {}
    if "cudnn_benchmark" in env_cfg:
        kwargs["benchmark"] = bool(env_cfg["cudnn_benchmark"])
    kwargs["callbacks"] = [hook_callback]
    user = cfg.get("trainer") or {}
    if not isinstance(user, Mapping):
        raise ConfigError("trainer", user, "a dict of lightning.Trainer arguments", "write trainer=dict(devices=2).")
    user = dict(user)
    _check_trainer_keys(user)
    extra_callbacks = list(user.pop("callbacks", []) or [])
    kwargs.update(user)
    kwargs["callbacks"] = kwargs["callbacks"] + extra_callbacks
    if "profiler" not in user and not user.get("barebones"):  # barebones refuses any profiler
        from mmhooks.adapters.lightning.profiler import QuietProfiler

        kwargs["profiler"] = QuietProfiler()
    if user.get("devices") not in (None, 1, "1") and "strategy" not in user and cfg.get("launcher", "none") == "none":
        kwargs.setdefault("strategy", "ddp")
    if kwargs.get("strategy") == "ddp":
        kwargs["strategy"] = _mmengine_ddp(cfg)
    return kwargs


def _check_trainer_keys(user: Mapping[str, Any]) -> None:
    """Unknown ``trainer.*`` keys are configuration errors, not a TypeError from inside Lightning."""
    import inspect

    import lightning.pytorch as pl

    accepted = [name for name in inspect.signature(pl.Trainer.__init__).parameters if name != "self"]
    check_keys("trainer", user, accepted, "a lightning.Trainer argument", list_accepted=False)


def _mmengine_ddp(cfg: Mapping[str, Any]) -> Any:
    """The Trainer's DDP as MMEngine wraps models (:func:`~mmhooks.runner.execution_cfg.ddp_options`)."""
    from lightning.pytorch.strategies import DDPStrategy

    return DDPStrategy(**ddp_options(cfg))

def _hook_callback(original: Any, cfg: Mapping[str, Any], schedule: TrainSchedule | None) -> Any:
    """The HookCallback for ``default_hooks`` + ``custom_hooks``, with the run's schedule and runner attributes."""
    from mmhooks.adapters.lightning.hook_callback import HookCallback
    from mmhooks.runner.hook_list import merge_default_hooks

    hooks = list(merge_default_hooks(cfg.get("default_hooks")).values()) + list(cfg.get("custom_hooks") or [])
    info: dict[str, Any] = {key: cfg[key] for key in _RUNNER_KEYS if cfg.get(key) is not None}
    randomness = cfg.get("randomness") or {}
    if randomness.get("seed") is not None:
        info["seed"] = randomness["seed"]
    if randomness.get("deterministic"):
        info["deterministic"] = True
    by_epoch = True
    if schedule is not None:
        by_epoch = schedule.by_epoch
        info.update(train_schedule=schedule, val_begin=schedule.val_begin, val_interval=schedule.val_interval)
        if by_epoch:
            info["max_epochs"] = schedule.max_epochs
        else:
            info["max_iters"] = schedule.max_iters
    # The config's default_hooks decide what is logged, as under MMEngine (no hooks added).
    return HookCallback(hooks, work_dir=cfg.get("work_dir"), cfg=original, complete_logs=False, by_epoch=by_epoch,
                        **info)
