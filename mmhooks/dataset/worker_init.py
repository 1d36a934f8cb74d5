"""Seeding of dataloader worker processes, so augmentation randomness is reproducible per worker and rank."""

from __future__ import annotations

import random
import warnings

import numpy as np
import torch

__all__ = ["worker_init_fn"]


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int,
                   disable_subprocess_warning: bool = False) -> None:
    """Seed ``random``, NumPy and torch in a worker with ``num_workers * rank + worker_id + seed``.

    Every worker of every rank gets its own seed, and the same seed in every run.

    Args:
        worker_id: Index of this worker in ``[0, num_workers)``.
        num_workers: Workers per rank.
        rank: Rank of the process that owns the worker.
        seed: The run's random seed.
        disable_subprocess_warning: Silence warnings in every worker but the first.
    """
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        warnings.simplefilter("ignore")
