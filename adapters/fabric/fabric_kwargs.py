"""The mapping layer: an MMEngine config in, ``lightning.fabric.Fabric`` keyword arguments out.

=========================================  ===============================================
MMEngine key                               Fabric
=========================================  ===============================================
``launcher='none'``                        ``devices=1``
``launcher='pytorch'``                     ``strategy='ddp'``, ``devices='auto'`` (torchrun's environment)
``launcher='slurm'`` / ``'mpi'``           ``plugins=[SLURMEnvironment()]`` / ``[MPIEnvironment()]``
``optim_wrapper.type='AmpOptimWrapper'``   ``precision='16-mixed'`` (``dtype='bfloat16'``: ``'bf16-mixed'``)
``env_cfg.dist_cfg`` (backend, timeout)    DDP's process-group backend (nccl only with CUDA) and timeout
``env_cfg.cudnn_benchmark``                ``torch.backends.cudnn.benchmark``
``trainer=dict(...)``                      Fabric's arguments in it win over everything above
=========================================  ===============================================

The Fabric backend reads the same ``trainer`` key as the Lightning backend,
so one config runs on either: the arguments the Trainer shares with Fabric
(``accelerator``, ``devices``, ``num_nodes``, ``strategy``, ``precision``,
``plugins``) are passed on, ``deterministic`` and ``benchmark`` set the same
torch flags the Trainer sets, and the Trainer's console options
(``enable_progress_bar``, ``enable_model_summary``, ``default_root_dir``)
and settings that only repeat what Fabric does anyway (``logger=False``,
``enable_checkpointing=False``, ``num_sanity_val_steps=0``,
``use_distributed_sampler=False``) are ignored. Any other Trainer argument
(callbacks, loggers, ``max_epochs``, gradient clipping, ...) is a located
``ConfigError``: under Fabric, MMEngine's keys say it (``train_cfg``,
``optim_wrapper.clip_grad``, hooks), or the run belongs on the Trainer.

``ddp`` is MMEngine's DDP: buffers are not broadcast (``SyncBuffersHook``
averages them), ``find_unused_parameters`` as configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from mmhooks.adapters.launch import launcher_kwargs
from mmhooks.errors import ConfigError, check_keys
from mmhooks.runner.execution_cfg import amp_precision, ddp_options

__all__ = ["FABRIC_ARGUMENTS", "FabricSettings", "fabric_settings"]

#: ``trainer`` keys that are also ``lightning.fabric.Fabric`` arguments.
FABRIC_ARGUMENTS = ("accelerator", "devices", "num_nodes", "plugins", "precision", "strategy")
#: ``trainer`` keys the Fabric backend applies as the Trainer does (torch flags).
TORCH_FLAGS = ("benchmark", "deterministic")
#: ``trainer`` keys that only shape the Trainer's console output: nothing to do under Fabric.
CONSOLE_ONLY = ("default_root_dir", "enable_model_summary", "enable_progress_bar")
#: ``trainer`` keys accepted when they ask for what the Fabric backend does anyway.
SAME_AS_FABRIC: dict[str, tuple[Any, ...]] = {
    "enable_checkpointing": (False,), "logger": (False, None), "num_sanity_val_steps": (0,),
    "use_distributed_sampler": (False,),
}


class FabricSettings:
    """What the Fabric backend needs from a config: ``Fabric(**kwargs)`` and the torch flags to set."""

    def __init__(self, kwargs: dict[str, Any], deterministic: bool | None, benchmark: bool | None) -> None:
        self.kwargs = kwargs
        self.deterministic = deterministic
        self.benchmark = benchmark

    def apply_torch_flags(self) -> None:
        """``trainer.deterministic`` / ``benchmark`` (or ``env_cfg.cudnn_benchmark``), as the Trainer sets them."""
        if self.deterministic:
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        if self.benchmark is not None and not self.deterministic:
            torch.backends.cudnn.benchmark = self.benchmark


def fabric_settings(cfg: Mapping[str, Any]) -> FabricSettings:
    """Fabric arguments and torch flags for the Runner's config values ``cfg`` (checked; nothing built yet).

    Example:
        >>> settings = fabric_settings(dict(trainer=dict(accelerator="cpu", enable_progress_bar=False)))
        >>> settings.kwargs
        {'accelerator': 'cpu', 'devices': 1}
    """
    launcher = cfg.get("launcher") or "none"
    kwargs: dict[str, Any] = dict(accelerator="auto")
    kwargs.update(launcher_kwargs(launcher))
    precision = amp_precision(cfg.get("optim_wrapper"))
    if precision:
        kwargs["precision"] = precision
    env_cfg = cfg.get("env_cfg") or {}
    benchmark = bool(env_cfg["cudnn_benchmark"]) if "cudnn_benchmark" in env_cfg else None
    user = cfg.get("trainer") or {}
    if not isinstance(user, Mapping):
        raise ConfigError("trainer", user, "a dict of lightning.Trainer arguments", "write trainer=dict(devices=2).")
    _check_trainer_keys(user)
    kwargs.update({key: user[key] for key in FABRIC_ARGUMENTS if key in user})
    if user.get("devices") not in (None, 1, "1") and "strategy" not in user and launcher == "none":
        kwargs.setdefault("strategy", "ddp")
    if kwargs.get("strategy") == "ddp":
        kwargs["strategy"] = _mmengine_ddp(cfg)
    if "benchmark" in user:
        benchmark = bool(user["benchmark"])
    deterministic = bool(user["deterministic"]) if "deterministic" in user else None
    return FabricSettings(kwargs, deterministic, benchmark)


def _check_trainer_keys(user: Mapping[str, Any]) -> None:
    """A Trainer-only argument is a located error under Fabric; an unknown one is too (with the closest name)."""
    accepted = (*FABRIC_ARGUMENTS, *TORCH_FLAGS, *CONSOLE_ONLY)
    for key, value in user.items():
        if key in accepted:
            continue
        same = SAME_AS_FABRIC.get(key)
        if same is not None and any(value is choice or value == choice for choice in same):
            continue
        if key in _trainer_arguments():
            raise ConfigError(
                key, value,
                f"under backend='fabric', one of Fabric's arguments ({', '.join(FABRIC_ARGUMENTS)}), "
                f"{' or '.join(TORCH_FLAGS)}, or a Trainer console option ({', '.join(CONSOLE_ONLY)})",
                "say it with MMEngine's keys (train_cfg, optim_wrapper, hooks), or run on the Trainer with "
                "backend='lightning'.", "trainer",
            )
        check_keys("trainer", {key: value}, accepted, "a lightning.Trainer argument that Fabric also takes")


def _trainer_arguments() -> list[str]:
    import inspect

    import lightning.pytorch as pl

    return [name for name in inspect.signature(pl.Trainer.__init__).parameters if name != "self"]


def _mmengine_ddp(cfg: Mapping[str, Any]) -> Any:
    """Fabric's DDP as MMEngine wraps models (:func:`~mmhooks.runner.execution_cfg.ddp_options`)."""
    from lightning.fabric.strategies.ddp import DDPStrategy

    return DDPStrategy(**ddp_options(cfg))
