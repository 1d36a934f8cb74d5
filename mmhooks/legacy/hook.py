"""The MMCV 1.x hook protocol: every mount point takes only ``runner``.

Write a hook against MMCV's runner API by subclassing :class:`LegacyHook` (or use an MMCV
``mmcv.runner.Hook`` subclass as is) and hand it to :class:`~mmhooks.legacy.LegacyHookAdapter`,
which runs it on MMEngine mount points with MMCV's counters.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

__all__ = ["GENERIC_FALLBACK", "LEGACY_STAGES", "MMCV_PRIORITIES", "LegacyHook", "is_legacy_hook"]

LEGACY_STAGES = (
    "before_run",
    "before_train_epoch",
    "before_train_iter",
    "after_train_iter",
    "after_train_epoch",
    "before_val_epoch",
    "before_val_iter",
    "after_val_iter",
    "after_val_epoch",
    "after_run",
)

# A specific stage falls back to this generic one when a hook does not override it.
GENERIC_FALLBACK = {
    "before_train_epoch": "before_epoch",
    "before_val_epoch": "before_epoch",
    "after_train_epoch": "after_epoch",
    "after_val_epoch": "after_epoch",
    "before_train_iter": "before_iter",
    "before_val_iter": "before_iter",
    "after_train_iter": "after_iter",
    "after_val_iter": "after_iter",
}

# Priorities ``register_training_hooks`` (and MMDet 2.x) give MMCV hooks where MMEngine's differ.
MMCV_PRIORITIES = {
    "LrUpdaterHook": "VERY_HIGH",  # MMEngine ParamSchedulerHook: LOW
    "MomentumUpdaterHook": "HIGH",  # MMEngine: part of ParamSchedulerHook (LOW)
    "OptimizerHook": "ABOVE_NORMAL",  # MMEngine: no hook (OptimWrapper)
    "CheckpointHook": "NORMAL",  # MMEngine: VERY_LOW
    "IterTimerHook": "LOW",  # MMEngine: NORMAL
    "LoggerHook": "VERY_LOW",  # MMEngine: BELOW_NORMAL
    "EvalHook": "LOW",  # MMEngine: ValLoop, no hook
    "DistSamplerSeedHook": "NORMAL",
}


class LegacyHook:
    """Base class with MMCV's mount points, fallbacks and helper predicates.

    Counters follow MMCV: ``runner.epoch``, ``runner.iter`` and ``runner.inner_iter`` are 0-based and
    ``runner._max_epochs`` / ``runner._max_iters`` are read by the ``is_last_*`` predicates.
    """

    priority: Any = "NORMAL"
    stages = LEGACY_STAGES

    def before_run(self, runner: Any) -> None:
        pass

    def after_run(self, runner: Any) -> None:
        pass

    def before_epoch(self, runner: Any) -> None:
        pass

    def after_epoch(self, runner: Any) -> None:
        pass

    def before_iter(self, runner: Any) -> None:
        pass

    def after_iter(self, runner: Any) -> None:
        pass

    def before_train_epoch(self, runner: Any) -> None:
        self.before_epoch(runner)

    def before_val_epoch(self, runner: Any) -> None:
        self.before_epoch(runner)

    def after_train_epoch(self, runner: Any) -> None:
        self.after_epoch(runner)

    def after_val_epoch(self, runner: Any) -> None:
        self.after_epoch(runner)

    def before_train_iter(self, runner: Any) -> None:
        self.before_iter(runner)

    def before_val_iter(self, runner: Any) -> None:
        self.before_iter(runner)

    def after_train_iter(self, runner: Any) -> None:
        self.after_iter(runner)

    def after_val_iter(self, runner: Any) -> None:
        self.after_iter(runner)

    # -------------------------------------------------------------- predicates
    def every_n_epochs(self, runner: Any, n: int) -> bool:
        return (runner.epoch + 1) % n == 0 if n > 0 else False

    def every_n_inner_iters(self, runner: Any, n: int) -> bool:
        return (runner.inner_iter + 1) % n == 0 if n > 0 else False

    def every_n_iters(self, runner: Any, n: int) -> bool:
        return (runner.iter + 1) % n == 0 if n > 0 else False

    def end_of_epoch(self, runner: Any) -> bool:
        return bool(runner.inner_iter + 1 == len(runner.data_loader))

    def is_last_epoch(self, runner: Any) -> bool:
        return bool(runner.epoch + 1 == runner._max_epochs)

    def is_last_iter(self, runner: Any) -> bool:
        return bool(runner.iter + 1 == runner._max_iters)

    def get_triggered_stages(self) -> list[str]:
        """The stages this hook's class overrides, a generic override counting for its specific stages."""
        cls = type(self)
        overridden = {
            name
            for name in (*LEGACY_STAGES, "before_epoch", "after_epoch", "before_iter", "after_iter")
            if getattr(cls, name, None) is not getattr(LegacyHook, name)
        }
        return [
            stage for stage in LEGACY_STAGES
            if stage in overridden or GENERIC_FALLBACK.get(stage, "") in overridden
        ]


_MMENGINE_ONLY_ARGS = {"batch_idx", "data_batch", "outputs", "metrics", "checkpoint", "mode"}


_MMENGINE_ONLY_STAGES = (
    "before_train", "after_train", "before_val", "after_val", "before_test", "after_test",
    "before_save_checkpoint", "after_load_checkpoint", "before_test_epoch", "after_test_epoch",
)


def is_legacy_hook(obj: Any) -> bool:
    """True when ``obj`` follows the MMCV protocol: its hook methods take only ``runner``.

    A :class:`LegacyHook` is legacy; an mmhooks/MMEngine ``Hook`` is not (its iteration stages take
    ``batch_idx``). Other objects are judged by the signatures of the stage methods they define.
    """
    if isinstance(obj, LegacyHook):
        return True
    from mmhooks.hooks.hook import Hook

    if isinstance(obj, Hook):
        return False
    mm_hook = sys.modules.get("mmengine.hooks.hook")
    if mm_hook is not None and isinstance(obj, mm_hook.Hook):
        return False
    if any(callable(getattr(obj, name, None)) for name in _MMENGINE_ONLY_STAGES):
        return False  # MMCV has no such mount point: written for MMEngine, whatever its signatures
    names = (*LEGACY_STAGES, "before_epoch", "after_epoch", "before_iter", "after_iter")
    found = False
    for name in names:
        method = getattr(obj, name, None)
        if not callable(method):
            continue
        try:
            params = inspect.signature(method).parameters.values()
        except (TypeError, ValueError):
            continue
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if any(p.name in _MMENGINE_ONLY_ARGS for p in params) or len(positional) != 1:
            return False
        found = True
    return found
