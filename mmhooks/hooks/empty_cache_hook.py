"""``EmptyCacheHook``: hand cached, unused CUDA memory back to the driver at chosen points."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional, Union

import torch

from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["EmptyCacheHook"]


def _release_cuda_cache() -> None:
    """``torch.cuda.empty_cache()`` when CUDA is usable; nothing otherwise."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@HOOKS.register_module()
class EmptyCacheHook(Hook):
    """Release PyTorch's cached CUDA memory before/after epochs or after iterations.

    Useful when another process shares the GPU, or when memory fragments
    between training and validation. The flags apply to the train, val and
    test loops alike. Without CUDA every call is a no-op.

    Args:
        before_epoch: Release before every epoch.
        after_epoch: Release after every epoch.
        after_iter: Release after every iteration (slow; for debugging memory).

    MMEngine parity:
        MMEngine also empties the cache of Moore Threads (MUSA) devices; only CUDA
        is handled here.

    Example:
        >>> from types import SimpleNamespace
        >>> EmptyCacheHook(after_iter=True).after_train_iter(SimpleNamespace(), batch_idx=0)
    """

    priority = "NORMAL"

    def __init__(self, before_epoch: bool = False, after_epoch: bool = True, after_iter: bool = False) -> None:
        self._do_before_epoch = before_epoch
        self._do_after_epoch = after_epoch
        self._do_after_iter = after_iter

    def _before_epoch(self, runner: RunnerLike, mode: str = "train") -> None:
        if self._do_before_epoch:
            _release_cuda_cache()

    def _after_epoch(self, runner: RunnerLike, mode: str = "train") -> None:
        if self._do_after_epoch:
            _release_cuda_cache()

    def _after_iter(
        self,
        runner: RunnerLike,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Optional[Union[Sequence[Any], dict[str, Any]]] = None,
        mode: str = "train",
    ) -> None:
        if self._do_after_iter:
            _release_cuda_cache()
