"""Rank helpers for the core: rank and world size from ``torch.distributed`` once it is initialised.

Lightning's strategies initialise the process group before any hook runs, so
these agree with ``trainer.global_rank``; nothing is read from environment
variables.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch.distributed as torch_dist

__all__ = ["barrier", "get_rank", "get_world_size", "is_distributed", "is_main_process", "master_only"]

F = TypeVar("F", bound=Callable[..., Any])


def is_distributed() -> bool:
    return torch_dist.is_available() and torch_dist.is_initialized()


def get_rank() -> int:
    return torch_dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return torch_dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def barrier() -> None:
    if is_distributed():
        torch_dist.barrier()


def master_only(func: F) -> F:
    """Run ``func`` on rank zero only; other ranks get ``None``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs) if is_main_process() else None

    return wrapper  # type: ignore[return-value]
