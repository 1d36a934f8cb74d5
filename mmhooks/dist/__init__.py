"""Distributed helpers with ``mmengine.dist``'s names: ranks and groups, collectives, result collection.

Everything works in a single process too (rank 0 of 1, collectives are the
identity), so hooks and metrics call them unconditionally. Lightning's
strategies initialise the process group before any hook runs, so the ranks
agree with ``trainer.global_rank``.

The rank helpers live here (tests patch ``mmhooks.dist.get_rank``);
:mod:`mmhooks.dist.collectives` holds the communication functions and
:mod:`mmhooks.dist.utils` is MMEngine's module path for the helpers.
"""

from __future__ import annotations

import datetime
import functools
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as torch_dist

__all__ = ["all_gather", "all_gather_object", "all_reduce", "all_reduce_dict", "all_reduce_params", "barrier",
           "broadcast", "broadcast_object_list", "cast_data_device", "collect_results", "collect_results_cpu",
           "collect_results_gpu", "gather", "gather_object", "get_backend", "get_comm_device", "get_data_device",
           "get_default_group", "get_dist_info", "get_local_group", "get_local_rank", "get_local_size", "get_rank",
           "get_world_size", "infer_launcher", "init_dist", "init_local_group", "is_distributed", "is_main_process",
           "master_only", "sync_random_seed"]

F = TypeVar("F", bound=Callable[..., Any])
_local_group: Any = None  # the ranks on this machine, once init_local_group made it


def is_distributed() -> bool:
    """Whether a ``torch.distributed`` process group is initialised."""
    return torch_dist.is_available() and torch_dist.is_initialized()


def get_default_group() -> Any:
    """The default process group (``None`` without one)."""
    return torch_dist.distributed_c10d._get_default_group() if is_distributed() else None


def _or_default(group: Any) -> Any:
    return get_default_group() if group is None else group


def get_backend(group: Any = None) -> str | None:
    """The group's backend name (``'nccl'``, ``'gloo'``...), ``None`` without a process group."""
    return str(torch_dist.get_backend(_or_default(group))) if is_distributed() else None


def get_world_size(group: Any = None) -> int:
    """Processes in ``group`` (the default group when ``None``); 1 without a process group."""
    return torch_dist.get_world_size(_or_default(group)) if is_distributed() else 1


def get_rank(group: Any = None) -> int:
    """This process's rank in ``group``; 0 without a process group."""
    return torch_dist.get_rank(_or_default(group)) if is_distributed() else 0


def get_dist_info(group: Any = None) -> tuple[int, int]:
    """``(rank, world_size)``."""
    return get_rank(group), get_world_size(group)


def is_main_process(group: Any = None) -> bool:
    """Whether this process is rank 0 of ``group``."""
    return (get_rank() if group is None else get_rank(group)) == 0


def barrier(group: Any = None) -> None:
    """Wait for every process of ``group``; nothing to wait for without a process group."""
    if is_distributed():
        torch_dist.barrier(_or_default(group))


def master_only(func: F) -> F:
    """Run ``func`` on rank zero only; other ranks get ``None``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs) if is_main_process() else None

    return wrapper  # type: ignore[return-value]


# ------------------------------------------------------------------ local group
def init_local_group(node_rank: int, num_gpus_per_node: int) -> None:
    """Create the group of this machine's processes (ranks ``node_rank * n`` to ``(node_rank + 1) * n - 1``).

    Raises:
        RuntimeError: the local group exists already.
    """
    global _local_group
    if _local_group is not None:
        raise RuntimeError("init_local_group: the local process group exists already; create it once per process.")
    first = node_rank * num_gpus_per_node
    _local_group = torch_dist.new_group(list(range(first, first + num_gpus_per_node)))


def get_local_group() -> Any:
    """The group of this machine's processes; ``None`` without a process group or before ``init_local_group``.

    MMEngine parity:
        MMEngine raises ``RuntimeError`` when a process group exists but
        ``init_local_group`` was not called; under Lightning (which never calls
        it) that would break every caller, so ``None`` is returned.
    """
    return _local_group if is_distributed() else None


def get_local_rank() -> int:
    """This process's rank on its machine: in the local group, else ``LOCAL_RANK`` (set by launchers), else 0.

    MMEngine parity:
        MMEngine raises ``RuntimeError`` without ``init_local_group``; mmhooks
        reads the launcher's ``LOCAL_RANK`` (torchrun and Lightning set it).
    """
    if not is_distributed():
        return 0
    if _local_group is not None:
        return torch_dist.get_rank(_local_group)
    return int(os.environ.get("LOCAL_RANK", get_rank()))


def get_local_size() -> int:
    """Processes on this machine: the local group's size, else ``LOCAL_WORLD_SIZE``, else the world size."""
    if not is_distributed():
        return 1
    if _local_group is not None:
        return torch_dist.get_world_size(_local_group)
    return int(os.environ.get("LOCAL_WORLD_SIZE", get_world_size()))


# ------------------------------------------------------------------ launching
def infer_launcher() -> str:
    """``'pytorch'`` (torchrun's ``WORLD_SIZE``), ``'slurm'``, ``'mpi'`` or ``'none'``, from the environment."""
    for variable, launcher in (("WORLD_SIZE", "pytorch"), ("SLURM_NTASKS", "slurm"),
                               ("OMPI_COMM_WORLD_LOCAL_RANK", "mpi")):
        if variable in os.environ:
            return launcher
    return "none"


def _set_device(local_rank: int) -> None:
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)


def init_dist(launcher: str, backend: str = "nccl", init_backend: str = "torch", **kwargs: Any) -> None:
    """Initialise the process group as MMEngine's launchers do (``'pytorch'``, ``'mpi'`` or ``'slurm'``).

    ``timeout`` is in seconds. On a machine without CUDA no device is
    selected (pass ``backend='gloo'``).

    Raises:
        ValueError: unknown ``launcher`` or ``init_backend``.
        TypeError: ``timeout`` is not a number of seconds.
    """
    if kwargs.get("timeout") is not None:
        try:
            kwargs["timeout"] = datetime.timedelta(seconds=kwargs["timeout"])
        except TypeError as err:
            raise TypeError(f"init_dist: timeout must be a number of seconds, got {kwargs['timeout']!r}. "
                            f"Fix: dist_cfg=dict(backend='nccl', timeout=1800).") from err
    if init_backend != "torch":
        raise ValueError(f"init_dist: init_backend {init_backend!r} is not supported by mmhooks; expected 'torch'. "
                         f"Fix: let the Lightning strategy (trainer=dict(strategy=...)) set up DeepSpeed or "
                         f"ColossalAI.")
    if launcher == "pytorch":
        _set_device(int(os.environ["LOCAL_RANK"]))
    elif launcher == "mpi":
        _set_device(int(os.environ["OMPI_COMM_WORLD_LOCAL_RANK"]))
        os.environ.setdefault("MASTER_PORT", "29500")
        if "MASTER_ADDR" not in os.environ:
            raise KeyError("init_dist('mpi'): the environment variable MASTER_ADDR is not set")
        os.environ["WORLD_SIZE"] = os.environ["OMPI_COMM_WORLD_SIZE"]
        os.environ["RANK"] = os.environ["OMPI_COMM_WORLD_RANK"]
    elif launcher == "slurm":
        _slurm_environment(kwargs.pop("port", None))
        _set_device(int(os.environ["LOCAL_RANK"]))
    else:
        raise ValueError(f"init_dist: launcher {launcher!r}; expected 'pytorch', 'mpi' or 'slurm'.")
    torch_dist.init_process_group(backend=backend, **kwargs)


def _slurm_environment(port: int | None) -> None:
    """torch.distributed's variables from SLURM's (first node is the master)."""
    proc_id, ntasks = int(os.environ["SLURM_PROCID"]), int(os.environ["SLURM_NTASKS"])
    local_id = os.environ.get("SLURM_LOCALID")
    local_rank = int(local_id) if local_id is not None else proc_id % max(torch.cuda.device_count(), 1)
    if port is not None:
        os.environ["MASTER_PORT"] = str(port)
    os.environ.setdefault("MASTER_PORT", "29500")
    if "MASTER_ADDR" not in os.environ:
        node_list = os.environ["SLURM_NODELIST"]
        os.environ["MASTER_ADDR"] = subprocess.getoutput(f"scontrol show hostname {node_list} | head -n1")
    os.environ.update(WORLD_SIZE=str(ntasks), LOCAL_RANK=str(local_rank), RANK=str(proc_id))


# ------------------------------------------------------------------ devices
def get_data_device(data: Any) -> torch.device:
    """The one device of a tensor, or of every tensor in a (nested) mapping or sequence.

    Raises:
        ValueError: tensors on different devices, or no tensor at all.
        TypeError: ``data`` holds something other than tensors.
    """
    if isinstance(data, torch.Tensor):
        return data.device
    if isinstance(data, Mapping):
        items: Iterable[Any] = data.values()
    elif isinstance(data, Iterable) and not isinstance(data, str):
        items = data
    else:
        raise TypeError(f"data should be a Tensor, sequence of tensor or dict, but got {data}")
    devices = {get_data_device(item) for item in items}
    if not devices:
        raise ValueError("data should not be empty.")
    if len(devices) > 1:
        raise ValueError(f"device type in data should be consistent, but got {sorted(map(str, devices))}")
    return devices.pop()


def get_comm_device(group: Any = None) -> torch.device:
    """The device the group's backend communicates on: the current CUDA device for NCCL, else the CPU."""
    backend = get_backend(group)
    devices = {"nccl": "cuda", "smddp": "cuda", "hccl": "npu", "cncl": "mlu", "mccl": "musa"}
    kind = devices.get(str(backend)) if backend is not None else None
    if kind is None:
        return torch.device("cpu")
    return torch.device(kind, getattr(torch, kind).current_device())


def cast_data_device(data: Any, device: torch.device, out: Any = None) -> Any:
    """``data`` (a tensor, or a mapping/sequence of them) on ``device``; copied into ``out`` when given.

    Raises:
        TypeError: ``out`` is not of ``data``'s type, or is a set; ``data`` holds non-tensors.
        ValueError: ``data`` is empty, or ``out`` has another length.
    """
    if out is not None:
        if type(data) is not type(out):
            raise TypeError(f"out should be the same type with data, but got data is {type(data)} and out is "
                            f"{type(out)}")
        if isinstance(out, set):
            raise TypeError("out should not be a set")
    if isinstance(data, torch.Tensor):
        moved = data if data.device == device else data.to(device)
        if out is not None:
            out.copy_(moved)
        return moved
    if isinstance(data, Mapping):
        if out is not None and len(out) != len(data):
            raise ValueError(f"length of data and out should be same, but got {len(data)} and {len(out)}")
        if not data:
            raise ValueError("data should not be empty")
        moved_map = {key: cast_data_device(value, device, None if out is None else out[key])
                     for key, value in data.items()}
        return type(data)(moved_map)  # type: ignore[call-arg]
    if isinstance(data, Iterable) and not isinstance(data, (str, np.ndarray)):
        values = list(data)
        if not values:
            raise ValueError("data should not be empty")
        outs = list(out) if out is not None else [None] * len(values)
        moved_list = [cast_data_device(value, device, target) for value, target in zip(values, outs)]  # zip: MMEngine's
        return type(data)(moved_list)  # type: ignore[call-arg]
    raise TypeError(f"data should be a Tensor, list of tensor or dict, but got {data}")


# The collectives use the helpers above, so they are imported once those exist.
from mmhooks.dist.collectives import (  # noqa: E402
    all_gather,
    all_gather_object,
    all_reduce,
    all_reduce_dict,
    all_reduce_params,
    broadcast,
    broadcast_object_list,
    collect_results,
    collect_results_cpu,
    collect_results_gpu,
    gather,
    gather_object,
    sync_random_seed,
)
