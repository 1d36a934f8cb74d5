"""Build functions: turn a config (``dict(type=..., **arguments)``) into an object, as MMEngine's do.

``build_from_cfg`` is every registry's default; ``MODELS`` uses
``build_model_from_cfg`` (a list of configs becomes a ``Sequential``),
``PARAM_SCHEDULERS`` ``build_scheduler_from_cfg`` (``convert_to_iter_based``),
``RUNNERS`` ``build_runner_from_cfg`` (``runner_type``). All accept a ``dict``,
a ``ConfigDict`` or a ``Config`` (mmhooks' or MMEngine's), honour ``_scope_``
(the default scope while the object is built), and call ``get_instance`` for
classes that are instance managers (visualizers, message hubs), so that
``X.get_current_instance()`` finds what was built.

Before calling a class, its keyword arguments are checked against its
signature, so a misspelt key is a :class:`~mmhooks.errors.ConfigError` that
names the key path and the closest argument.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

from mmhooks.errors import ConfigError, check_keys, join_path
from mmhooks.registry.default_scope import DefaultScope
from mmhooks.registry.errors import RegistryKeyError, RegistryTypeError
from mmhooks.registry.registry import Registry

__all__ = [
    "accepts_path",
    "build_from_cfg",
    "build_model_from_cfg",
    "build_runner_from_cfg",
    "build_scheduler_from_cfg",
    "is_built",
    "is_config",
]

_CONFIG_WORDS = "a dict, ConfigDict or Config"


def is_config(obj: object) -> bool:
    """Whether ``obj`` is a config: a mapping, or a ``Config`` of mmhooks or MMEngine."""
    if isinstance(obj, Mapping):
        return True
    for module_name in ("mmhooks.config.config", "mmengine.config.config"):
        module = sys.modules.get(module_name)
        if module is not None and isinstance(obj, module.Config):
            return True
    return False


def is_built(obj: object) -> bool:
    """Whether ``Registry.build`` should hand ``obj`` back as it is: not a config, list or plain value."""
    plain = (str, bytes, int, float, list, tuple, type(None))
    return not is_config(obj) and not isinstance(obj, plain)


def accepts_path(func: Callable[..., Any]) -> bool:
    """Whether a build function takes mmhooks' ``path`` keyword (user build functions usually do not)."""
    try:
        return "path" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _items(cfg: Any) -> dict[Any, Any]:
    """A shallow ``dict`` copy of a config (nested values are shared, as ``cfg.copy()`` in MMEngine)."""
    return {key: cfg[key] for key in cfg.keys()}


def _check_inputs(cfg: Any, registry: Any, default_args: Any, path: str) -> None:
    if not is_config(cfg):
        raise RegistryTypeError("", cfg, f"{_CONFIG_WORDS} with a 'type' key",
                                "write the config as dict(type='ClassName', ...).", path)
    if not isinstance(registry, Registry):
        raise RegistryTypeError("registry", registry, "an mmhooks.registry.Registry",
                                "pass one of mmhooks.registry's registries (or a child of one).", path)
    if default_args is not None and not is_config(default_args):
        raise RegistryTypeError("default_args", default_args, f"None or {_CONFIG_WORDS}",
                                "pass default_args as a dict of argument names to values.", path)


def _arguments(cfg: Any, default_args: Any) -> dict[Any, Any]:
    args = _items(cfg)
    if default_args is not None:
        for key, value in _items(default_args).items():
            args.setdefault(key, value)
    return args


def build_from_cfg(cfg: Any, registry: Registry, default_args: Any = None, *, path: str = "") -> Any:
    """Build ``cfg`` with ``registry``: ``cfg['type']`` names the class, the other keys are its arguments.

    Args:
        cfg: A ``dict``/``ConfigDict``/``Config`` with ``type`` (a name, a
            class or a dotted path); ``_scope_`` sets the default scope while
            the object is built.
        registry: Where ``type`` is looked up.
        default_args: Arguments used where ``cfg`` does not give them (``type`` too).
        path: Key path of ``cfg`` in the config, for error messages.

    Raises:
        RegistryTypeError: ``cfg``, ``registry``, ``default_args`` or ``type``
            of the wrong kind, an argument the class does not take, or a
            ``TypeError`` from the constructor.
        RegistryKeyError: no ``type``, or a ``type`` that names nothing.
        ConfigError: raised by the constructor, located below ``path``.

    Example:
        >>> from mmhooks.registry import Registry
        >>> SHAPES = Registry("shape", scope="doc")
        >>> @SHAPES.register_module()
        ... class Square:
        ...     def __init__(self, side, colour="red"):
        ...         self.side, self.colour = side, colour
        >>> vars(build_from_cfg(dict(type="Square", side=2), SHAPES, default_args=dict(colour="blue")))
        {'side': 2, 'colour': 'blue'}
    """
    _check_inputs(cfg, registry, default_args, path)
    args = _arguments(cfg, default_args)
    with DefaultScope.overwrite_default_scope(args.pop("_scope_", None)):
        if "type" not in args:
            names = registry.keys()
            example = f"type={names[0]!r}" if names else "type='ClassName'"
            raise RegistryKeyError("type", None, f"a registered {registry.name} name",
                                   f"add {example} or another name.", path)
        cls = registry.resolve_type(args.pop("type"), path)
        return _construct(cls, args, path)


def _construct(cls: Any, kwargs: dict[Any, Any], path: str) -> Any:
    """``cls(**kwargs)`` (``cls.get_instance(**kwargs)`` for instance managers) with located errors."""
    name = getattr(cls, "__name__", repr(cls))
    _check_arguments(cls, name, kwargs, path)
    try:
        if _is_instance_manager(cls) and "name" in kwargs:
            return cls.get_instance(**kwargs)
        return cls(**kwargs)
    except ConfigError as err:
        raise err.under(path) from None
    except TypeError as err:
        raise RegistryTypeError("type", name, f"arguments that {name} accepts",
                                f"check the keys under {path or 'the config'}: {err}", path) from err


def _is_instance_manager(cls: Any) -> bool:
    """Whether ``cls`` keeps named instances (mmhooks' or MMEngine's ``ManagerMixin``)."""
    if not inspect.isclass(cls):
        return False
    for module_name in ("mmhooks.logging.manager", "mmengine.utils.manager"):
        module = sys.modules.get(module_name)
        if module is not None and issubclass(cls, module.ManagerMixin):
            return True
    return False


def _check_arguments(cls: Any, name: str, kwargs: Mapping[Any, Any], path: str) -> None:
    """Reject keyword arguments that ``cls`` does not take, naming the closest one."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # builtins without signatures: let the call decide
        return
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    try:
        check_keys(path, {str(key): value for key, value in kwargs.items()}, accepted,
                   what=f"an argument of {name}")
    except ConfigError as err:
        raise RegistryTypeError(err.key, err.value, err.expected, err.fix, err.where) from None


def build_model_from_cfg(cfg: Any, registry: Registry, default_args: Any = None, *, path: str = "") -> Any:
    """``build_from_cfg``, except that a list of configs becomes a ``Sequential`` of the built modules.

    The ``Sequential`` is ``mmhooks.model.Sequential`` where it exists, else
    ``torch.nn.Sequential`` (MMEngine's is a subclass of it).
    """
    if isinstance(cfg, list):
        import importlib

        import torch

        model_package = importlib.import_module("mmhooks.model")
        sequential = getattr(model_package, "Sequential", None) or torch.nn.Sequential
        modules = [build_from_cfg(item, registry, default_args, path=f"{path}[{index}]")
                   for index, item in enumerate(cfg)]
        return sequential(*modules)
    return build_from_cfg(cfg, registry, default_args, path=path)


def build_scheduler_from_cfg(cfg: Any, registry: Registry, default_args: Any = None, *, path: str = "") -> Any:
    """Build a parameter scheduler; ``convert_to_iter_based=True`` builds it with ``build_iter_from_epoch``.

    ``default_args`` usually holds ``optimizer``; converting needs ``epoch_length``
    (batches per epoch) and an epoch-based config. Without conversion an
    ``epoch_length`` key is dropped, as in MMEngine.

    Raises:
        ConfigError: conversion without ``epoch_length`` or with ``by_epoch=False``
            (MMEngine: ``AssertionError``), or a class without ``build_iter_from_epoch``.
    """
    _check_inputs(cfg, registry, default_args, path)
    args = _arguments(cfg, default_args)
    with DefaultScope.overwrite_default_scope(args.pop("_scope_", None)):
        if not args.pop("convert_to_iter_based", False):
            args.pop("epoch_length", None)
            return build_from_cfg(args, registry, path=path)
        if "type" not in args:
            raise RegistryKeyError("type", None, f"a registered {registry.name} name",
                                   "add type='LinearLR' or another scheduler name.", path)
        cls = registry.resolve_type(args.pop("type"), path)
        name = getattr(cls, "__name__", repr(cls))
        if "epoch_length" not in args or not args.get("by_epoch", True):
            raise ConfigError("convert_to_iter_based", True, "an epoch-based scheduler (by_epoch=True) and "
                              "epoch_length (batches per epoch)",
                              "pass epoch_length=len(train_dataloader), or drop convert_to_iter_based.", path)
        convert = getattr(cls, "build_iter_from_epoch", None)
        if convert is None:
            raise ConfigError("convert_to_iter_based", True, f"a scheduler with build_iter_from_epoch ({name} "
                              "has none)", "drop convert_to_iter_based.", path)
        _check_arguments(cls, name, {key: value for key, value in args.items() if key != "epoch_length"}, path)
        try:
            return convert(**args)
        except ConfigError as err:
            raise err.under(path) from None


def build_runner_from_cfg(cfg: Any, registry: Registry, *, path: str = "") -> Any:
    """``runner_cls.from_cfg(cfg)``, where ``cfg['runner_type']`` (default ``'Runner'``) names the runner class.

    ``'Runner'`` is mmhooks' :class:`~mmhooks.runner.Runner` unless another
    class is registered under that name.
    """
    _check_inputs(cfg, registry, None, path)
    args = cfg.copy() if hasattr(cfg, "copy") else _items(cfg)
    scope = args.pop("_scope_", None)
    with DefaultScope.overwrite_default_scope(scope):
        runner_type = args.get("runner_type", "Runner")
        if runner_type == "Runner":
            runner_cls: Any = _registered_here(registry, "Runner") or _mmhooks_runner()
        else:
            runner_cls = registry.resolve_type(runner_type, join_path(path, "runner_type"))
        return runner_cls.from_cfg(args)


def _registered_here(registry: Registry, name: str) -> Any:
    """``name`` in ``registry`` or its mmhooks parents (not MMEngine's root, whose ``Runner`` is MMEngine's)."""
    node: Registry | None = registry
    while node is not None:
        if name in node.module_dict:
            return node.module_dict[name]
        node = node.parent
    return None


def _mmhooks_runner() -> Any:
    from mmhooks.runner import Runner

    return Runner
