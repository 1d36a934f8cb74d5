"""Optimizers from optional packages, registered in ``OPTIMIZERS`` when the package is installed.

The same packages and names as MMEngine: DAdaptation (``DAdaptAdam``...),
``lion_pytorch`` (``Lion``), Sophia, bitsandbytes (its optimizers, ``bnb_``
prefixed where torch has the name), transformers (``Adafactor``) and Ascend's
``torch_npu`` fused optimizers (``NpuFused*``). A package that is not installed
is skipped; each list names what was registered.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Iterable
from typing import Any

import torch

from mmhooks.registry import OPTIMIZERS

__all__ = ["BITSANDBYTES_OPTIMIZERS", "DADAPTATION_OPTIMIZERS", "LION_OPTIMIZERS", "NPU_OPTIMIZERS",
           "SOPHIA_OPTIMIZERS", "TRANSFORMERS_OPTIMIZERS"]


def _module(name: str) -> Any:
    """The module, or ``None`` when its package is not installed (found without importing it)."""
    try:
        if importlib.util.find_spec(name.split(".")[0]) is None:
            return None
        return importlib.import_module(name)
    except Exception:  # a broken optional package must not break mmhooks
        return None


def _optimizer_classes(module: Any, names: Iterable[str]) -> list[tuple[str, type]]:
    found = []
    for name in names:
        obj = getattr(module, name, None)
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer):
            found.append((name, obj))
    return found


def _register(pairs: Iterable[tuple[str, type]], rename_clashes: str = "") -> list[str]:
    registered = []
    for name, cls in pairs:
        if rename_clashes and name in OPTIMIZERS.module_dict:
            name = f"{rename_clashes}{name}"
        OPTIMIZERS.register_module(name=name, module=cls, force=True)
        registered.append(name)
    return registered


def _dadaptation() -> list[str]:
    module = _module("dadaptation")
    return _register(_optimizer_classes(module, ("DAdaptAdaGrad", "DAdaptAdam", "DAdaptSGD"))) if module else []


def _lion() -> list[str]:
    module = _module("lion_pytorch")
    return _register([("Lion", module.Lion)]) if module is not None and hasattr(module, "Lion") else []


def _sophia() -> list[str]:
    module = _module("Sophia")
    return _register(_optimizer_classes(module, dir(module))) if module is not None else []


def _bitsandbytes() -> list[str]:
    module = _module("bitsandbytes")
    optim = getattr(module, "optim", None)
    return _register(_optimizer_classes(optim, dir(optim)), rename_clashes="bnb_") if optim is not None else []


def _transformers() -> list[str]:
    module = _module("transformers")
    adafactor = getattr(module, "Adafactor", None) if module is not None else None
    return _register([("Adafactor", adafactor)]) if adafactor is not None else []


def _torch_npu() -> list[str]:
    if _module("torch_npu") is None:
        return []
    optim = _module("torch_npu.optim")
    names = [name for name in dir(optim) if name.startswith("NpuFused")] if optim is not None else []
    return _register(_optimizer_classes(optim, names))


DADAPTATION_OPTIMIZERS = _dadaptation()
LION_OPTIMIZERS = _lion()
SOPHIA_OPTIMIZERS = _sophia()
BITSANDBYTES_OPTIMIZERS = _bitsandbytes()
TRANSFORMERS_OPTIMIZERS = _transformers()
NPU_OPTIMIZERS = _torch_npu()
