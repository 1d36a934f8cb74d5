"""Shared fixtures: a quiet Lightning Trainer factory and tiny loaders."""

from __future__ import annotations

import warnings

import pytest
import torch

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*")


@pytest.fixture
def make_trainer(tmp_path):
    """A CPU Trainer without progress bar, summary, logger or default checkpointing."""
    import lightning.pytorch as pl

    quiet = dict(
        default_root_dir=str(tmp_path),
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    return lambda **kw: pl.Trainer(**{**quiet, **kw})
