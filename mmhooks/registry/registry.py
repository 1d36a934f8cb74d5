"""A name -> class table that builds objects from config dicts (MMEngine's ``Registry``).

Same interface as MMEngine's: ``register_module`` as a decorator or a call,
``get``, ``build``, ``in``, a tree of registries (``parent``/``scope``/
``children``), ``split_scope_key``, ``switch_scope_and_registry`` and lazy
``locations``. A ``type`` may be a registered name, a ``scope.Name``, a
class (or any callable), or a dotted import path (``"torch.optim.SGD"``).

Names resolve with MMEngine's scope rule over mmhooks' tree joined to
MMEngine's (see :mod:`mmhooks.registry.lookup`): mmhooks' root registries
stand in for MMEngine's, so a downstream scope's classes win under its
``default_scope`` and mmhooks' own classes win otherwise.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mmhooks.errors import ConfigError, closest
from mmhooks.registry.default_scope import DefaultScope, current_scope_name
from mmhooks.registry.errors import RegistryArgumentError, RegistryKeyError, RegistryTypeError
from mmhooks.registry.lookup import find_scope_registry, lookup, split_scope_key

__all__ = ["Registry", "import_builtins_once", "import_dotted"]


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


def import_builtins_once() -> None:
    """Import mmhooks' built-in classes the first time a name is missing from a root registry."""
    global _builtins_imported
    if _builtins_imported:
        return
    _builtins_imported = True
    from mmhooks.registry import import_builtins

    import_builtins()


class Registry:
    """A named table of classes (or functions) that configs refer to by ``type``.

    Args:
        name: Registry name, e.g. ``"hook"``; it appears in error messages.
        build_func: Builds an object from a config: ``build_func(cfg, *args,
            registry=..., **kwargs)``. Defaults to the parent's, else
            :func:`~mmhooks.registry.build_from_cfg`.
        parent: The registry this one extends: names not found here are looked
            up in the parent, and the parent finds this one by ``scope``.
        scope: Scope name (a package name such as ``"mmdet"``); defaults to the
            top-level package of the module that creates the registry.
        locations: Modules imported the first time a name is looked up, so that
            their classes register themselves.

    Raises:
        RegistryTypeError: ``parent`` is not an mmhooks ``Registry`` or ``scope`` is not a string.
        ConfigError: ``parent`` has a child with the same scope already.

    MMEngine parity:
        Same resolution rules and build functions. Differences: re-registering
        the very same object under a name is allowed; errors are
        :class:`~mmhooks.errors.ConfigError` subclasses that are also the
        ``KeyError``/``TypeError`` MMEngine raises (``AssertionError`` for a bad
        ``parent`` or ``scope``); ``build`` returns an already-built object
        unchanged; ``get`` follows the default scope as MMEngine's ``build``
        does; and the build functions check keyword arguments against the
        class's signature before calling it.

    Example:
        >>> MODELS = Registry("model", scope="doc")
        >>> @MODELS.register_module()
        ... class Net:
        ...     def __init__(self, width=2):
        ...         self.width = width
        >>> MODELS.build(dict(type="Net", width=3)).width
        3
        >>> MODELS.get("doc.Net") is Net
        True
    """

    def __init__(
        self,
        name: str,
        build_func: Callable[..., Any] | None = None,
        parent: Registry | None = None,
        scope: str | None = None,
        locations: Sequence[str] | None = None,
    ) -> None:
        from mmhooks.registry.build_functions import build_from_cfg

        self._name = name
        self._module_dict: dict[str, Any] = {}
        self._children: dict[str, Registry] = {}
        self._locations = list(locations or [])
        self._imported = False
        self._mmengine_name: str | None = None
        if scope is None:
            scope = self.infer_scope()
        elif not isinstance(scope, str):
            raise RegistryArgumentError("scope", scope, "a scope name (str)", "pass scope='my_package'.",
                                        f"Registry({name!r})")
        self._scope = scope
        self.parent: Registry | None = None
        if parent is not None:
            if not isinstance(parent, Registry):
                raise RegistryArgumentError(
                    "parent", parent, "an mmhooks.registry.Registry",
                    "use mmengine.registry.Registry for a child of MMEngine's registries, or pass one of "
                    "mmhooks.registry's registries (their children are searched with MMEngine's).",
                    f"Registry({name!r})")
            parent._add_child(self)
            self.parent = parent
        self.build_func: Callable[..., Any] = build_func or (parent.build_func if parent else build_from_cfg)

    # -- identity and the registry tree ------------------------------------------------------------

    @staticmethod
    def infer_scope() -> str:
        """The top-level package of the module that creates the registry (``'mmengine'`` if unknown)."""
        # frame 0: infer_scope, 1: Registry.__init__, 2: the code that creates the registry
        frame = sys._getframe(2)
        module = frame.f_globals.get("__name__")
        return module.split(".")[0] if isinstance(module, str) and module else "mmengine"

    @staticmethod
    def split_scope_key(key: str) -> tuple[str | None, str]:
        """Split off the first scope: ``'mmdet.ResNet'`` -> ``('mmdet', 'ResNet')``, ``'ResNet'`` -> ``(None, 'ResNet')``."""
        return split_scope_key(key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def module_dict(self) -> dict[str, Any]:
        return self._module_dict

    @property
    def children(self) -> dict[str, Registry]:
        return self._children

    @property
    def root(self) -> Registry:
        return self._get_root_registry()

    @property
    def mmengine_name(self) -> str | None:
        """Name of the MMEngine root registry this tree stands in for (``"MODELS"``), or ``None``.

        mmhooks' own root registries take the name they have in
        ``mmhooks.registry``; user registries have none unless it is set.
        """
        root = self.root
        if root is not self:
            return root.mmengine_name
        if self._mmengine_name is None:
            package = sys.modules.get("mmhooks.registry")
            for attribute, value in vars(package).items() if package is not None else ():
                if value is self:
                    self._mmengine_name = attribute
                    break
        return self._mmengine_name

    @mmengine_name.setter
    def mmengine_name(self, value: str | None) -> None:
        self._mmengine_name = value

    def _get_root_registry(self) -> Registry:
        root = self
        while root.parent is not None:
            root = root.parent
        return root

    def _search_child(self, scope: str) -> Registry | None:
        """Depth-first: this registry if its scope is ``scope``, else the first descendant that has it."""
        if self._scope == scope:
            return self
        for child in self._children.values():
            found = child._search_child(scope)
            if found is not None:
                return found
        return None

    def _add_child(self, registry: Registry) -> None:
        if registry.scope in self._children:
            raise ConfigError("scope", registry.scope, f"a scope not used by another child of the {self._name!r} "
                              f"registry ({sorted(self._children)})", "choose another scope name.",
                              f"Registry({registry.name!r})")
        self._children[registry.scope] = registry

    @contextlib.contextmanager
    def switch_scope_and_registry(self, scope: str | None) -> Iterator[Registry]:
        """Make ``scope`` the default scope in the block and yield its registry in this tree (else ``self``)."""
        with DefaultScope.overwrite_default_scope(scope):
            current = current_scope_name()
            found = None
            if current is not None:
                found = find_scope_registry(self.root, current)
            yield found if isinstance(found, Registry) else self

    # -- registration --------------------------------------------------------------------------------

    def import_from_location(self) -> None:
        """Import the modules in ``locations`` (once), so their classes register here."""
        if self._imported:
            return
        self._imported = True
        for location in self._locations:
            importlib.import_module(location)

    def _register(self, module: Any, names: str | list[str] | None, force: bool) -> None:
        if not callable(module):
            raise RegistryTypeError("module", module, "a class or other callable", "register a class or a function.",
                                    f"{self._name} registry")
        keys = [module.__name__] if names is None else [names] if isinstance(names, str) else list(names)
        for key in keys:
            existing = self._module_dict.get(key)
            if not force and key in self._module_dict and existing is not module:
                raise RegistryKeyError(
                    key, module, f"a name not yet registered in the {self._name} registry (it holds "
                    f"{getattr(existing, '__module__', '?')}.{getattr(existing, '__qualname__', existing)})",
                    "pass force=True to replace it, or register under another name.", f"{self._name} registry")
            self._module_dict[key] = module

    def register_module(
        self, name: str | Sequence[str] | None = None, force: bool = False, module: Any = None
    ) -> Any:
        """Register ``module`` under ``name`` (default: its ``__name__``); without ``module``, a decorator.

        Raises:
            RegistryTypeError: ``force`` is not a bool, ``name`` is not a string
                or sequence of strings, or ``module`` is not callable.
            RegistryKeyError: ``name`` holds another object and ``force`` is False.
        """
        where = f"{self._name} registry"
        if not isinstance(force, bool):
            raise RegistryTypeError("force", force, "a bool", "pass force=True or force=False.", where)
        if not (name is None or isinstance(name, str)
                or (isinstance(name, Sequence) and all(isinstance(item, str) for item in name))):
            raise RegistryTypeError("name", name, "None, a str or a sequence of str", "pass name='MyName'.", where)
        names = list(name) if name is not None and not isinstance(name, str) else name
        if module is not None:
            self._register(module, names, force)
            return module

        def decorator(cls: Any) -> Any:
            self._register(cls, names, force)
            return cls

        return decorator

    # -- lookup -----------------------------------------------------------------------------------

    def get(self, key: str) -> Any:
        """The object ``key`` names, or ``None``.

        ``key`` is a name (searched in the current default scope's registry and
        its parents, then here and in the parents), a ``scope.Name`` (searched in
        that scope's registry), or a dotted import path.

        Raises:
            TypeError: ``key`` is not a string.
        """
        if not isinstance(key, str):
            raise TypeError(f"{self._name} registry: the key of Registry.get must be a str, got {type(key).__name__}")
        return self._find(key, building=False)

    def _find(self, key: str, building: bool) -> Any:
        found = lookup(self, key, current_scope_name(), building=building)
        if found is None and "." in key:
            found = import_dotted(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return len(self._module_dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._module_dict)

    def __repr__(self) -> str:
        width = max((len(key) for key in self._module_dict), default=0)
        rows = [f"  {key:<{width}}  {value}" for key, value in sorted(self._module_dict.items())]
        return "\n".join([f"Registry of {self._name} (scope {self._scope!r}, {len(self)} names)", *rows])

    def keys(self) -> list[str]:
        """The names registered here and in the parents, sorted (what error messages list)."""
        names = set(self._module_dict)
        if self.parent is not None:
            names.update(self.parent.keys())
        return sorted(names)

    def resolve_type(self, type_: Any, path: str = "") -> Any:
        """The class a config's ``type`` names; a located error when it names nothing.

        Raises:
            RegistryTypeError: ``type_`` is neither a string nor callable.
            RegistryKeyError: nothing is registered (or importable) under ``type_``.
        """
        if not isinstance(type_, str):
            if callable(type_):
                return type_
            raise RegistryTypeError("type", type_, f"a {self._name} name, class or dotted import path",
                                    "set type to a string.", path)
        found = self._find(type_, building=True)
        if found is not None:
            return found
        raise RegistryKeyError("type", type_, f"a registered {self._name} ({', '.join(self.keys())})",
                               self._unknown_type_fix(type_), path)

    def _unknown_type_fix(self, type_: str) -> str:
        near = closest(type_, self.keys())
        if near:
            return f"did you mean {near!r}?"
        scope = current_scope_name()
        if "." in type_:
            package = type_.split(".", 1)[0]
            return f"install the package that defines it ({package!r}) or check the import path."
        hint = f" (the default scope is {scope!r})" if scope else ""
        return (f"register it with @{self.mmengine_name or self._name.upper()}.register_module(){hint}, import it "
                "with custom_imports, or use a dotted path such as 'my_pkg.module.ClassName'.")

    # -- building ---------------------------------------------------------------------------------

    def build(self, cfg: Any, *args: Any, path: str = "", **kwargs: Any) -> Any:
        """Build an object from ``cfg`` with :attr:`build_func`; ``path`` locates errors.

        An already-built object (anything but a config, a list or a plain value)
        is returned unchanged.
        """
        from mmhooks.registry.build_functions import accepts_path, is_built

        if is_built(cfg):
            return cfg
        if accepts_path(self.build_func):
            kwargs["path"] = path
        return self.build_func(cfg, *args, **kwargs, registry=self)

