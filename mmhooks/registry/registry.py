"""A name -> class table that builds objects from config dicts.

Mirrors MMEngine's ``Registry`` for what configs rely on: ``register_module``
as a decorator or a call, ``get``, ``build`` and ``in``. A ``type`` may be a
registered name, a class (or any callable), or a dotted import path
(``"torch.optim.SGD"``). When MMEngine is installed, a name that is not
registered here is looked up in MMEngine's registry of the same name, under
the ``default_scope`` set on :data:`DefaultScope` (``mmdet``, ``mmseg``...).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mmhooks.errors import ConfigError, closest

__all__ = ["DefaultScope", "Registry", "build_from_cfg", "import_dotted"]


class DefaultScope:
    """The process-wide ``default_scope`` used to resolve names through MMEngine.

    MMEngine keeps this in a global ``DefaultScope`` instance; mmhooks keeps
    only its name, set by the Runner from the config.
    """

    name: str | None = None

    @classmethod
    def set(cls, name: str | None) -> None:
        cls.name = name


def import_dotted(path: str) -> Any:
    """Import ``"pkg.module.Name"`` and return ``Name``; ``None`` when it does not exist."""
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        # "pkg.module.Class.attr" style paths: import the longest importable prefix.
        parent = import_dotted(module_name)
        return getattr(parent, attr, None) if parent is not None else None
    return getattr(module, attr, None)


_builtins_imported = False


def _import_builtins() -> bool:
    """Import mmhooks' built-in classes once; True when this call did the import."""
    global _builtins_imported
    if _builtins_imported:
        return False
    _builtins_imported = True
    from mmhooks.registry import import_builtins

    import_builtins()
    return True


def _mmengine_lookup(registry_name: str, key: str) -> Any:
    """Resolve ``key`` in MMEngine's registry called ``registry_name``, if MMEngine is installed."""
    try:
        mm_registry = importlib.import_module("mmengine.registry")
    except ImportError:
        return None
    registry = getattr(mm_registry, registry_name.upper(), None)
    if registry is None:
        return None
    scope = DefaultScope.name
    candidates = [key] if "." in key or not scope else [f"{scope}.{key}", key]
    for candidate in candidates:
        try:
            found = registry.get(candidate)
        except Exception:  # MMEngine raises for unknown scopes; treat as not found
            found = None
        if found is not None:
            return found
    return None


class Registry:
    """A named table of classes (or functions) that configs refer to by ``type``.

    Args:
        name: Registry name, e.g. ``"hook"``; it appears in error messages and
            selects MMEngine's registry of the same name for the fallback.
        build_func: Replaces :func:`build_from_cfg` for this registry.
        locations: Not used (MMEngine imports these lazily); accepted for
            signature compatibility.

    Example:
        >>> MODELS = Registry("model")
        >>> @MODELS.register_module()
        ... class Net:
        ...     def __init__(self, width=2):
        ...         self.width = width
        >>> MODELS.build(dict(type="Net", width=3)).width
        3
    """

    def __init__(
        self,
        name: str,
        build_func: Callable[..., Any] | None = None,
        parent: Registry | None = None,
        scope: str | None = None,
        locations: list[str] | None = None,
    ) -> None:
        self._name = name
        self._module_dict: dict[str, Any] = {}
        self._build_func = build_func
        self.parent = parent
        self.scope = scope or "mmhooks"
        self.mmengine_name = name.upper() + "S" if not name.upper().endswith("S") else name.upper()

    @property
    def name(self) -> str:
        return self._name

    @property
    def module_dict(self) -> dict[str, Any]:
        return self._module_dict

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._module_dict)

    def __repr__(self) -> str:
        return f"Registry(name={self._name!r}, items={sorted(self._module_dict)})"

    def keys(self) -> list[str]:
        """The registered names, sorted (also what error messages list)."""
        names = set(self._module_dict)
        if self.parent is not None:
            names.update(self.parent.keys())
        return sorted(names)

    def _register(self, module: Any, name: str | list[str] | None, force: bool) -> None:
        if not callable(module):
            raise TypeError(f"{self._name} registry: only callables can be registered, got {module!r}")
        names = [module.__name__] if name is None else [name] if isinstance(name, str) else list(name)
        for key in names:
            if not force and key in self._module_dict and self._module_dict[key] is not module:
                raise KeyError(
                    f"{self._name} registry: {key!r} is already registered as {self._module_dict[key]!r}. "
                    "Fix: pass force=True or register under another name."
                )
            self._module_dict[key] = module

    def register_module(
        self, name: str | list[str] | None = None, force: bool = False, module: Any = None
    ) -> Any:
        """Register ``module``; without ``module`` return a class decorator."""
        if module is not None:
            self._register(module, name, force)
            return module

        def decorator(cls: Any) -> Any:
            self._register(cls, name, force)
            return cls

        return decorator

    def get(self, key: str) -> Any:
        """The object registered as ``key``, found by dotted path, or in MMEngine; ``None`` if absent.

        A scoped name such as ``"mmdet.RetinaNet"`` is first tried without its
        scope prefix here, then through MMEngine.
        """
        if key in self._module_dict:
            return self._module_dict[key]
        if _import_builtins():
            return self.get(key)
        if self.parent is not None:
            found = self.parent.get(key)
            if found is not None:
                return found
        if "." in key:
            scope, _, short = key.partition(".")
            if scope == self.scope and short in self._module_dict:
                return self._module_dict[short]
            found = import_dotted(key)
            if found is not None:
                return found
        return _mmengine_lookup(self.mmengine_name, key)

    def build(self, cfg: Any, *args: Any, path: str = "", **kwargs: Any) -> Any:
        """Build an object from ``cfg`` (a dict with ``type``); ``path`` locates errors."""
        if self._build_func is not None:
            return self._build_func(cfg, *args, registry=self, path=path, **kwargs)
        return build_from_cfg(cfg, self, *args, path=path, **kwargs)

    def resolve_type(self, type_: Any, path: str = "") -> Any:
        """The class named by a config's ``type``; :class:`ConfigError` if it cannot be found."""
        if not isinstance(type_, str):
            if callable(type_):
                return type_
            raise ConfigError(
                "type", type_, f"a {self._name} name, class or dotted import path", "set type to a string.", path
            )
        found = self.get(type_)
        if found is not None:
            return found
        near = closest(type_, self.keys())
        if near:
            fix = f"did you mean {near!r}?"
        elif "." in type_:
            package = type_.split(".", 1)[0]
            fix = f"install the package that defines it ({package!r}) or check the import path."
        else:
            fix = (
                f"register it with @{self.mmengine_name}.register_module(), import it with "
                "custom_imports, or use a dotted path such as 'my_pkg.module.ClassName'."
            )
        raise ConfigError("type", type_, f"a registered {self._name} ({', '.join(self.keys())})", fix, path)


def _check_arguments(cls: Any, kwargs: Mapping[str, Any], path: str) -> None:
    """Reject unknown keyword arguments and report missing required ones by key path."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # builtins without signatures: let the call decide
        return
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = sorted(
        name for name, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )
    for key, value in kwargs.items():
        if key not in accepted:
            near = closest(key, accepted)
            fix = f"rename it to {near!r}." if near else "delete it."
            name = getattr(cls, "__name__", repr(cls))
            raise ConfigError(key, value, f"an argument of {name} ({', '.join(accepted)})", fix, path)


def _is_manager_class(cls: Any) -> bool:
    """A ``ManagerMixin`` class, mmhooks' or (when it is loaded) MMEngine's."""
    if not inspect.isclass(cls):
        return False
    from mmhooks.logging.manager import ManagerMixin

    if issubclass(cls, ManagerMixin):
        return True
    mm_manager = sys.modules.get("mmengine.utils.manager")
    return mm_manager is not None and issubclass(cls, mm_manager.ManagerMixin)


def build_from_cfg(
    cfg: Any,
    registry: Registry,
    *args: Any,
    default_args: Mapping[str, Any] | None = None,
    path: str = "",
    **extra: Any,
) -> Any:
    """Build ``cfg`` with ``registry``: ``cfg['type']`` names the class, the other keys are its arguments.

    An object that is already built (not a mapping) is returned unchanged.
    """
    if not isinstance(cfg, Mapping):
        return cfg
    kwargs = dict(copy.copy(cfg))
    if default_args:
        for key, value in default_args.items():
            kwargs.setdefault(key, value)
    if "type" not in kwargs:
        names = registry.keys()
        example = f"type={names[0]!r}" if names else "type='ClassName'"
        raise ConfigError("type", None, f"a registered {registry.name} name", f"add {example} or another name.", path)
    cls = registry.resolve_type(kwargs.pop("type"), path)
    kwargs.update(extra)
    _check_arguments(cls, kwargs, path)
    try:
        if not args and "name" in kwargs and _is_manager_class(cls):  # MMEngine: named instances are global
            return cls.get_instance(**kwargs)
        return cls(*args, **kwargs)
    except ConfigError as err:
        raise err.under(path) from None
    except TypeError as err:
        name = getattr(cls, "__name__", repr(cls))
        raise ConfigError(
            "type", name, f"arguments that {name} accepts", f"check the keys under {path or 'the config'}: {err}", path
        ) from err
