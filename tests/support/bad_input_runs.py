"""A tiny, valid run config (two batches of 4x4 images) for the bad-input and CLI tests to break one key at a time."""

from __future__ import annotations

import copy
from typing import Any

# What a config file needs to run this config: the example pieces live in mmhooks.testing.examples.
CUSTOM_IMPORTS = dict(imports=["mmhooks.testing.examples"], allow_failed_imports=False)


def images(num_samples: int, seed: int = 0) -> dict[str, Any]:
    return dict(type="SyntheticImages", num_samples=num_samples, size=4, num_classes=2, seed=seed)


def loader(num_samples: int, seed: int = 0, **overrides: Any) -> dict[str, Any]:
    cfg = dict(batch_size=4, num_workers=0, dataset=images(num_samples, seed),
               sampler=dict(type="DefaultSampler", shuffle=False), collate_fn=dict(type="default_collate"))
    cfg.update(overrides)
    return {key: value for key, value in cfg.items() if value is not None}


def tiny_cfg(work_dir: str, /, **overrides: Any) -> dict[str, Any]:
    """A one-epoch run of SmallCNN on 8 images with validation on 4; ``key=None`` removes a key."""
    cfg: dict[str, Any] = dict(
        custom_imports=copy.deepcopy(CUSTOM_IMPORTS),
        model=dict(type="SmallCNN", num_classes=2, width=4),
        work_dir=work_dir,
        train_dataloader=loader(8),
        val_dataloader=loader(4, seed=1),
        test_dataloader=loader(4, seed=2),
        val_evaluator=dict(type="TopOneAccuracy"),
        test_evaluator=dict(type="TopOneAccuracy"),
        train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
        val_cfg=dict(),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1),
                           checkpoint=dict(type="CheckpointHook", interval=1)),
        randomness=dict(seed=0),
        trainer=dict(enable_progress_bar=False, enable_model_summary=False),
    )
    cfg.update(overrides)
    return {key: value for key, value in cfg.items() if value is not None}
