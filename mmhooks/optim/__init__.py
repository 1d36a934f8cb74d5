"""Optimizer wrappers, their builder, and (re-exported) the parameter schedulers.

``from mmhooks.optim import OptimWrapper, CosineAnnealingLR`` works as with
``mmengine.optim``; each name's module is imported on first use.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from mmhooks._lazy import import_modules, lazy_exports

_OPTIMIZER = "mmhooks.optim.optimizer"
_SCHEDULER = "mmhooks.optim.scheduler"
_MODULES = {
    "AmpOptimWrapper": _OPTIMIZER,
    "ApexOptimWrapper": "mmhooks.optim.optimizer.apex_optimizer_wrapper",
    "BaseOptimWrapper": "mmhooks.optim.optimizer.base",
    "OPTIMIZERS": "mmhooks.registry",
    "OPTIM_WRAPPER_CONSTRUCTORS": "mmhooks.registry",
    "ZeroRedundancyOptimizer": "mmhooks.optim.optimizer.zero_optimizer",
    "DefaultOptimWrapperConstructor": _OPTIMIZER,
    "OptimWrapper": _OPTIMIZER,
    "OptimWrapperDict": _OPTIMIZER,
    "TORCH_OPTIMIZERS": _OPTIMIZER,
    "auto_scale_lr": _OPTIMIZER,
    "build_optim_wrapper": _OPTIMIZER,
    "check_optim_wrapper_cfg": _OPTIMIZER,
    "check_optimizer_cfg": _OPTIMIZER,
    "register_torch_optimizers": _OPTIMIZER,
}
_OPTIMIZER_MODULES = (
    "mmhooks.optim.optimizer.amp_optimizer_wrapper",
    "mmhooks.optim.optimizer.apex_optimizer_wrapper",
    "mmhooks.optim.optimizer.base",
    "mmhooks.optim.optimizer.zero_optimizer",
    "mmhooks.optim.optimizer.builder",
    "mmhooks.optim.optimizer.checks",
    "mmhooks.optim.optimizer.default_constructor",
    "mmhooks.optim.optimizer.optimizer_wrapper",
)

_own_getattr, _own_dir = lazy_exports(__name__, _MODULES)


def _scheduler_package() -> ModuleType | None:
    """The scheduler package, or ``None`` while it (or a module it imports) does not exist."""
    try:
        return importlib.import_module(_SCHEDULER)
    except ModuleNotFoundError as err:
        if err.name is not None and (err.name == _SCHEDULER or err.name.startswith(_SCHEDULER + ".")):
            return None
        raise


def _scheduler_names() -> list[str]:
    package = _scheduler_package()
    return [str(name) for name in getattr(package, "__all__", ())] if package is not None else []


def __getattr__(attr: str) -> Any:
    if attr in _MODULES:
        return _own_getattr(attr)
    if not attr.startswith("__") and attr in _scheduler_names():
        value = getattr(_scheduler_package(), attr)
        globals()[attr] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def __dir__() -> list[str]:
    return sorted(set(_own_dir()) | set(_scheduler_names()))


def import_all() -> None:
    """Import the optimizer wrappers and the constructor so they register (and torch's optimizers)."""
    import_modules(list(_OPTIMIZER_MODULES))


__all__ = sorted({"import_all", *_MODULES, *_scheduler_names()})
