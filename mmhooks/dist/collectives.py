"""Collective operations that also work in a single process (``mmengine.dist``'s communication functions).

Without a process group (or with one process) each is the identity: a
reduction leaves the tensor as it is, a gather returns ``[data]``. Tensors
travel on the backend's device (CUDA for NCCL) and come back to their own.
"""

from __future__ import annotations

import os
import os.path as osp
import pickle
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterable
from itertools import chain, zip_longest
from typing import Any

import numpy as np
import torch
import torch.distributed as torch_dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from mmhooks.dist import (
    _or_default,
    barrier,
    cast_data_device,
    get_comm_device,
    get_data_device,
    get_default_group,
    get_dist_info,
    get_rank,
    get_world_size,
)
from mmhooks.errors import AssertedTypeError

__all__ = ["all_gather", "all_gather_object", "all_reduce", "all_reduce_dict", "all_reduce_params", "broadcast",
           "broadcast_object_list", "collect_results", "collect_results_cpu", "collect_results_gpu", "gather",
           "gather_object", "sync_random_seed"]

_REDUCE_OPS = ("sum", "product", "min", "max", "band", "bor", "bxor")


def _reduce_op(name: str) -> Any:
    lowered = name.lower()
    if lowered not in _REDUCE_OPS:
        raise ValueError(f"all_reduce: op {name!r}; expected 'mean' or one of {list(_REDUCE_OPS)}.")
    return getattr(torch_dist.ReduceOp, lowered.upper())


def all_reduce(data: torch.Tensor, op: str = "sum", group: Any = None) -> None:
    """Reduce ``data`` in place across ranks (``'sum'``, ``'mean'``, ``'product'``, ``'min'``, ``'max'``, bitwise)."""
    world_size = get_world_size(group)
    if world_size <= 1:
        return
    group = _or_default(group)
    on_device = cast_data_device(data, get_comm_device(group))
    if op.lower() == "mean":
        torch_dist.all_reduce(on_device, _reduce_op("sum"), group)
        on_device = torch.true_divide(on_device, world_size)
    else:
        torch_dist.all_reduce(on_device, _reduce_op(op), group)
    cast_data_device(on_device, get_data_device(data), out=data)


def all_gather(data: torch.Tensor, group: Any = None) -> list[torch.Tensor]:
    """Every rank's ``data`` (same shape on each), in rank order."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = _or_default(group)
    device = get_comm_device(group)
    gathered = [torch.empty_like(data, device=device) for _ in range(world_size)]
    torch_dist.all_gather(gathered, cast_data_device(data, device), group)
    return list(cast_data_device(gathered, get_data_device(data)))


def gather(data: torch.Tensor, dst: int = 0, group: Any = None) -> list[torch.Tensor]:
    """Every rank's ``data`` on rank ``dst`` (in rank order); an empty list elsewhere."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = _or_default(group)
    device = get_comm_device(group)
    is_dst = get_rank(group) == dst
    gathered = [torch.empty_like(data, device=device) for _ in range(world_size)] if is_dst else []
    torch_dist.gather(cast_data_device(data, device), gathered, dst, group)
    return list(cast_data_device(gathered, get_data_device(data))) if is_dst else gathered


def broadcast(data: torch.Tensor, src: int = 0, group: Any = None) -> None:
    """Overwrite ``data`` in place with rank ``src``'s."""
    if get_world_size(group) <= 1:
        return
    group = _or_default(group)
    on_device = cast_data_device(data, get_comm_device(group)).contiguous()
    torch_dist.broadcast(on_device, src, group)
    if get_rank(group) != src:
        cast_data_device(on_device, get_data_device(data), out=data)


def sync_random_seed(group: Any = None) -> int:
    """A random seed drawn on rank 0 and shared by every rank (so shuffles agree)."""
    seed = int(np.random.randint(2**31))
    if get_world_size(group) == 1:
        return seed
    group = _or_default(group)
    value = torch.tensor(seed if get_rank(group) == 0 else 0, dtype=torch.int32, device=get_comm_device(group))
    torch_dist.broadcast(value, src=0, group=group)
    return int(value.item())


def broadcast_object_list(data: list[Any], src: int = 0, group: Any = None) -> None:
    """Overwrite the (picklable) objects of ``data`` in place with rank ``src``'s."""
    if not isinstance(data, list):
        raise AssertedTypeError(f"broadcast_object_list: data must be a list, got {type(data).__name__}")
    if get_world_size(group) > 1:
        torch_dist.broadcast_object_list(data, src, _or_default(group))


def all_reduce_dict(data: dict[str, torch.Tensor], op: str = "sum", group: Any = None) -> None:
    """Reduce every tensor of ``data`` in place, in one flat communication (keys in sorted order)."""
    if not isinstance(data, dict):
        raise AssertedTypeError(f"all_reduce_dict: data must be a dict of tensors, got {type(data).__name__}")
    if get_world_size(group) <= 1:
        return
    keys = sorted(data)
    flat = torch.cat([data[key].flatten() for key in keys])
    all_reduce(flat, op=op, group=group)
    pieces = torch.split(flat, [data[key].numel() for key in keys])
    for key, piece in zip(keys, pieces):
        data[key] = piece.reshape(data[key].shape)


def all_gather_object(data: Any, group: Any = None) -> list[Any]:
    """Every rank's (picklable) ``data``, in rank order."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    gathered: list[Any] = [None] * world_size
    torch_dist.all_gather_object(gathered, data, _or_default(group))
    return gathered


def gather_object(data: Any, dst: int = 0, group: Any = None) -> list[Any] | None:
    """Every rank's (picklable) ``data`` on rank ``dst``; ``None`` elsewhere."""
    world_size = get_world_size(group)
    if world_size == 1:
        return [data]
    group = _or_default(group)
    gathered: list[Any] | None = [None] * world_size if get_rank(group) == dst else None
    torch_dist.gather_object(data, gathered, dst, group)
    return gathered


def _interleave(parts: Iterable[list[Any]], size: int) -> list[Any]:
    """Rank ``r`` holds samples ``r, r + W, ...``: zip the parts back into sampler order, drop the padding."""
    return [item for item in chain.from_iterable(zip_longest(*parts)) if item is not None][:size]


def collect_results(results: list[Any], size: int, device: str = "cpu", tmpdir: str | None = None) -> list[Any] | None:
    """Every rank's ``results`` on rank 0, in sampler order and cut to ``size``; ``None`` on other ranks.

    ``device='cpu'`` exchanges pickles through ``tmpdir`` (a directory every
    rank sees; a new one under ``.dist_test`` when ``None``); ``'gpu'`` and
    ``'npu'`` gather objects through the backend.

    Raises:
        NotImplementedError: unknown ``device``.
        ValueError: ``tmpdir`` with a device other than the CPU.
    """
    if device not in ("cpu", "gpu", "npu"):
        raise NotImplementedError(f"device must be 'cpu' , 'gpu' or 'npu', but got {device}")
    if device == "cpu":
        return collect_results_cpu(results, size, tmpdir)
    if tmpdir is not None:
        raise ValueError(f"collect_results: tmpdir should be None when device is {device}")
    return collect_results_gpu(results, size)


def collect_results_gpu(result_part: list[Any], size: int) -> list[Any] | None:
    """:func:`collect_results` through the backend (``all_gather_object``)."""
    rank, world_size = get_dist_info()
    if world_size == 1:
        return result_part[:size]
    parts = all_gather_object(result_part)
    return _interleave(parts, size) if rank == 0 else None


def _shared_tmpdir() -> str:
    """A fresh directory under ``./.dist_test`` made by rank 0, its name broadcast to every rank."""
    name = [tempfile.mkdtemp(dir=_made(".dist_test")) if get_rank() == 0 else None]
    broadcast_object_list(name, src=0)
    return str(name[0])


def _made(directory: str) -> str:
    os.makedirs(directory, exist_ok=True)
    return directory


def collect_results_cpu(result_part: list[Any], size: int, tmpdir: str | None = None) -> list[Any] | None:
    """:func:`collect_results` through pickles in a shared directory (removed afterwards).

    Raises:
        FileNotFoundError: a rank's part is missing (``tmpdir`` is not shared by every rank).
    """
    rank, world_size = get_dist_info()
    if world_size == 1:
        return result_part[:size]
    directory = _shared_tmpdir() if tmpdir is None else _made(tmpdir)
    with open(osp.join(directory, f"part_{rank}.pkl"), "wb") as f:
        pickle.dump(result_part, f, protocol=2)
    barrier()
    if rank != 0:
        return None
    parts = []
    for i in range(world_size):
        path = osp.join(directory, f"part_{i}.pkl")
        if not osp.exists(path):
            raise FileNotFoundError(f"{directory} is not a shared directory for rank {i}: every rank must see it.")
        with open(path, "rb") as f:
            parts.append(pickle.load(f))
    shutil.rmtree(directory)
    return _interleave(parts, size)


def all_reduce_params(params: Iterable[torch.Tensor], coalesce: bool = True, bucket_size_mb: int = -1,
                      op: str = "sum", group: Any = None) -> None:
    """Reduce parameters' data in place, flattened into buckets (one per dtype, or of ``bucket_size_mb``)."""
    if get_world_size(group) == 1:
        return
    tensors = [param.data for param in params]
    if not coalesce:
        for tensor in tensors:
            all_reduce(tensor, op=op, group=group)
        return
    for bucket in _buckets(tensors, bucket_size_mb):
        flat = _flatten_dense_tensors(bucket)  # type: ignore[no-untyped-call]
        all_reduce(flat, op=op, group=group)
        for tensor, synced in zip(bucket, _unflatten_dense_tensors(flat, bucket)):  # type: ignore[no-untyped-call]
            tensor.copy_(synced)


def _buckets(tensors: list[torch.Tensor], bucket_size_mb: int) -> list[list[torch.Tensor]]:
    """Tensors grouped by type, split into buckets of at most ``bucket_size_mb`` MiB when positive."""
    by_type: OrderedDict[str, list[torch.Tensor]] = OrderedDict()
    for tensor in tensors:
        by_type.setdefault(tensor.type(), []).append(tensor)
    if bucket_size_mb <= 0:
        return list(by_type.values())
    limit, buckets = bucket_size_mb * 1024 * 1024, []
    for same_type in by_type.values():
        current: list[torch.Tensor] = []
        used = 0
        for tensor in same_type:
            nbytes = tensor.numel() * tensor.element_size()
            if current and used + nbytes > limit:
                buckets.append(current)
                current, used = [], 0
            current.append(tensor)
            used += nbytes
        if current:
            buckets.append(current)
    return buckets
