"""MMEngine's execution keys in the words Lightning's Trainer and Fabric share: launchers and precision.

Both backends read ``launcher`` and ``optim_wrapper.type='AmpOptimWrapper'``
the same way; only the object each framework builds from the answer differs.
The core names Lightning's precision strings (``'16-mixed'``, ...) without
importing Lightning, as :attr:`AmpOptimWrapper.precision` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from mmhooks.errors import ConfigError, closest

__all__ = ["LAUNCHERS", "amp_precision", "check_launcher", "ddp_options"]

LAUNCHERS = ("mpi", "none", "pytorch", "slurm")

_PRECISION_BY_DTYPE = {"bfloat16": "bf16-mixed", "float16": "16-mixed", "float32": "32-true", "float64": "64-true"}


def check_launcher(launcher: Any, path: str = "launcher") -> str:
    """``launcher`` if it is one of MMEngine's :data:`LAUNCHERS`, else a located ``ConfigError``."""
    if launcher not in LAUNCHERS:
        near = closest(str(launcher), LAUNCHERS)
        raise ConfigError(path, launcher, f"one of {list(LAUNCHERS)}", f"did you mean {near!r}?" if near else
                          "use 'none' for a single process.")
    return str(launcher)


def ddp_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of both frameworks' ``DDPStrategy`` for MMEngine's DDP wrapping.

    Buffers are not broadcast (SyncBuffersHook averages them); ``env_cfg.dist_cfg``
    sets the process-group backend and timeout, and MMEngine's usual
    ``backend='nccl'`` needs CUDA (without it Lightning's choice, gloo, is kept).
    """
    import datetime

    dist_cfg = dict((cfg.get("env_cfg") or {}).get("dist_cfg") or {})
    options: dict[str, Any] = dict(broadcast_buffers=False,
                                   find_unused_parameters=bool(cfg.get("find_unused_parameters", False)))
    backend = dist_cfg.get("backend")
    if backend and (backend != "nccl" or torch.cuda.is_available()):
        options["process_group_backend"] = backend
    if dist_cfg.get("timeout") is not None:
        options["timeout"] = datetime.timedelta(seconds=float(dist_cfg["timeout"]))
    return options


def _is_amp_type(type_: Any) -> bool:
    name = type_ if isinstance(type_, str) else getattr(type_, "__name__", None)
    return isinstance(name, str) and name.rsplit(".", 1)[-1] == "AmpOptimWrapper"


def amp_precision(optim_wrapper: Any) -> str | None:
    """Lightning's precision for an ``AmpOptimWrapper`` config or built wrapper; None for the others.

    Without ``dtype`` the wrapper autocasts to float16 on CUDA and to bfloat16 on
    the CPU (as the wrapper itself does).

    Example:
        >>> amp_precision(dict(type="AmpOptimWrapper", dtype="bfloat16", optimizer=dict(type="SGD", lr=0.1)))
        'bf16-mixed'
        >>> amp_precision(dict(optimizer=dict(type="SGD", lr=0.1))) is None
        True
    """
    if isinstance(optim_wrapper, Mapping):
        if not _is_amp_type(optim_wrapper.get("type")):
            return None
        dtype = optim_wrapper.get("dtype")
        if dtype is None:
            return "16-mixed" if torch.cuda.is_available() else "bf16-mixed"
        name = str(dtype).replace("torch.", "")
        if name not in _PRECISION_BY_DTYPE:
            raise ConfigError("optim_wrapper.dtype", dtype, f"one of {sorted(_PRECISION_BY_DTYPE)}",
                              "write dtype='float16' or dtype='bfloat16'.")
        return _PRECISION_BY_DTYPE[name]
    precision = getattr(optim_wrapper, "precision", None)
    return precision if isinstance(precision, str) else None
