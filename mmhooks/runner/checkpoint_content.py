"""What an MMEngine checkpoint holds, built the same way under every backend.

MMEngine's ``Runner.save_checkpoint`` writes, in this order: ``meta`` (the
caller's epoch/iter plus the config text, seed, experiment name, time,
version and the dataset's ``metainfo``), ``state_dict`` (weights on the CPU),
``message_hub``, ``optimizer`` and ``param_schedulers``; hooks then add their
own keys in ``before_save_checkpoint``. The Fabric backend writes exactly
this (plus ``hook_states``); the Lightning backend puts Lightning's keys after it.

Hooks with their own ``state_dict()`` (mmhooks' ``EarlyStoppingHook``) keep it
across a resume: the Lightning backend stores it in its callback state, the
Fabric backend under ``hook_states``, keyed ``"{index}:{class name}"`` in both.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import mmhooks
from mmhooks.runner.checkpoint import to_cpu, weights_to_cpu

__all__ = ["HOOK_STATES_KEY", "checkpoint_meta", "hook_states", "load_hook_states", "mmengine_checkpoint",
           "saved_hook_states", "scheduler_states"]

HOOK_STATES_KEY = "hook_states"


def checkpoint_meta(runner: Any, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """MMEngine's ``meta``: ``meta`` (or the runner's counters) plus cfg, seed, name, time, version, dataset_meta."""
    result = dict(meta) if meta else dict(epoch=runner.epoch, iter=runner.iter)
    result.update(
        cfg=getattr(runner.cfg, "pretty_text", ""),
        seed=runner.seed,
        experiment_name=runner.experiment_name,
        time=time.strftime("%Y%m%d_%H%M%S", time.localtime()),
        mmhooks_version=mmhooks.__version__,
    )
    dataset = getattr(runner.train_dataloader, "dataset", None)
    metainfo = getattr(dataset, "metainfo", None)
    if metainfo is not None:
        result["dataset_meta"] = metainfo
    return result


def scheduler_states(schedulers: Any) -> Any:
    """The schedulers' states as MMEngine saves them: a list, or a dict of lists per optimizer."""
    if isinstance(schedulers, Mapping):
        return {name: [scheduler.state_dict() for scheduler in group] for name, group in schedulers.items()}
    return [scheduler.state_dict() for scheduler in schedulers]


def mmengine_checkpoint(runner: Any, state_dict: Mapping[str, Any], meta: Mapping[str, Any] | None = None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True) -> dict[str, Any]:
    """The checkpoint dict of ``runner`` in MMEngine's key order, with the model weights ``state_dict``."""
    checkpoint: dict[str, Any] = {
        "meta": checkpoint_meta(runner, meta),
        "state_dict": weights_to_cpu(state_dict),
        "message_hub": to_cpu(runner.message_hub.state_dict()),
    }
    optim_wrapper = runner.optim_wrapper
    if save_optimizer and optim_wrapper is not None:
        checkpoint["optimizer"] = to_cpu(optim_wrapper.state_dict())
    schedulers = runner.param_schedulers
    if save_param_scheduler and schedulers:
        checkpoint["param_schedulers"] = scheduler_states(schedulers)
    return checkpoint


def hook_states(hooks: Any) -> dict[str, Any]:
    """``{"{index}:{class name}": hook.state_dict()}`` for the hooks that have one (not modules)."""
    states = {}
    for index, hook in enumerate(hooks):
        state_dict = getattr(hook, "state_dict", None)
        if callable(state_dict) and not hasattr(hook, "parameters"):
            states[f"{index}:{type(hook).__name__}"] = state_dict()
    return states


def load_hook_states(hooks: Any, states: Mapping[str, Any]) -> None:
    """Give each hook the state saved for the hook at its position with its class (others are left alone)."""
    for index, hook in enumerate(hooks):
        key = f"{index}:{type(hook).__name__}"
        if key in states and callable(getattr(hook, "load_state_dict", None)):
            hook.load_state_dict(states[key])


def saved_hook_states(checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
    """The hook states of a checkpoint of either backend (``hook_states``, or the HookCallback's callback state)."""
    states = checkpoint.get(HOOK_STATES_KEY)
    if isinstance(states, Mapping):
        return states
    callbacks = checkpoint.get("callbacks")
    if isinstance(callbacks, Mapping):
        for key, value in callbacks.items():
            if str(key).startswith("HookCallback") and isinstance(value, Mapping):
                found = value.get("hooks")
                if isinstance(found, Mapping):
                    return found
    return {}
