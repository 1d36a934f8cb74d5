"""Step the parameter schedulers at MMEngine's points of the training loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, Optional

from mmhooks.errors import warn_once
from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.optim.scheduler.builder import build_param_schedulers, is_scheduler
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["ParamSchedulerHook"]

log = logging.getLogger(__name__)


def _scheduler_lists(schedulers: Any) -> Iterator[list[Any]]:
    """The lists held by ``runner.param_schedulers``: itself, or each value of a dict of name to list."""
    if isinstance(schedulers, list):
        yield schedulers
    elif isinstance(schedulers, dict):
        yield from schedulers.values()
    else:
        raise TypeError(
            f"runner.param_schedulers: got {type(schedulers).__name__}; expected a list of schedulers or a dict of "
            "optimizer name to such lists. Fix: build them with build_param_schedulers."
        )


def _epoch_length(runner: RunnerLike) -> int | None:
    """Batches per epoch on this rank, or ``None`` when the loader has no length."""
    loader: Any = getattr(runner, "train_dataloader", None)
    try:
        return len(loader)
    except TypeError:
        return None


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Step ``runner.param_schedulers``: iteration ones after each batch, epoch ones after each epoch.

    ``after_train_iter`` steps every ``by_epoch=False`` scheduler (once per
    batch, whether or not the optimizer stepped), ``after_train_epoch`` every
    ``by_epoch=True`` one (ReduceOnPlateau only counts), and ``after_val_epoch``
    hands the validation metrics to the schedulers that need them
    (ReduceOnPlateau). Within one call schedulers step in list order.

    Args:
        param_scheduler: Optional ``param_scheduler`` config (MMEngine's format).
            When given and ``runner.param_schedulers`` is ``None``, the hook builds
            it in ``before_train`` against ``runner.optim_wrapper``, with
            ``len(runner.train_dataloader)`` as the epoch length, so the hook
            works inside a plain Lightning ``Trainer``.

    State:
        None of its own: each scheduler carries its ``state_dict``, saved as
        ``checkpoint["param_schedulers"]``. When the hook builds the schedulers
        itself, it takes that entry in ``after_load_checkpoint`` and loads it
        right after building, keeping the optimizer's restored values.

    Example:
        >>> from types import SimpleNamespace
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> runner = SimpleNamespace(param_schedulers=None, optim_wrapper=opt, train_dataloader=range(4),
        ...                          max_epochs=2, max_iters=8)
        >>> hook = ParamSchedulerHook(param_scheduler=[dict(type="StepLR", step_size=1, gamma=0.5)])
        >>> hook.before_train(runner)
        >>> hook.after_train_epoch(runner)
        >>> opt.param_groups[0]["lr"]
        0.5
    """

    priority = "LOW"

    def __init__(self, param_scheduler: Any = None) -> None:
        self.param_scheduler = param_scheduler
        self._pending_states: Any = None

    def get_triggered_stages(self) -> list[str]:
        """Building and restoring its own schedulers are stages only when the hook has ``param_scheduler``.

        Without it the hook acts where MMEngine's does, and the log's hook
        table lists it there only.
        """
        stages = super().get_triggered_stages()
        if self.param_scheduler is None:
            stages = [stage for stage in stages if stage not in ("before_train", "after_load_checkpoint")]
        return stages

    # ------------------------------------------------------------------ building
    def after_load_checkpoint(self, runner: RunnerLike, checkpoint: dict[str, Any]) -> None:
        """Keep the saved scheduler states for the schedulers this hook will build."""
        if self.param_scheduler is not None and getattr(runner, "param_schedulers", None) is None:
            self._pending_states = checkpoint.get("param_schedulers")

    def before_train(self, runner: RunnerLike) -> None:
        """Build the schedulers from ``param_scheduler`` unless the runner already has them."""
        if self.param_scheduler is None:
            return
        if getattr(runner, "param_schedulers", None) is not None:
            warn_once(
                "ParamSchedulerHook.param_scheduler: runner.param_schedulers is already set (from the config's "
                "param_scheduler); the hook's own config is ignored. Fix: keep only one of the two."
            )
            return
        optim_wrapper = runner.optim_wrapper
        snapshot = _hyper_parameters(optim_wrapper) if self._pending_states is not None else None
        schedulers = build_param_schedulers(
            self.param_scheduler,
            optim_wrapper,
            epoch_length=_epoch_length(runner),
            max_epochs=getattr(runner, "max_epochs", None),
            max_iters=getattr(runner, "max_iters", None),
        )
        if snapshot is not None:
            # Construction runs step 0 on the restored values; put the restored values back.
            _restore_hyper_parameters(optim_wrapper, snapshot)
            _load_states(schedulers, self._pending_states)
            self._pending_states = None
        runner.param_schedulers = schedulers

    # ------------------------------------------------------------------ stepping
    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        """Step every iteration-based scheduler."""
        schedulers = runner.param_schedulers
        if schedulers is None:
            return
        # The per-iteration path: a plain list needs no generator and no predicate call.
        for group in (schedulers,) if type(schedulers) is list else _scheduler_lists(schedulers):
            for scheduler in group:
                if not scheduler.by_epoch:
                    scheduler.step()

    def after_train_epoch(self, runner: RunnerLike) -> None:
        """Step every epoch-based scheduler (ReduceOnPlateau only counts the epoch)."""
        self._step(runner, lambda scheduler: bool(scheduler.by_epoch))

    def after_val_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        """Hand the validation metrics to the epoch-based schedulers that need them."""
        if runner.param_schedulers is None or metrics is None:
            return
        for schedulers in _scheduler_lists(runner.param_schedulers):
            if not all(is_scheduler(scheduler) for scheduler in schedulers):
                continue  # not built yet (MMEngine skips such lists too)
            for scheduler in schedulers:
                if scheduler.by_epoch and getattr(scheduler, "need_val_args", False):
                    scheduler.step(metrics)

    def _step(self, runner: RunnerLike, wanted: Callable[[Any], bool]) -> None:
        if runner.param_schedulers is None:
            return
        for schedulers in _scheduler_lists(runner.param_schedulers):
            for scheduler in schedulers:
                if wanted(scheduler):
                    scheduler.step()


def _optimizers(optim_wrapper: Any) -> list[Any]:
    if callable(getattr(optim_wrapper, "items", None)) and not hasattr(optim_wrapper, "param_groups"):
        return [wrapper for _, wrapper in optim_wrapper.items()]
    return [optim_wrapper]


def _hyper_parameters(optim_wrapper: Any) -> list[list[dict[str, Any]]]:
    """Every group's entries except ``params``, per optimizer."""
    return [
        [{key: value for key, value in group.items() if key != "params"} for group in optimizer.param_groups]
        for optimizer in _optimizers(optim_wrapper)
    ]


def _restore_hyper_parameters(optim_wrapper: Any, snapshot: list[list[dict[str, Any]]]) -> None:
    for optimizer, groups in zip(_optimizers(optim_wrapper), snapshot):
        for group, saved in zip(optimizer.param_groups, groups):
            group.update(saved)


def _load_states(schedulers: Any, states: Any) -> None:
    """Load ``checkpoint['param_schedulers']`` (a list, or a dict of name to list) pairwise."""
    if isinstance(schedulers, dict):
        if not isinstance(states, dict):
            raise TypeError(
                "checkpoint['param_schedulers']: got a list; expected a dict of optimizer name to state lists "
                "(the run has several optimizers). Fix: resume from a checkpoint of the same setup."
            )
        for name, group in schedulers.items():
            _load_states(group, states[name])
        return
    if len(states) != len(schedulers):
        raise ValueError(
            f"checkpoint['param_schedulers']: got {len(states)} scheduler states; expected {len(schedulers)} "
            "(one per configured scheduler). Fix: resume with the param_scheduler config the checkpoint was "
            "trained with."
        )
    for scheduler, state in zip(schedulers, states):
        scheduler.load_state_dict(state)
