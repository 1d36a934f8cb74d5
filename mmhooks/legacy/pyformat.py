"""Write a config dict as an MMEngine-style ``.py`` config: one assignment per top-level key."""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any

__all__ = ["format_config", "format_value"]

_WIDTH = 100


def _is_name(key: object) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def _one_line(value: Any) -> str:
    if isinstance(value, Mapping):
        if all(_is_name(k) for k in value):
            return "dict(" + ", ".join(f"{k}={_one_line(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{k!r}: {_one_line(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_one_line(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_one_line(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return f"float({str(value)!r})"
    return repr(value)


def format_value(value: Any, indent: int = 0, column: int = 0) -> str:
    """``value`` as Python source; broken into 4-space-indented lines when it would pass 100 columns.

    ``indent`` is the indentation of the current line, ``column`` where ``value`` starts on it.
    """
    flat = _one_line(value)
    if column + len(flat) <= _WIDTH or not isinstance(value, (Mapping, list, tuple)) or not value:
        return flat
    inner = indent + 4
    pad = " " * inner
    if isinstance(value, Mapping):
        named = all(_is_name(k) for k in value)
        prefixes = [f"{k}=" if named else f"{k!r}: " for k in value]
        items = [f"{pad}{p}{format_value(v, inner, inner + len(p))}" for p, v in zip(prefixes, value.values())]
        opening, closing = ("dict(", ")") if named else ("{", "}")
    else:
        items = [f"{pad}{format_value(v, inner, inner)}" for v in value]
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
    return opening + "\n" + ",\n".join(items) + ",\n" + " " * indent + closing


def format_config(cfg: Mapping[str, Any], header: str = "") -> str:
    """The text of a ``.py`` config holding ``cfg``; ``header`` lines become ``#`` comments on top.

    Example:
        >>> print(format_config({"train_cfg": {"by_epoch": True, "max_epochs": 12}}), end="")
        train_cfg = dict(by_epoch=True, max_epochs=12)
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for key, value in cfg.items():
        lines.append(f"{key} = {format_value(value, 0, len(key) + 3)}")
    return "\n".join(lines) + "\n"
