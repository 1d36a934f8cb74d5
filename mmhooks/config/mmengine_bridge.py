"""Optional interop: let ``mmengine.Config`` read the config files only it can read.

MMEngine is never required. When a file needs it (a pure-Python config, or a
``_base_`` from another package such as ``mmdet::...``) and it is installed, its
result is converted to plain values; otherwise the caller reports which
construct needs MMEngine and how to install it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

from mmhooks.config.errors import ConfigFileError

__all__ = ["INSTALL_HINT", "is_mmengine_config", "mmengine_available", "read_with_mmengine", "to_mmengine_config",
           "values_of_mmengine_config"]

INSTALL_HINT = "pip install 'mmengine-lite>=0.10,<0.11'"


def mmengine_available() -> bool:
    """Whether ``mmengine`` can be imported (without importing it)."""
    return importlib.util.find_spec("mmengine") is not None


def read_with_mmengine(filename: str, reason: str) -> tuple[dict[str, Any], str]:
    """``(cfg_dict, text)`` of ``filename`` as parsed by ``mmengine.Config.fromfile``.

    Names imported by a pure-Python config become the objects they name
    (``torch.optim.SGD``), as MMEngine's Runner sees them when it reads the
    config; the imported names themselves are not keys.

    Raises:
        ConfigFileError: MMEngine is missing, or failed on the file (the
            original exception is chained).
    """
    if not mmengine_available():
        raise ConfigFileError("", reason, "a construct mmhooks reads without MMEngine",
                              f"install MMEngine to read this file ({INSTALL_HINT}), or rewrite it as a classic "
                              "config with `_base_ = [...]` and `type='Name'` strings", filename)
    config_module = importlib.import_module("mmengine.config")
    try:
        mm_cfg = config_module.Config.fromfile(filename)
    except Exception as err:  # noqa: BLE001 - anything MMEngine raises is a problem in the file
        raise ConfigFileError("", f"{type(err).__name__}: {err}", f"a config that mmengine.Config can read "
                              f"(this file needs MMEngine because of {reason})",
                              "fix the file as the MMEngine error says", filename) from err
    return values_of_mmengine_config(mm_cfg), str(getattr(mm_cfg, "text", "") or "")


def is_mmengine_config(obj: object) -> bool:
    """Whether ``obj`` is an ``mmengine.Config`` (False when MMEngine is not loaded; never imports it)."""
    module = sys.modules.get("mmengine.config.config")
    return module is not None and isinstance(obj, module.Config)


def values_of_mmengine_config(mm_cfg: Any) -> dict[str, Any]:
    """The values of an ``mmengine.Config`` as plain containers, lazy imports built, imported names dropped."""
    imported = set(getattr(mm_cfg, "_imported_names", ()))
    lazy_types = tuple(getattr(importlib.import_module("mmengine.config.lazy"), name)
                       for name in ("LazyAttr", "LazyObject"))
    return {key: _built(value, lazy_types) for key, value in dict.items(mm_cfg._cfg_dict) if key not in imported}


def to_mmengine_config(cfg: Any) -> Any:
    """An ``mmengine.Config`` with ``cfg``'s values, text and filename, for code that checks MMEngine's type.

    MMEngine's vis backends, for example, ``assert isinstance(config, Config)``.

    Raises:
        ConfigFileError: MMEngine is not installed.
    """
    if is_mmengine_config(cfg):
        return cfg
    if not mmengine_available():
        raise ConfigFileError("", type(cfg).__name__, "MMEngine installed, to hand a config to MMEngine code",
                              f"install it ({INSTALL_HINT})", getattr(cfg, "filename", None) or "")
    config_class = importlib.import_module("mmengine.config").Config
    values = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    converted = config_class(values, cfg_text=getattr(cfg, "text", None) or None,
                             env_variables=getattr(cfg, "env_variables", None))
    # set after construction: MMEngine would re-read the file when there is no text (it may have moved)
    object.__setattr__(converted, "_filename", getattr(cfg, "filename", None))
    return converted


def _built(value: Any, lazy_types: tuple[type, ...]) -> Any:
    """Plain containers, with MMEngine's lazy imports replaced by the objects they name (as its Runner sees them)."""
    if isinstance(value, lazy_types):
        return value.build()  # type: ignore[attr-defined]
    if isinstance(value, dict):
        return {key: _built(item, lazy_types) for key, item in dict.items(value)}
    if type(value) in (list, tuple):
        return type(value)(_built(item, lazy_types) for item in value)
    return value
