"""``SyncBuffersHook``: average model buffers (BatchNorm statistics) across ranks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as torch_dist

from mmhooks.dist import get_world_size, is_distributed
from mmhooks.hooks.hook import Hook
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["SyncBuffersHook", "average_across_ranks"]


def average_across_ranks(tensors: Iterable[torch.Tensor]) -> None:
    """Replace each tensor, in place, by its mean over all ranks; a no-op without a process group.

    Tensors are reduced in one flat message per (dtype, device). Integer
    tensors receive the truncated mean, as a ``copy_`` from float does.
    """
    world_size = get_world_size()
    if world_size == 1:
        return
    buckets: dict[tuple[torch.dtype, torch.device], list[torch.Tensor]] = {}
    for tensor in tensors:
        buckets.setdefault((tensor.dtype, tensor.device), []).append(tensor.data)
    needs_cuda = torch_dist.get_backend() == "nccl"
    for (_, device), bucket in buckets.items():
        flat = torch.cat([tensor.reshape(-1) for tensor in bucket])
        if needs_cuda and flat.device.type != "cuda":
            flat = flat.cuda()
        torch_dist.all_reduce(flat, op=torch_dist.ReduceOp.SUM)
        mean = torch.true_divide(flat, world_size).to(device)
        split = mean.split([t.numel() for t in bucket])  # type: ignore[no-untyped-call]  # Tensor.split is unannotated
        for tensor, synced in zip(bucket, split):
            tensor.copy_(synced.view_as(tensor))


@HOOKS.register_module()
class SyncBuffersHook(Hook):
    """Average ``runner.model``'s buffers over all ranks after each training epoch.

    Under DDP every rank updates its own BatchNorm running statistics; without
    this hook they drift apart and rank zero's checkpoint and validation use
    only its own share of the data. Buffers are averaged after every training
    epoch, and before a validation round unless the epoch end has just done it
    (the iteration-based loop validates in mid "epoch").

    MMEngine parity:
        MMEngine decides once, in the constructor, whether training is
        distributed. Lightning creates the process group after the hooks are
        built, so this hook asks at every call.
    """

    priority = "NORMAL"

    def __init__(self) -> None:
        self.called_in_train = False

    @property
    def distributed(self) -> bool:
        """Whether a process group with more than one rank is running now."""
        return is_distributed() and get_world_size() > 1

    def before_val_epoch(self, runner: RunnerLike) -> None:
        if self.distributed:
            if not self.called_in_train:
                average_across_ranks(runner.model.buffers())
            self.called_in_train = False

    def after_train_epoch(self, runner: RunnerLike) -> None:
        if self.distributed:
            average_across_ranks(runner.model.buffers())
            self.called_in_train = True
