"""Which accelerator this process can use (``mmengine.device``'s names).

mmhooks runs on the devices PyTorch itself knows (CUDA, MPS, CPU); vendor
plug-ins (Ascend NPU, Cambricon MLU, DIPU, MUSA) are reported available only
when their torch extension imports and says so.
"""

from __future__ import annotations

import functools
import importlib

import torch

__all__ = ["get_device", "get_max_cuda_memory", "is_cuda_available", "is_dipu_available", "is_mlu_available",
           "is_mps_available", "is_musa_available", "is_npu_available", "is_npu_support_full_precision"]


@functools.lru_cache(maxsize=None)
def _extension_available(module: str, device: str) -> bool:
    """Whether the torch extension ``module`` imports and ``torch.<device>.is_available()`` (when it has one)."""
    try:
        importlib.import_module(module)
    except Exception:  # a broken vendor extension must not break import
        return False
    backend = getattr(torch, device, None)
    is_available = getattr(backend, "is_available", None)
    return bool(is_available()) if callable(is_available) else True


def is_cuda_available() -> bool:
    """Whether a CUDA device exists."""
    return torch.cuda.is_available()


def is_mps_available() -> bool:
    """Whether Apple's MPS device exists."""
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and bool(mps.is_available())


def is_npu_available() -> bool:
    """Whether ``torch_npu`` (Ascend) imports and an NPU exists."""
    return _extension_available("torch_npu", "npu")


def is_mlu_available() -> bool:
    """Whether ``torch_mlu`` (Cambricon) imports and an MLU exists."""
    return _extension_available("torch_mlu", "mlu")


def is_dipu_available() -> bool:
    """Whether ``torch_dipu`` imports."""
    return _extension_available("torch_dipu", "dipu")


def is_musa_available() -> bool:
    """Whether ``torch_musa`` (Moore Threads) imports and a MUSA device exists."""
    return _extension_available("torch_musa", "musa")


def is_npu_support_full_precision() -> bool:
    """Whether the NPU trains in full precision (SoC version 220 and later)."""
    if not is_npu_available():
        return False
    utils = importlib.import_module("torch_npu.npu.utils")
    return int(utils.get_soc_version()) >= 220


def get_device() -> str:
    """The device this process trains on, the first available in MMEngine's order (npu, cuda, mlu, mps, dipu, musa)."""
    for name, available in (("npu", is_npu_available), ("cuda", is_cuda_available), ("mlu", is_mlu_available),
                            ("mps", is_mps_available), ("dipu", is_dipu_available), ("musa", is_musa_available)):
        if available():
            return name
    return "cpu"


def get_max_cuda_memory(device: torch.device | None = None) -> int:
    """Peak CUDA memory allocated since the last call, in MiB; resets the peak statistics."""
    peak = int(torch.cuda.max_memory_allocated(device=device)) // (1024 * 1024)
    torch.cuda.reset_peak_memory_stats()
    return peak
