"""The top-level config keys the Runner reads (``Runner.__init__``'s keywords, as ``Runner.from_cfg`` reads them).

Kept here, free of torch, so that configuration checks (``--cfg-options``)
run before anything heavy is imported; a test keeps it equal to the Runner's
signature.
"""

from __future__ import annotations

__all__ = ["RUNNER_KEYS"]

RUNNER_KEYS = frozenset({
    "auto_scale_lr", "backend", "custom_hooks", "data_preprocessor", "default_hooks", "default_scope", "env_cfg",
    "experiment_name", "launcher", "load_from", "log_level", "log_processor", "model", "optim_wrapper",
    "param_scheduler", "randomness", "resume", "test_cfg", "test_dataloader", "test_evaluator", "train_cfg",
    "train_dataloader", "trainer", "val_cfg", "val_dataloader", "val_evaluator", "visualizer", "work_dir",
})
