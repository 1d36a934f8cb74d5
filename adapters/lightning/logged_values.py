"""What a ``LoggerHook`` needs in a user's own Trainer, recorded in the run's message hub.

Under MMEngine, ``RuntimeInfoHook`` and ``IterTimerHook`` (default hooks) fill
the message hub with the learning rate, the losses ``train_step`` returns and
the iteration times; ``LoggerHook`` only formats what is there. A Lightning
user passes hooks to ``HookCallback`` one by one and logs with ``self.log``,
which MMEngine has no equivalent of. :func:`complete_logging` closes both gaps
when the hooks include a ``LoggerHook``:

* MMEngine's ``IterTimerHook`` is added if missing, and a
  :class:`LightningRuntimeInfoHook` if no ``RuntimeInfoHook`` is there;
* :class:`LoggedMetricsHook` records what the LightningModule logs with
  ``self.log`` (step values under ``train/``; epoch values reach ``val/`` and
  ``test/`` as the metrics of ``after_val_epoch``/``after_test_epoch``) and the
  learning rate (and momentum) of every parameter group.

``HookCallback(..., complete_logs=False)`` runs exactly the given hooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import torch

from mmhooks.adapters.lightning import _internals
from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.hooks.runtime_info_hook import RuntimeInfoHook
from mmhooks.runner.hook_list import HookList
from mmhooks.runner.protocol import RunnerLike

__all__ = ["LightningRuntimeInfoHook", "LoggedMetricsHook", "complete_logging", "has_hook", "torch_optimizer"]


def has_hook(hooks: HookList, name: str) -> bool:
    """Whether a hook of class ``name`` (mmhooks', MMEngine's or a subclass of either) is in ``hooks``."""
    return any(any(cls.__name__ == name for cls in type(hook).__mro__) for hook in hooks.hooks)


def complete_logging(hooks: HookList) -> None:
    """Add what a ``LoggerHook`` in ``hooks`` needs to print MMEngine's full lines (nothing without one)."""
    if not has_hook(hooks, "LoggerHook"):
        return
    if not has_hook(hooks, "RuntimeInfoHook"):
        hooks.register(LightningRuntimeInfoHook())
    hooks.register(LoggedMetricsHook())  # VERY_HIGH, after any RuntimeInfoHook: lr first in the lines
    if not has_hook(hooks, "IterTimerHook"):
        from mmhooks.hooks import IterTimerHook

        hooks.register(IterTimerHook())


class LightningRuntimeInfoHook(RuntimeInfoHook):
    """MMEngine's ``RuntimeInfoHook`` for what a ``training_step`` returns.

    MMEngine's ``train_step`` returns only scalars (its log variables); a
    ``training_step`` may also return predictions for other callbacks. Those
    (values with more than one element, or not numbers) are left out of the
    message hub instead of failing.
    """

    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        if not isinstance(outputs, Mapping):
            return
        hub = runner.message_hub
        for key, value in outputs.items():
            if _is_scalar(value):
                hub.update_scalar(f"train/{key}", value)


class LoggedMetricsHook(Hook):
    """Record ``self.log`` step values and every parameter group's lr and momentum in the message hub.

    * ``after_train_iter``: each value the LightningModule logged with
      ``on_step=True`` in this step, as ``train/<name>`` (a name the step also
      returned is recorded once, from the return value).
    * ``before_train_iter`` (the values this iteration trains with, as
      ``RuntimeInfoHook`` reads the lr): ``train/pg<i>_lr`` for parameter groups
      after the first (the first is MMEngine's ``train/lr``), and
      ``train/momentum`` / ``train/pg<i>_momentum`` for optimizers that have one
      (``momentum`` not 0, or Adam's ``betas[0]``). Several optimizers prefix
      their names as MMEngine does (``optimizer1.pg1_lr``).

    Validation and test values need nothing here: ``HookCallback`` hands the
    values logged during the loop to ``after_val_epoch``/``after_test_epoch``,
    where ``RuntimeInfoHook`` records them.
    """

    priority = "VERY_HIGH"

    def __init__(self) -> None:
        # (param_groups, group index, lr key or None, momentum key or None), fixed at before_train
        self._group_keys: list[tuple[list[dict[str, Any]], int, str | None, str | None]] = []
        self._metric_keys: dict[str, str] = {}

    def before_train(self, runner: RunnerLike) -> None:
        self._group_keys = []
        for prefix, param_groups in _param_groups(runner.optim_wrapper):
            for index, group in enumerate(param_groups):
                lr_key = f"train/{prefix}pg{index}_lr" if index else None
                momentum_key = None
                if "betas" in group or group.get("momentum"):
                    momentum_key = f"train/{prefix}pg{index}_momentum" if index else f"train/{prefix}momentum"
                if lr_key or momentum_key:
                    self._group_keys.append((param_groups, index, lr_key, momentum_key))

    def before_train_iter(self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        if not self._group_keys:
            return
        hub = runner.message_hub
        for param_groups, index, lr_key, momentum_key in self._group_keys:
            group = param_groups[index]
            if lr_key is not None:
                hub.update_scalar(lr_key, group["lr"])
            if momentum_key is not None:
                betas = group.get("betas")
                hub.update_scalar(momentum_key, betas[0] if betas is not None else group["momentum"])

    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        trainer = getattr(runner, "trainer", None)
        if trainer is None:
            return
        logged = _internals.train_step_metrics(trainer)
        if not logged:
            return
        hub = runner.message_hub
        keys = self._metric_keys
        returned = outputs if isinstance(outputs, Mapping) else {}
        for name, value in logged.items():
            if name in returned:
                continue
            key = keys.get(name)
            if key is None:
                key = keys[name] = f"train/{name}"
            hub.update_scalar(key, value)


def _is_scalar(value: Any) -> bool:
    """A number, or a tensor or array of one element (what the message hub accepts)."""
    if isinstance(value, (int, float)):
        return True
    numel = getattr(value, "numel", None) or getattr(value, "size", None)
    if callable(numel):
        return bool(numel() == 1)
    return isinstance(numel, int) and numel == 1


def _param_groups(optim_wrapper: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """``(key prefix, param_groups)`` of each optimizer: ``""`` for one, ``"<name>."`` for several."""
    if optim_wrapper is None:
        return []
    wrappers = getattr(optim_wrapper, "optim_wrappers", None)
    if isinstance(wrappers, Mapping):
        return [(f"{name}.", torch_optimizer(wrapper).param_groups) for name, wrapper in wrappers.items()]
    return [("", torch_optimizer(optim_wrapper).param_groups)]


def torch_optimizer(optimizer: Any) -> Any:
    """The ``torch.optim.Optimizer`` inside an OptimWrapper or a ``LightningOptimizer`` (or ``optimizer`` itself)."""
    for _ in range(3):  # OptimWrapper -> LightningOptimizer -> torch optimizer at most
        if isinstance(optimizer, torch.optim.Optimizer) or not hasattr(optimizer, "optimizer"):
            break
        optimizer = optimizer.optimizer
    return optimizer
