"""MMEngine ``param_scheduler`` configs in a user's own Trainer, and no silent compounding with Lightning's.

``HookCallback(hooks, param_scheduler=[...])`` builds the schedulers when
training starts, the way MMEngine's Runner builds them (``by_epoch``,
``convert_to_iter_based``, a missing ``end`` running to the end of training),
against the Trainer's optimizers and with its epoch length
(``trainer.num_training_batches``, so ``limit_train_batches`` counts);
``ParamSchedulerHook`` steps them.

A torch LR scheduler that ``configure_optimizers`` returns is stepped by
Lightning. On a parameter that MMEngine schedulers also set, both would
multiply the same value every step (a ``StepLR`` and a ``MultiStepLR`` compound
silently); :func:`check_not_compounded` refuses that before the first step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mmhooks.adapters.lightning.logged_values import torch_optimizer
from mmhooks.errors import ConfigError
from mmhooks.optim.scheduler.builder import ParamSchedulers, build_param_schedulers

__all__ = ["build_trainer_schedulers", "check_not_compounded"]

PATH = "HookCallback.param_scheduler"


def build_trainer_schedulers(cfg: Any, runner: Any, keep_values: bool = False) -> ParamSchedulers | None:
    """Build ``cfg`` against ``runner.optim_wrapper`` with the run's epoch length and limits (at ``on_train_start``).

    Args:
        cfg: MMEngine's ``param_scheduler`` config (a dict, a list, or a dict per optimizer name).
        runner: The callback's runner; its limits are the Trainer's by now.
        keep_values: A resumed fit: building runs step 0, which would overwrite the
            optimizer's restored values; they are put back (the saved scheduler states
            are loaded next, as MMEngine's resume does).
    """
    optim_wrapper = runner.optim_wrapper
    if optim_wrapper is None:
        raise ConfigError("param_scheduler", cfg, "a Trainer whose LightningModule has an optimizer",
                          "return an optimizer from configure_optimizers.", "HookCallback")
    progress = runner.context.progress
    loader = runner.train_dataloader
    trainer = getattr(runner, "trainer", None)
    batches = getattr(trainer, "num_training_batches", None)
    if isinstance(batches, int):
        epoch_length: int | None = batches
    else:
        epoch_length = len(loader) if hasattr(loader, "__len__") else None
    saved = [_hyper_parameters(groups) for groups in _optimizer_groups(optim_wrapper)] if keep_values else None
    wrappers = getattr(optim_wrapper, "optim_wrappers", None)
    # Several optimizers: the builder takes a mapping of name -> wrapper (MMEngine's OptimWrapperDict.items()).
    target = dict(wrappers) if isinstance(wrappers, Mapping) else optim_wrapper
    schedulers = build_param_schedulers(
        cfg, target, epoch_length=epoch_length,
        max_epochs=progress.max_epochs if progress.by_epoch else None,
        max_iters=progress.max_iters or None, path=PATH,
    )
    if saved is not None:
        for groups, values in zip(_optimizer_groups(optim_wrapper), saved):
            for group, value in zip(groups, values):
                group.update(value)
    return schedulers


def check_not_compounded(schedulers: Any, lr_scheduler_configs: Any) -> None:
    """Refuse MMEngine schedulers and a Lightning LR scheduler that set the same parameter of one optimizer.

    Raises:
        ConfigError: naming both schedulers and the parameter.
    """
    if not schedulers or not lr_scheduler_configs:
        return
    for config in lr_scheduler_configs:
        theirs = config.scheduler
        groups = getattr(torch_optimizer(getattr(theirs, "optimizer", None)), "param_groups", None)
        if groups is None:
            continue
        names = {"lr"}
        if getattr(theirs, "cycle_momentum", False):  # OneCycleLR, CyclicLR
            names.add("momentum")
        for ours in _flat(schedulers):
            param_name = getattr(ours, "param_name", None)
            ours_groups = getattr(torch_optimizer(getattr(ours, "optimizer", None)), "param_groups", None)
            if param_name in names and ours_groups is groups:
                lightning_name = type(theirs).__name__
                raise ConfigError(
                    "param_scheduler", ours,
                    f"schedulers that Lightning does not also step: configure_optimizers returned {lightning_name}, "
                    f"which sets '{param_name}' of the same optimizer, so the two would compound",
                    f"schedule '{param_name}' in one place: drop {lightning_name} from configure_optimizers and "
                    f"write it as an MMEngine config in param_scheduler (e.g. dict(type='{lightning_name}', ...)), or "
                    f"remove the MMEngine schedulers on '{param_name}'.",
                    "HookCallback",
                )


def _flat(schedulers: Any) -> Iterator[Any]:
    if isinstance(schedulers, Mapping):
        for group in schedulers.values():
            yield from group
    else:
        yield from schedulers


def _optimizer_groups(optim_wrapper: Any) -> list[list[dict[str, Any]]]:
    wrappers = getattr(optim_wrapper, "optim_wrappers", None)
    items = list(wrappers.values()) if isinstance(wrappers, Mapping) else [optim_wrapper]
    return [torch_optimizer(item).param_groups for item in items]


def _hyper_parameters(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every entry of each group except its parameters."""
    return [{key: value for key, value in group.items() if key != "params"} for group in groups]
