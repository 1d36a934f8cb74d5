"""Reading MMCV-era config files: values through :class:`mmhooks.config.Config`, statements through ``ast``.

Values come from the one config loader mmhooks has (``Config.fromfile``: ``_base_`` lists,
``{{_base_.x}}`` references, ``_delete_``, ``{{fileDirname}}``-style variables). The statement view
(:class:`SourceFile`) tells the tree migration which top-level names a file assigns and reads, so that
it can keep a file's own statements verbatim where they stay valid.
"""

from __future__ import annotations

import ast
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SourceFile", "Statement", "read_config_values", "read_source"]

BASE_KEY = "_base_"
_BASE_TEXT_REF = re.compile(r"\{\{\s*_base_\.(\w+)")


def read_config_values(path: str) -> dict[str, Any]:
    """The merged values of ``path`` and its ``_base_`` chain, as plain containers.

    Raises:
        ConfigFileError: the file or one of its bases cannot be read; the message names the file (and line).
    """
    from mmhooks.config import Config

    cfg = Config.fromfile(path, import_custom_modules=False, lazy_import=False)
    values: dict[str, Any] = cfg.to_dict()
    return values


@dataclass
class Statement:
    """One top-level statement: the names it assigns and reads, and its text."""

    node: ast.stmt
    text: str
    stores: set[str]
    loads: set[str]
    base_refs: set[str]  # first-level keys read through ``_base_.x`` / ``{{_base_.x}}``

    @property
    def is_base(self) -> bool:
        return BASE_KEY in self.stores


@dataclass
class SourceFile:
    """A config file's own statements, its ``_base_`` entries and the names it assigns."""

    path: str
    bases: list[str]
    statements: list[Statement] = field(default_factory=list)

    @property
    def assigned(self) -> set[str]:
        names: set[str] = set()
        for statement in self.statements:
            names |= statement.stores
        return names - {BASE_KEY}

    def base_paths(self) -> list[str]:
        return [osp.normpath(osp.join(osp.dirname(self.path), name)) for name in self.bases]


class _Names(ast.NodeVisitor):
    def __init__(self) -> None:
        self.stores: set[str] = set()
        self.loads: set[str] = set()
        self.base_refs: set[str] = set()
        self.local: set[str] = set()  # comprehension / lambda variables

    def visit_Name(self, node: ast.Name) -> None:
        (self.stores if isinstance(node.ctx, (ast.Store, ast.Del)) else self.loads).add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id == BASE_KEY:
            self.base_refs.add(node.attr)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        root: ast.expr = node
        while isinstance(root, (ast.Subscript, ast.Attribute)):
            root = root.value
        if isinstance(node.ctx, ast.Store) and isinstance(root, ast.Name):
            self.stores.add(root.id)  # ``x['a'] = 1`` changes x
            self.loads.add(root.id)
        self.generic_visit(node)

    def _scoped(self, node: ast.AST, targets: list[ast.expr]) -> None:
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    self.local.add(name.id)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._scoped(node, [node.target])

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.local |= {arg.arg for arg in node.args.args}
        self.generic_visit(node)


def read_source(path: str) -> SourceFile:
    """The statements of ``path`` (not its bases).

    Raises:
        ConfigFileError: a syntax error, located at the file and line.
    """
    from mmhooks.config.errors import ConfigFileError

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as err:
        raise ConfigFileError("", (err.text or "").strip(), f"valid Python ({err.msg})",
                              f"correct the syntax at line {err.lineno}", f"{path}:{err.lineno}") from None
    source = SourceFile(path, [])
    lines = text.splitlines()
    previous_end = 0
    for node in tree.body:
        comments = [line for line in lines[previous_end:node.lineno - 1] if line.strip().startswith("#")]
        previous_end = node.end_lineno or node.lineno
        names = _Names()
        names.visit(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.stores.add(node.name)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.stores |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        segment = ast.get_source_segment(text, node, padded=False) or ast.unparse(node)
        base_refs = names.base_refs | set(_BASE_TEXT_REF.findall(segment))
        shown = "\n".join([*comments, segment])  # comment lines right above a statement go with it
        statement = Statement(node, shown, names.stores, names.loads - names.local - {BASE_KEY}, base_refs)
        if statement.is_base and isinstance(node, ast.Assign):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                value = []
            source.bases = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]
        source.statements.append(statement)
    return source
