"""Format a config as Python source that reads back to the same values.

Top-level keys become assignments in their original order; dicts are written
``dict(key=value)`` (or ``{'key': value}`` when a key is not an identifier);
a line longer than 79 characters is split one item per line. No third-party
formatter is needed.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["format_python"]

_WIDTH = 79
_INDENT = 4
_SHADOWABLE = frozenset({"dict", "float", "globals"})


def format_python(cfg: Mapping[str, Any]) -> str:
    """Python source that assigns every item of ``cfg`` at module level.

    MMEngine parity:
        Keys keep their order (MMEngine sorts them), classes and functions are
        written as their dotted import path (``'torch.optim.SGD'``, which the
        registries accept as a ``type``), and ``inf``/``nan`` as
        ``float('inf')``. A top-level key that is not an identifier is written
        ``globals()['my-key'] = ...`` so the text still runs.
    """
    shadowing = [key for key in cfg if key in _SHADOWABLE]
    braces = "dict" in shadowing
    lines = []
    for key in [*(key for key in cfg if key not in _SHADOWABLE), *shadowing]:
        target = key if _is_name(key) else f"globals()[{key!r}]"
        prefix = f"{target} = "
        lines.append(prefix + _format(cfg[key], 0, len(prefix), braces))
    return "\n".join(lines) + "\n" if lines else ""


def _is_name(key: object) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def _format(value: Any, indent: int, column: int, braces: bool) -> str:
    """``value`` as an expression starting at ``column`` on a line indented by ``indent``."""
    inline = _inline(value, braces)
    if column + len(inline) <= _WIDTH or not isinstance(value, (Mapping, list, tuple)) or not value:
        return inline
    open_, close, items = _parts(value, braces)
    inner = indent + _INDENT
    body = [f"{' ' * inner}{label}{_format(item, inner, inner + len(label), braces)},"
            for label, item in items]
    return "\n".join([open_, *body, " " * indent + close])


def _parts(value: Any, braces: bool) -> tuple[str, str, list[tuple[str, Any]]]:
    if isinstance(value, Mapping):
        if not braces and all(_is_name(key) for key in value):
            return "dict(", ")", [(f"{key}=", item) for key, item in value.items()]
        return "{", "}", [(f"{_scalar(key)}: ", item) for key, item in value.items()]
    if isinstance(value, list):
        return "[", "]", [("", item) for item in value]
    return "(", ")", [("", item) for item in value]


def _inline(value: Any, braces: bool) -> str:
    if isinstance(value, (Mapping, list, tuple)):
        open_, close, items = _parts(value, braces)
        text = ", ".join(label + _inline(item, braces) for label, item in items)
        if isinstance(value, tuple) and len(value) == 1:
            text += ","
        return f"{open_}{text}{close}"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({repr(value)!r})"
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        module = getattr(value, "__module__", None)
        if module and "<" not in value.__qualname__:
            return repr(f"{module}.{value.__qualname__}")
    return repr(value)
