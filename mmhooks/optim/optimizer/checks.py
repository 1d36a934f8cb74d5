"""Check an ``optim_wrapper`` config before anything runs: no model, no dataloader, no file written.

The Runner calls :func:`check_optim_wrapper_cfg` when it is constructed, so a
typo (``optimizer=dict(type='SGD', lrr=0.1)``), a wrong value type or an
unknown ``paramwise_cfg`` key stops the run with one line naming the key path.

What is checked, following what :func:`build_optim_wrapper` will do:

* the shape (a built wrapper, a dict with ``optimizer`` or ``constructor``,
  or a dict of built wrappers) and each ``type`` and ``constructor`` name
  (unknown names get the closest registered one);
* the optimizer's arguments against its signature (any optimizer class), and
  for ``torch.optim`` optimizers the type of the common ones (``lr`` a
  number, ``betas`` a pair...) plus a dry run on a throwaway parameter that
  reports torch's own value checks (a negative ``lr``...);
* ``paramwise_cfg``: keys (the default constructor only; a subclass may read
  keys of its own) and the types of the base keys;
* the wrapper's keys and, for mmhooks' wrappers, a dry run on a throwaway
  optimizer (``accumulative_counts``, ``clip_grad``, ``dtype``...).

A constructor that is not ``DefaultOptimWrapperConstructor`` or a subclass
reads the config its own way: only its name is checked.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from numbers import Real
from typing import Any

from mmhooks.errors import ConfigError, ConfigTypeError, check_keys, join_path
from mmhooks.optim.optimizer.builder import _check_wrapper_arguments, _relocate
from mmhooks.optim.optimizer.default_constructor import DefaultOptimWrapperConstructor, check_paramwise_cfg
from mmhooks.optim.optimizer.optimizer_wrapper import OptimWrapper
from mmhooks.optim.signature import keyword_arguments
from mmhooks.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

__all__ = ["check_optim_wrapper_cfg", "check_optimizer_cfg"]

_DEFAULT_CONSTRUCTOR = "DefaultOptimWrapperConstructor"


def _is_number(value: object) -> bool:
    if isinstance(value, Real) and not isinstance(value, bool):
        return True
    import torch

    return isinstance(value, torch.Tensor) and value.numel() == 1


def _is_pair(value: object) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(item) for item in value)


# (test, expected, example) for arguments that every torch optimizer uses with one meaning.
_TORCH_ARGUMENTS: dict[str, tuple[Any, str, str]] = {
    name: (_is_number, "a number", "0.01")
    for name in ("lr", "weight_decay", "momentum", "dampening", "eps", "alpha", "rho", "lr_decay", "lambd",
                 "initial_accumulator_value", "momentum_decay", "max_iter")
}
_TORCH_ARGUMENTS["betas"] = (_is_pair, "a pair of numbers", "(0.9, 0.999)")
_TORCH_ARGUMENTS.update({
    name: (lambda v: isinstance(v, bool), "True or False", "True")
    for name in ("nesterov", "amsgrad", "maximize", "centered", "decoupled_weight_decay")
})


_IMPLEMENTATION_SWITCHES = ("foreach", "fused", "capturable", "differentiable")


def _is_built_wrapper(obj: object) -> bool:
    return isinstance(obj, OptimWrapper) or (not isinstance(obj, Mapping) and hasattr(obj, "update_params"))


def check_optim_wrapper_cfg(cfg: Any, path: str = "optim_wrapper") -> None:
    """Check an ``optim_wrapper`` config as :func:`build_optim_wrapper` would read it, without a model.

    Args:
        cfg: ``None`` (nothing to check), a built wrapper, or the config dict.
        path: Key path of ``cfg``, for messages.

    Raises:
        ConfigError: Naming the key path (``optim_wrapper.optimizer.lr``), the
            bad value, what is accepted and a fix.

    Example:
        >>> check_optim_wrapper_cfg(dict(optimizer=dict(type="SGD", lr="0.01")))
        Traceback (most recent call last):
        ...
        mmhooks.errors.ConfigError: optim_wrapper.optimizer.lr: got '0.01'; expected a number. Fix: write lr=0.01.
    """
    if cfg is None or _is_built_wrapper(cfg):
        return
    if not isinstance(cfg, Mapping):
        raise ConfigError(
            "", cfg, "an OptimWrapper or a dict such as dict(optimizer=dict(type='SGD', lr=0.01))",
            "wrap the optimizer config in dict(optimizer=...).", path,
        )
    cfg = dict(cfg)
    optimizer = cfg.get("optimizer")
    if _is_torch_optimizer(optimizer):
        _check_wrapper(dict(cfg, type=cfg.get("type", "OptimWrapper")), path, optimizer)
        return
    if optimizer is None and "constructor" not in cfg:
        if "type" in cfg or not cfg:  # a wrapper config that forgot its optimizer
            raise ConfigError("optimizer", None, "an optimizer config such as dict(type='SGD', lr=0.01)",
                              "add optimizer=dict(type=..., lr=...).", path)
        _check_wrapper_dict(cfg, path)
        return
    constructor = _resolve_constructor(cfg.get("constructor", _DEFAULT_CONSTRUCTOR), path)
    default, accepted_keys = _constructor_rules(constructor)
    if default is None:
        return  # a constructor of its own kind: it reads the config its own way
    if optimizer is None:
        raise ConfigError("optimizer", None, "an optimizer config such as dict(type='SGD', lr=0.01)",
                          "add optimizer=dict(type=..., lr=...).", path)
    check_optimizer_cfg(optimizer, join_path(path, "optimizer"))
    try:
        check_paramwise_cfg(cfg.get("paramwise_cfg"), optimizer, accepted_keys)
    except ConfigError as err:
        raise err.under(path) from None
    if default:
        wrapper_cfg = {key: value for key, value in cfg.items() if key not in ("constructor", "paramwise_cfg")}
        wrapper_cfg.setdefault("type", "OptimWrapper")
        _check_wrapper(wrapper_cfg, path, None)


def _is_torch_optimizer(obj: object) -> bool:
    import torch

    return isinstance(obj, torch.optim.Optimizer)


def _check_wrapper_dict(cfg: Mapping[str, Any], path: str) -> None:
    """A dict without ``optimizer`` and ``constructor`` holds built wrappers, as in :func:`build_optim_wrapper`."""
    for name, wrapper in cfg.items():
        if not _is_built_wrapper(wrapper):
            raise ConfigError(
                name, wrapper, "an OptimWrapper instance (a dict without 'optimizer' and 'constructor' keys "
                "is a dict of built optimizer wrappers)",
                "add optimizer=dict(type=..., lr=...), or a constructor that builds each named optimizer.", path,
            )


def _resolve_constructor(name: Any, path: str) -> Any:
    try:
        return OPTIM_WRAPPER_CONSTRUCTORS.resolve_type(name, path)
    except ConfigError as err:  # keep the class: an unknown name is also a KeyError, as in MMEngine
        raise type(err)("constructor", err.value, err.expected, err.fix, path) from None


def _constructor_rules(constructor: Any) -> tuple[bool | None, tuple[str, ...] | None]:
    """(True for the default constructor, False for a subclass, None for another kind; the accepted keys)."""
    if constructor is DefaultOptimWrapperConstructor:
        return True, DefaultOptimWrapperConstructor.paramwise_keys
    if inspect.isclass(constructor) and issubclass(constructor, DefaultOptimWrapperConstructor):
        return False, constructor.paramwise_keys
    bases = getattr(constructor, "__mro__", ())
    mmengine_default = next((base for base in bases if base.__name__ == _DEFAULT_CONSTRUCTOR
                             and base.__module__.startswith("mmengine.")), None)
    if mmengine_default is None:
        return None, None
    if constructor is mmengine_default:  # MMEngine's own default (found through a scope)
        return True, DefaultOptimWrapperConstructor.paramwise_keys
    return False, None


def check_optimizer_cfg(cfg: Any, path: str = "optim_wrapper.optimizer") -> None:
    """Check an optimizer config: its ``type``, its arguments, and for ``torch.optim`` classes their values.

    Raises:
        ConfigError: Located under ``path``.
    """
    if not isinstance(cfg, Mapping):
        raise ConfigError("", cfg, "an optimizer config such as dict(type='SGD', lr=0.01)",
                          "write optimizer=dict(type=..., lr=...).", path)
    if "type" not in cfg:
        raise ConfigError("type", None, "a registered optimizer name such as 'SGD' or 'AdamW'",
                          "add type='SGD' (or another optimizer name).", path)
    cls = OPTIMIZERS.resolve_type(cfg["type"], path)
    name = getattr(cls, "__name__", repr(cls))
    args = {key: value for key, value in cfg.items() if key not in ("type", "_scope_")}
    signature = keyword_arguments(cls)
    if not signature.open:
        check_keys(path, args, signature.accepted, what=f"an argument of {name}")
    for key in sorted(signature.required):
        if key not in args:
            raise ConfigTypeError(key, None, f"a value ({name} requires {key})", f"add {key}=... to {path}.", path)
    if not str(getattr(cls, "__module__", "")).startswith("torch.optim"):
        return  # a downstream optimizer: its arguments' meaning is its own
    for key, value in args.items():
        rule = _TORCH_ARGUMENTS.get(key)
        if rule is not None and not rule[0](value):
            raise ConfigError(key, value, rule[1], f"write {key}={rule[2]}.", path)
    import torch

    # Implementation switches (fused kernels, CUDA graphs) may need a GPU: leave them to the real build.
    values = {key: value for key, value in args.items() if key not in _IMPLEMENTATION_SWITCHES}
    try:
        cls([torch.zeros(1, requires_grad=True)], **values)
    except (ValueError, TypeError) as err:  # torch checks values (lr >= 0, betas in [0, 1)...) this way
        where, _, key = path.rpartition(".")
        raise ConfigError(key, name, f"arguments that {name} accepts", f"{err}.".replace("..", "."), where) from None


def _check_wrapper(cfg: dict[str, Any], path: str, optimizer: Any) -> None:
    """The wrapper's type and keys; for mmhooks' wrappers, a build on a throwaway (or the given) optimizer."""
    _check_wrapper_arguments(cfg, path)
    cls = OPTIM_WRAPPERS.resolve_type(cfg["type"], path)
    if not (inspect.isclass(cls) and issubclass(cls, OptimWrapper)) or cfg.get("use_fsdp"):
        return  # a foreign wrapper checks its own arguments; FSDP's scaler needs the process group
    import torch

    kwargs = {key: value for key, value in cfg.items() if key not in ("type", "optimizer")}
    if optimizer is None:
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    try:
        cls(optimizer=optimizer, **kwargs)
    except ConfigError as err:
        raise _relocate(err, path) from None
    except (TypeError, ValueError) as err:
        name = cls.__name__
        raise ConfigError("type", name, f"arguments that {name} accepts", f"check the keys under {path}: {err}",
                          path) from None
