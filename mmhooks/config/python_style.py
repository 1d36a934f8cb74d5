"""Tell a classic ``.py`` config from MMEngine's "pure Python" (lazy import) style.

MMEngine 0.8 added configs that inherit with ``with read_base(): from .base
import *`` and name classes by importing them. Only MMEngine can read those, so
mmhooks hands them to ``mmengine.Config`` when it is installed. The rules
follow MMEngine's own detection: a top-level ``_base_ = ...`` makes a classic
config; otherwise ``read_base``, a relative import, or an import of a module
outside the standard library makes a pure-Python one.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

__all__ = ["PythonStyle", "detect_python_style"]

BASE_KEY = "_base_"
_STDLIB = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)
_CONFIG_MODULES = ("mmengine.config", "mmhooks.config")


@dataclass(frozen=True)
class PythonStyle:
    """How a ``.py`` config must be read.

    Attributes:
        lazy: MMEngine would read it in its lazy-import mode.
        required: Only MMEngine can read it (``read_base`` or a relative
            import); otherwise executing it as plain Python also works.
        reason: The construct that decided it, with its line, for messages.
    """

    lazy: bool
    required: bool
    reason: str


PLAIN = PythonStyle(lazy=False, required=False, reason="")


def detect_python_style(tree: ast.Module) -> PythonStyle:
    """Classify a parsed ``.py`` config (see the module docstring)."""
    if any(_assigns_base(node) for node in tree.body):
        return PLAIN
    optional: PythonStyle | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(_is_read_base(item.context_expr) for item in node.items):
            return PythonStyle(True, True, f"`with read_base():` at line {node.lineno}")
        if isinstance(node, ast.ImportFrom):
            if node.level:
                return PythonStyle(True, True, f"a relative import at line {node.lineno}")
            if optional is None and node.module and not _is_builtin(node.module):
                optional = PythonStyle(True, False, f"`from {node.module} import ...` at line {node.lineno}")
        elif isinstance(node, ast.Import) and optional is None:
            for alias in node.names:
                if not _is_builtin(alias.name):
                    optional = PythonStyle(True, False, f"`import {alias.name}` at line {node.lineno}")
                    break
    return optional or PLAIN


def _assigns_base(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == BASE_KEY for target in node.targets)


def _is_read_base(expr: ast.expr) -> bool:
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name == "read_base"


def _is_builtin(module: str) -> bool:
    return module.split(".")[0] in _STDLIB or module.startswith(_CONFIG_MODULES)
