"""``Config.diff``: a unified diff of two configs' Python text, insensitive to key order (as MMEngine's)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from mmhooks.config.pretty import format_python

__all__ = ["config_diff"]


def config_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """The unified diff of ``before`` and ``after`` written as Python configs with sorted keys.

    MMEngine writes keys sorted, so two configs that differ only in key order
    have no diff; the same holds here. Every line ends with a newline and the
    text ends with an empty line, as MMEngine's (which prints through
    ``rich``; this text has no colours and no wrapping).

    Example:
        >>> print(config_diff(dict(a=1, b=2), dict(b=3, a=1)), end="")
        --- 
        <BLANKLINE>
        +++ 
        <BLANKLINE>
        @@ -1,3 +1,3 @@
        <BLANKLINE>
         a = 1
        -b = 2
        +b = 3
        <BLANKLINE>
        <BLANKLINE>
    """
    lines = difflib.unified_diff(_sorted_text(before).split("\n"), _sorted_text(after).split("\n"))
    return "".join(line + "\n" for line in lines) + "\n"


def _sorted_text(cfg: Mapping[str, Any]) -> str:
    return format_python(_sorted(cfg))


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value, key=str)}
    if type(value) in (list, tuple):
        return type(value)(_sorted(item) for item in value)
    return value
