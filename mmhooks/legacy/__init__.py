"""MMCV 1.x support: MMCV-style hooks on mmhooks runners, MMCV's LR/momentum formulas, config conversion.

- :class:`LegacyHook`, :func:`is_legacy_hook`: the MMCV hook protocol (mount points take only ``runner``).
- :class:`LegacyHookAdapter`, :class:`LegacyRunnerView`: run an MMCV hook inside mmhooks' hook dispatch.
- ``*LrUpdaterHook`` / ``*MomentumUpdaterHook``, :func:`build_lr_updater`, :func:`build_momentum_updater`.
- :func:`convert_mmcv_config`, :func:`migrate_file`, :func:`migrate_tree`: MMCV 1.x config (a file, or a
  whole ``_base_`` tree) -> MMEngine-style config.
- :class:`EpochBasedRunner`, :class:`IterBasedRunner`: MMCV's runner API training on Lightning, with MMCV's
  ``CheckpointHook``, ``EMAHook``, ``EvalHook``, ``IterTimerHook``, ``TextLoggerHook`` (``.log.json``),
  ``TensorboardLoggerHook`` (also as ``Legacy*Hook`` in ``HOOKS``).
"""

from __future__ import annotations

from mmhooks._lazy import lazy_exports

_LR = "mmhooks.legacy.lr_updater"
_MOMENTUM = "mmhooks.legacy.momentum_updater"
_RUNNER = "mmhooks.legacy.runner"
_OPTIMIZER = "mmhooks.legacy.optimizer_hook"
_CHECKPOINT = "mmhooks.legacy.checkpoint_hook"
_EMA = "mmhooks.legacy.ema_hook"
_EVAL = "mmhooks.legacy.eval_hook"
_LOGGERS = "mmhooks.legacy.logger_hooks"
_MODULES = {
    "LegacyHook": "mmhooks.legacy.hook",
    "MMCV_PRIORITIES": "mmhooks.legacy.hook",
    "is_legacy_hook": "mmhooks.legacy.hook",
    "LogBuffer": "mmhooks.legacy.log_buffer",
    "LegacyHookAdapter": "mmhooks.legacy.runner_view",
    "LegacyRunnerView": "mmhooks.legacy.runner_view",
    "to_mmcv_outputs": "mmhooks.legacy.runner_view",
    "convert_mmcv_config": "mmhooks.legacy.convert",
    "migrate_file": "mmhooks.legacy.convert",
    "load_mmcv_file": "mmhooks.legacy.convert",
    "migrate_tree": "mmhooks.legacy.migrate_tree",
    "format_config": "mmhooks.legacy.pyformat",
    "build_lr_updater": _LR,
    "LrUpdaterHook": _LR,
    "LegacyLrUpdaterHook": _LR,
    "FixedLrUpdaterHook": _LR,
    "StepLrUpdaterHook": _LR,
    "ExpLrUpdaterHook": _LR,
    "PolyLrUpdaterHook": _LR,
    "InvLrUpdaterHook": _LR,
    "CosineAnnealingLrUpdaterHook": _LR,
    "FlatCosineAnnealingLrUpdaterHook": _LR,
    "CosineRestartLrUpdaterHook": _LR,
    "CyclicLrUpdaterHook": _LR,
    "OneCycleLrUpdaterHook": _LR,
    "LinearAnnealingLrUpdaterHook": _LR,
    "build_momentum_updater": _MOMENTUM,
    "MomentumUpdaterHook": _MOMENTUM,
    "LegacyMomentumUpdaterHook": _MOMENTUM,
    "StepMomentumUpdaterHook": _MOMENTUM,
    "CosineAnnealingMomentumUpdaterHook": _MOMENTUM,
    "LinearAnnealingMomentumUpdaterHook": _MOMENTUM,
    "CyclicMomentumUpdaterHook": _MOMENTUM,
    "OneCycleMomentumUpdaterHook": _MOMENTUM,
    "BaseLegacyRunner": _RUNNER,
    "EpochBasedRunner": _RUNNER,
    "IterBasedRunner": _RUNNER,
    "CheckpointHook": _CHECKPOINT,
    "LegacyCheckpointHook": _CHECKPOINT,
    "EMAHook": _EMA,
    "LegacyEMAHook": _EMA,
    "LegacyIterTimerHook": _LOGGERS,
    "LegacyLoggerHook": _LOGGERS,
    "LegacyTextLoggerHook": _LOGGERS,
    "LegacyTensorboardLoggerHook": _LOGGERS,
    "EvalHook": _EVAL,
    "LegacyEvalHook": _EVAL,
    "OptimizerHook": _OPTIMIZER,
    "OptimizerSettings": _OPTIMIZER,
    "parse_optimizer_config": _OPTIMIZER,
}

__all__ = sorted([*_MODULES, "import_all"])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import the legacy hooks so that their names are registered in ``HOOKS``."""
    from mmhooks._lazy import import_modules

    import_modules([_LR, _MOMENTUM, _CHECKPOINT, _EMA, _EVAL, _LOGGERS, _RUNNER])
