"""Priorities, the config-driven ``Runner``, its loops and checkpoint helpers (``mmengine.runner``'s names).

Names are imported on first use, so ``from mmhooks.runner import Priority``
stays cheap (the Runner pulls in model, optim and backend code).

``FlexibleRunner`` is not provided: mmhooks' ``Runner`` runs DeepSpeed, FSDP
and other strategies through ``trainer=dict(strategy=...)``.
"""

from __future__ import annotations

from typing import Any

from mmhooks._lazy import lazy_exports
from mmhooks.runner.priority import Priority, get_priority

_CHECKPOINT = "mmhooks.runner.checkpoint"
_LOOPS = "mmhooks.runner.loops"
_MODULES = {
    "BaseLoop": _LOOPS,
    "CheckpointLoader": _CHECKPOINT,
    "EpochBasedTrainLoop": _LOOPS,
    "IterBasedTrainLoop": _LOOPS,
    "LogProcessor": "mmhooks.logging.log_processor",
    "Runner": "mmhooks.runner.runner",
    "TestLoop": _LOOPS,
    "ValLoop": _LOOPS,
    "autocast": "mmhooks.runner.amp",
    "find_latest_checkpoint": _CHECKPOINT,
    "get_deprecated_model_names": _CHECKPOINT,
    "get_external_models": _CHECKPOINT,
    "get_mmcls_models": _CHECKPOINT,
    "get_state_dict": _CHECKPOINT,
    "get_torchvision_models": _CHECKPOINT,
    "load_checkpoint": _CHECKPOINT,
    "load_state_dict": _CHECKPOINT,
    "save_checkpoint": _CHECKPOINT,
    "set_random_seed": "mmhooks.runner.runner",
    "turn_on_activation_checkpointing": "mmhooks.runner.activation_checkpointing",
    "weights_to_cpu": _CHECKPOINT,
}
_NOT_PROVIDED = {
    "FlexibleRunner": "mmhooks.runner.FlexibleRunner is not provided. Fix: use mmhooks.runner.Runner; pick DeepSpeed, "
                      "FSDP or DDP with trainer=dict(strategy='deepspeed_stage_2' | 'fsdp' | 'ddp', ...).",
}

__all__ = sorted(["Priority", "get_priority", *_MODULES])
_lazy_getattr, __dir__ = lazy_exports(__name__, _MODULES)


def __getattr__(name: str) -> Any:
    if name in _NOT_PROVIDED:
        raise ImportError(_NOT_PROVIDED[name], name=__name__)
    return _lazy_getattr(name)
