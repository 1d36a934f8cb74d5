"""Build an optimizer wrapper from the ``optim_wrapper`` config, and scale learning rates by batch size.

Every ``torch.optim`` optimizer is registered in ``OPTIMIZERS`` under its
class name, so configs can say ``optimizer=dict(type='AdamW', ...)``.
"""

from __future__ import annotations

import copy
import inspect
import logging
import re
from collections.abc import Mapping
from typing import Any, cast

import torch
from torch import nn

from mmhooks.errors import ConfigError, check_keys, join_path
from mmhooks.optim.optimizer.optimizer_wrapper import OptimWrapper
from mmhooks.optim.optimizer.optimizer_wrapper_dict import OptimWrapperDict
from mmhooks.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

__all__ = ["BITSANDBYTES_OPTIMIZERS", "DADAPTATION_OPTIMIZERS", "LION_OPTIMIZERS", "NPU_OPTIMIZERS", "SOPHIA_OPTIMIZERS",
           "TORCH_OPTIMIZERS", "TRANSFORMERS_OPTIMIZERS", "auto_scale_lr", "build_optim_wrapper",
           "register_torch_optimizers"]

log = logging.getLogger(__name__)

# Keys of the wrapper config that the builder consumes rather than the wrapper class.
_BUILDER_KEYS = ("constructor", "paramwise_cfg")
_AUTO_SCALE_LR_KEYS = ("base_batch_size", "enable")
_CLASS_PREFIX = re.compile(r"^[A-Z]\w*(\.|$)")


def register_torch_optimizers() -> list[str]:
    """Register every ``torch.optim.Optimizer`` subclass in ``OPTIMIZERS``; return their names.

    ``torch.optim.Adafactor`` is registered as ``'TorchAdafactor'``, as in
    MMEngine, where ``'Adafactor'`` means the transformers optimizer.
    """
    names = []
    for name in dir(torch.optim):
        obj = getattr(torch.optim, name)
        if name.startswith("__") or not (inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)):
            continue
        OPTIMIZERS.register_module(name="TorchAdafactor" if name == "Adafactor" else name, module=obj, force=True)
        names.append(name)
    return names


TORCH_OPTIMIZERS = register_torch_optimizers()


def _relocate(err: ConfigError, path: str) -> ConfigError:
    """Re-locate an error raised by a class (``OptimWrapper.clip_grad.type``) below the config ``path``."""
    where = _CLASS_PREFIX.sub("", err.where, count=1)
    return type(err)(err.key, err.value, err.expected, err.fix, join_path(path, where))


def _check_wrapper_arguments(cfg: Mapping[str, Any], path: str) -> None:
    """Reject keys that the wrapper class (and, through ``**kwargs``, its bases) does not take."""
    cls = OPTIM_WRAPPERS.resolve_type(cfg.get("type", "OptimWrapper"), path)
    if not (inspect.isclass(cls) and issubclass(cls, OptimWrapper)):
        return  # a foreign wrapper (MMEngine's ApexOptimWrapper...): let it check its own arguments
    accepted: set[str] = set()
    for klass in cls.__mro__:
        if klass is object or "__init__" not in vars(klass):
            continue
        params = inspect.signature(cast(Any, klass).__init__).parameters.values()  # the class's own __init__
        accepted.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    accepted.discard("self")
    accepted.update(_BUILDER_KEYS)
    accepted.add("type")
    check_keys(path, cfg, accepted, what="an optim_wrapper key")


def _build_from_constructor(model: nn.Module, cfg: dict[str, Any], path: str) -> OptimWrapper:
    """MMEngine's ``build_optim_wrapper``: a constructor (default or named) builds the wrapper."""
    constructor_type = cfg.pop("constructor", "DefaultOptimWrapperConstructor")
    paramwise_cfg = cfg.pop("paramwise_cfg", None)
    if constructor_type == "DefaultOptimWrapperConstructor":
        _check_wrapper_arguments(cfg, path)
    try:
        constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
            {"type": constructor_type, "optim_wrapper_cfg": cfg, "paramwise_cfg": paramwise_cfg}
        )
        wrapper = constructor(model)
    except ConfigError as err:
        if err.key == "type" and err.where == "" and err.value == constructor_type:
            raise ConfigError("constructor", err.value, err.expected, err.fix, path) from None
        raise _relocate(err, path) from None
    if not hasattr(wrapper, "update_params"):  # MMEngine's own wrappers pass (downstream constructors)
        raise ConfigError(
            "constructor", constructor_type, "a constructor that returns an OptimWrapper or OptimWrapperDict",
            "make its __call__(model) return OptimWrapper(...) or OptimWrapperDict(...).", path,
        )
    return wrapper  # type: ignore[no-any-return]


def build_optim_wrapper(model: nn.Module, cfg: Any, path: str = "optim_wrapper") -> OptimWrapper:
    """Build the ``optim_wrapper`` config for ``model``, as MMEngine's ``Runner.build_optim_wrapper`` does.

    Args:
        model: The model whose parameters are optimised (``.module`` of a
            DDP wrapper is used).
        cfg: An :class:`OptimWrapper` (returned as is); a dict whose
            ``optimizer`` is a built ``torch.optim.Optimizer`` (wrapped
            directly); a dict with an ``optimizer`` config or a
            ``constructor`` (built by the constructor, by default
            ``DefaultOptimWrapperConstructor``, which reads ``paramwise_cfg``);
            or a dict of built wrappers (an :class:`OptimWrapperDict`).
        path: Key path of ``cfg`` in the whole config, for error messages.

    Raises:
        ConfigError: With the key path of the bad entry, e.g.
            ``optim_wrapper.optimizer.type`` or ``optim_wrapper.paramwise_cfg.lr_mult``.

    Example:
        >>> wrapper = build_optim_wrapper(torch.nn.Linear(2, 1), dict(optimizer=dict(type="SGD", lr=0.1)))
        >>> type(wrapper).__name__, wrapper.get_lr()
        ('OptimWrapper', {'lr': [0.1]})
    """
    if isinstance(cfg, OptimWrapper):
        return cfg
    if not isinstance(cfg, Mapping):
        raise ConfigError(
            "", cfg, "an OptimWrapper or a dict such as dict(optimizer=dict(type='SGD', lr=0.01))",
            "wrap the optimizer config in dict(optimizer=...).", path,
        )
    from mmhooks.optim.optimizer.checks import check_optim_wrapper_cfg

    check_optim_wrapper_cfg(cfg, path)  # names, arguments and values, before anything is built
    cfg = {key: value for key, value in cfg.items()}  # plain dict; Config objects read the same
    optimizer = cfg.get("optimizer")
    if isinstance(optimizer, torch.optim.Optimizer):
        cfg.setdefault("type", "OptimWrapper")
        _check_wrapper_arguments(cfg, path)
        try:
            return OPTIM_WRAPPERS.build(cfg)  # type: ignore[no-any-return]
        except ConfigError as err:
            raise _relocate(err, path) from None
    if optimizer is not None or "constructor" in cfg:
        return _build_from_constructor(model, copy.deepcopy(cfg), path)
    for name, wrapper in cfg.items():
        if not isinstance(wrapper, OptimWrapper):
            raise ConfigError(
                name, wrapper, "an OptimWrapper instance (a dict without 'optimizer' and 'constructor' keys "
                "is a dict of built optimizer wrappers)",
                "add optimizer=dict(type=..., lr=...), or a constructor that builds each named optimizer.", path,
            )
    if not cfg:
        raise ConfigError(
            "optimizer", None, "an optimizer config such as dict(type='SGD', lr=0.01)",
            "add optimizer=dict(type=..., lr=...).", path,
        )
    return OptimWrapperDict(**cfg)


def auto_scale_lr(
    optim_wrapper: OptimWrapper,
    auto_scale_lr_cfg: Mapping[str, Any] | None,
    world_size: int,
    batch_size: int,
    path: str = "auto_scale_lr",
) -> float | None:
    """Scale every group's ``lr`` by ``world_size * batch_size / base_batch_size`` (linear scaling rule).

    Call it after building the wrapper and before building the parameter
    schedulers, which record the initial lr. ``base_param_settings`` (the
    logged ``base_lr``) is not scaled, as in MMEngine.

    Args:
        optim_wrapper: The wrapper, or an :class:`OptimWrapperDict` (every entry is scaled).
        auto_scale_lr_cfg: ``dict(enable=..., base_batch_size=...)``; ``None`` or
            ``enable=False`` does nothing.
        world_size: Number of processes.
        batch_size: Per-process batch size of the training dataloader.
        path: Key path of ``auto_scale_lr_cfg``, for error messages.

    Returns:
        The ratio applied, or ``None`` when scaling is off.

    Raises:
        ConfigError: An unknown key, or ``base_batch_size`` missing or not positive.

    Example:
        >>> wrapper = build_optim_wrapper(torch.nn.Linear(2, 1), dict(optimizer=dict(type="SGD", lr=0.1)))
        >>> auto_scale_lr(wrapper, dict(enable=True, base_batch_size=16), world_size=2, batch_size=4)
        0.5
        >>> wrapper.get_lr()
        {'lr': [0.05]}
    """
    if auto_scale_lr_cfg is None:
        return None
    check_keys(path, auto_scale_lr_cfg, _AUTO_SCALE_LR_KEYS, what="an auto_scale_lr key")
    if not auto_scale_lr_cfg.get("enable", False):
        return None
    base_batch_size = auto_scale_lr_cfg.get("base_batch_size")
    if isinstance(base_batch_size, bool) or not isinstance(base_batch_size, (int, float)) or base_batch_size <= 0:
        raise ConfigError(
            "base_batch_size", base_batch_size, "a positive number (the total batch size the lr was tuned for)",
            "set auto_scale_lr.base_batch_size, e.g. to 16.", path,
        )
    real_batch_size = world_size * batch_size
    ratio = float(real_batch_size) / float(base_batch_size)
    log.info(
        "auto_scale_lr: lr was tuned for batch size %s and the current batch size is %s; scaling lr by %s.",
        base_batch_size, real_batch_size, ratio,
    )
    wrappers = list(optim_wrapper.values()) if isinstance(optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    for wrapper in wrappers:
        for group in wrapper.optimizer.param_groups:
            group["lr"] = group["lr"] * ratio
    return ratio


# MMEngine's builder module also names the optimizers of optional packages (registered when installed).
from mmhooks.optim.optimizer.third_party import (  # noqa: E402
    BITSANDBYTES_OPTIMIZERS,
    DADAPTATION_OPTIMIZERS,
    LION_OPTIMIZERS,
    NPU_OPTIMIZERS,
    SOPHIA_OPTIMIZERS,
    TRANSFORMERS_OPTIMIZERS,
)
