"""``custom_imports=dict(imports=[...], allow_failed_imports=False)``: import user modules for a config.

Importing a module runs its ``@X.register_module()`` decorators, which is how
a config reaches classes that live outside mmhooks. This is the only place
where a config imports code on the user's behalf.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from mmhooks.errors import ConfigError, check_keys

__all__ = ["CustomImportError", "import_custom_modules"]

_KEYS = ("allow_failed_imports", "imports")



class CustomImportError(ConfigError, ImportError):  # type: ignore[misc]  # path: the key path, not a file
    """A ``custom_imports`` module that cannot be imported (also an ``ImportError``, MMEngine's class)."""

def import_custom_modules(custom_imports: Any, where: str = "custom_imports") -> list[ModuleType | None]:
    """Import every module named by a ``custom_imports`` config value.

    Args:
        custom_imports: ``dict(imports=[...] or "name", allow_failed_imports=False)``.
        where: Key path used in error messages.

    Returns:
        The imported modules, ``None`` for each one that failed when failures are allowed.

    Raises:
        ConfigError: A malformed value, or a module that cannot be imported
            (the ``ImportError`` is chained).
    """
    if not isinstance(custom_imports, Mapping):
        raise ConfigError(where, custom_imports, "a dict with the keys ['allow_failed_imports', 'imports']",
                          "write custom_imports=dict(imports=['my_pkg.my_module'], allow_failed_imports=False).")
    check_keys(where, custom_imports, _KEYS)
    names = custom_imports.get("imports") or []
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, (list, tuple)):
        raise ConfigError("imports", names, "a module name or a list of module names",
                          "write imports=['my_pkg.my_module'].", where)
    allow_failed = bool(custom_imports.get("allow_failed_imports", False))
    modules: list[ModuleType | None] = []
    for index, name in enumerate(names):
        path = f"imports[{index}]"
        if not isinstance(name, str):
            raise ConfigError(path, name, "a dotted module name (str)", "write the module name as a string.", where)
        try:
            modules.append(importlib.import_module(name))
        except ImportError as err:
            if allow_failed:
                warnings.warn(f"{where}.{path}: {name!r} failed to import and is ignored ({err}).",
                              UserWarning, stacklevel=2)
                modules.append(None)
                continue
            raise CustomImportError(path, name, f"an importable module ({type(err).__name__}: {err})",
                              "check the name, and add the directory that contains the package to PYTHONPATH "
                              "(or pip install it); set allow_failed_imports=True to skip it.", where) from err
    return modules
