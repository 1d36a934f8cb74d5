"""``autocast``: mixed precision on the device this process trains on, with MMEngine's defaults and checks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["autocast"]


@contextlib.contextmanager
def autocast(device_type: str | None = None, dtype: torch.dtype | None = None, enabled: bool = True,
             cache_enabled: bool | None = None) -> Iterator[None]:
    """``torch.autocast`` on ``device_type`` (this process's device when ``None``).

    CUDA defaults to torch's autocast GPU dtype (float16); the CPU supports
    bfloat16 only. On other devices (MPS...) only ``enabled=False`` is allowed.

    Raises:
        AssertionError: a CPU dtype other than bfloat16 (MMEngine's class).
        RuntimeError: bfloat16 on a CUDA device without it.
        ValueError: mixed precision on a device that has none.

    Example:
        >>> with autocast(device_type='cpu'):
        ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
        torch.bfloat16
    """
    from mmhooks.device import get_device

    if cache_enabled is None:
        cache_enabled = torch.is_autocast_cache_enabled()
    device_type = get_device() if device_type is None else device_type
    if device_type == "cuda":
        dtype = torch.get_autocast_dtype("cuda") if dtype is None else dtype
        if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
            raise RuntimeError("Current CUDA Device does not support bfloat16. Please switch dtype to float16.")
    elif device_type == "cpu":
        dtype = torch.bfloat16 if dtype is None else dtype
        if dtype != torch.bfloat16:
            raise AssertionError("In CPU autocast, only support `torch.bfloat16` dtype")
    elif device_type in ("npu", "mlu", "musa"):
        pass
    elif not enabled:
        yield
        return
    else:
        raise ValueError(f"User specified autocast device_type must be cuda or cpu, but got {device_type}")
    with torch.autocast(device_type=device_type, enabled=enabled, dtype=dtype, cache_enabled=cache_enabled):
        yield
