"""``DefaultScope``: the scope (``'mmdet'``, ``'mmpretrain'``...) whose registries a bare ``type`` name is looked up in.

MMEngine keeps the current scope in named ``DefaultScope`` instances (the
latest one wins); the Runner creates one from ``default_scope``. mmhooks does
the same with its own class, and, where MMEngine is installed, mirrors each
new scope into MMEngine's ``DefaultScope``: downstream code that builds
through MMEngine's registries (mmcv's ``Compose``, a model building its
backbone) then finds the scope's names too.

MMEngine is imported only by :func:`init_default_scope`, and only when it is
installed; the other functions mirror into it only when it is already loaded.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import importlib.util
import itertools
import logging
import sys
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from mmhooks.errors import ConfigError
from mmhooks.logging.manager import ManagerMixin

__all__ = ["ROOT_SCOPES", "DefaultScope", "current_scope_name", "init_default_scope", "set_default_scope"]

#: Scopes that mean "the root registries": mmhooks' own, which stand in for MMEngine's.
ROOT_SCOPES = frozenset({"mmengine", "mmhooks"})

_unique = itertools.count()


class DefaultScope(ManagerMixin):
    """A named, process-wide record of the current scope (MMEngine's ``DefaultScope``).

    Args:
        name: Instance name (``DefaultScope.get_instance(name, scope_name=...)``).
        scope_name: The scope, e.g. ``'mmdet'``.

    Raises:
        ConfigError: ``scope_name`` is not a string (MMEngine: ``AssertionError``).

    Example:
        >>> with DefaultScope.overwrite_default_scope("mmseg"):
        ...     DefaultScope.get_current_instance().scope_name
        'mmseg'
    """

    def __init__(self, name: str, scope_name: str) -> None:
        super().__init__(name)
        if not isinstance(scope_name, str):
            raise ConfigError("scope_name", scope_name, "a scope name (str) such as 'mmdet'",
                              "pass scope_name='mmengine' or the package whose registries to use.", "DefaultScope")
        self._scope_name = scope_name

    @property
    def scope_name(self) -> str:
        """The scope this instance selects."""
        return self._scope_name

    @classmethod
    def get_instance(cls, name: str, **kwargs: Any) -> DefaultScope:
        """The instance called ``name``, created (and made current) on first use.

        A new instance is mirrored into MMEngine's ``DefaultScope`` when
        ``mmengine.registry`` is already imported.
        """
        created = not cls.check_instance_created(name)
        instance: DefaultScope = super().get_instance(name, **kwargs)
        if created:
            _mirror_into_mmengine(instance.scope_name, import_mmengine=False)
        return instance

    @classmethod
    def _get_unmirrored(cls, name: str, scope_name: str) -> DefaultScope:
        """A new current instance that MMEngine does not hear about (the caller handles MMEngine)."""
        instance: DefaultScope = super().get_instance(name, scope_name=scope_name)
        return instance

    @classmethod
    def get_current_instance(cls) -> DefaultScope | None:  # type: ignore[override]
        """The latest instance, or ``None`` when no scope was ever set (as in MMEngine)."""
        if not cls._instance_dict:
            return None
        return next(reversed(cls._instance_dict.values()))  # type: ignore[no-any-return]

    @classmethod
    @contextlib.contextmanager
    def overwrite_default_scope(cls, scope_name: str | None) -> Iterator[None]:
        """Make ``scope_name`` current inside the ``with`` block (``None`` changes nothing).

        MMEngine's ``DefaultScope`` is overwritten too when MMEngine is loaded,
        so code built inside the block through MMEngine's registries sees the
        same scope.
        """
        if scope_name is None:
            yield
            return
        saved = OrderedDict(cls._instance_dict)
        cls._get_unmirrored(f"overwrite-{scope_name}-{next(_unique)}", scope_name)
        try:
            with _mmengine_overwrite(scope_name):
                yield
        finally:
            cls._instance_dict = saved

    @classmethod
    def set(cls, scope_name: str | None) -> None:
        """Kept for mmhooks' callers: ``set_default_scope(scope_name or 'mmengine')``."""
        set_default_scope(scope_name or "mmengine")


def current_scope_name() -> str | None:
    """The scope that lookups use now: mmhooks' current ``DefaultScope``, else MMEngine's, else ``None``.

    MMEngine's counts only when mmhooks never set one, so that a downstream
    ``register_all_modules()`` (which sets MMEngine's) also applies to mmhooks.
    """
    instance = DefaultScope.get_current_instance()
    if instance is not None:
        return instance.scope_name
    mm_registry = sys.modules.get("mmengine.registry")
    if mm_registry is None:
        return None
    current = mm_registry.DefaultScope.get_current_instance()
    return None if current is None else str(current.scope_name)


def set_default_scope(scope: str | None) -> None:
    """What the Runner does with its ``default_scope``: make it current, here and (where installed) in MMEngine.

    As MMEngine's Runner (which creates a ``DefaultScope`` instance for its
    ``default_scope``), without a warning when another scope was current;
    ``None`` leaves the current scope as it is. For a downstream scope
    (``'mmdet'``...) MMEngine is imported here when it is installed, so that
    MMEngine's registries (used by downstream code such as mmcv's ``Compose``)
    follow the scope even if MMEngine is first imported later by that code. For
    MMEngine's own scope it is not imported just for this (MMEngine's registries
    fall back to their own scope, the same result): a run that never touches
    MMEngine does not pay for importing it.

    Example:
        >>> set_default_scope("mmengine")
        >>> DefaultScope.get_current_instance().scope_name
        'mmengine'
    """
    if scope is None:
        return
    _check_scope(scope)
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != scope:
        DefaultScope.get_instance(f"{scope}-{next(_unique)}", scope_name=scope)
    _mirror_into_mmengine(scope, import_mmengine=scope not in ("mmengine", "mmhooks"))


def _check_scope(scope: object) -> None:
    if not isinstance(scope, str):
        raise ConfigError("default_scope", scope, "a scope name (str) such as 'mmengine' or 'mmdet'",
                          "set default_scope='mmengine' or the package whose registries to use.")


def init_default_scope(scope: str | None) -> None:
    """MMEngine's ``init_default_scope``: make ``scope`` current, in mmhooks and (where installed) in MMEngine.

    Nothing changes when ``scope`` is already current under its own name;
    otherwise a new instance makes it current, with MMEngine's warning when
    an instance called ``scope`` exists but another scope is current. MMEngine
    is imported as by :func:`set_default_scope`; ``None`` changes nothing.
    """
    if scope is None:
        return
    _check_scope(scope)
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created(scope):
        DefaultScope.get_instance(scope, scope_name=scope)
    elif current.scope_name != scope:
        _log_warning(f'The current default scope "{current.scope_name}" is not "{scope}", '
                     f'`init_default_scope` will force set the current default scope to "{scope}".')
        DefaultScope.get_instance(f"{scope}-{datetime.datetime.now()}-{next(_unique)}", scope_name=scope)
    _mirror_into_mmengine(scope, import_mmengine=True)


def _mmengine_registry_module(import_mmengine: bool) -> Any:
    """``mmengine.registry`` when loaded (or, with ``import_mmengine``, when installed); else ``None``."""
    module = sys.modules.get("mmengine.registry")
    if module is not None or not import_mmengine:
        return module
    if importlib.util.find_spec("mmengine") is None:
        return None
    return importlib.import_module("mmengine.registry")


def _mmengine_scope(scope: str) -> str:
    """MMEngine's name for ``scope``: mmhooks' root scope is MMEngine's ``'mmengine'``."""
    return "mmengine" if scope in ROOT_SCOPES else scope


def _mirror_into_mmengine(scope: str, import_mmengine: bool) -> None:
    """Make ``scope`` current in MMEngine's ``DefaultScope`` unless it is already."""
    module = _mmengine_registry_module(import_mmengine)
    if module is None:
        return
    scope = _mmengine_scope(scope)
    current = module.DefaultScope.get_current_instance()
    if current is None or current.scope_name != scope:
        module.DefaultScope.get_instance(f"mmhooks-{scope}-{next(_unique)}", scope_name=scope)


@contextlib.contextmanager
def _mmengine_overwrite(scope: str) -> Iterator[None]:
    module = _mmengine_registry_module(import_mmengine=False)
    if module is None:
        yield
        return
    with module.DefaultScope.overwrite_default_scope(_mmengine_scope(scope)):
        yield


def _log_warning(message: str) -> None:
    from mmhooks.logging.logger import print_log

    print_log(message, "current", logging.WARNING)
