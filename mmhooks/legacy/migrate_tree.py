"""Convert a whole MMCV 1.x ``_base_`` config tree, file for file, so that inheritance still composes.

Every file of the tree becomes a file at the same place in the output tree with the same ``_base_``
list. The target of a file is the conversion of its merged config (:func:`convert_with_sources` of what
``Config.fromfile`` reads); the file keeps

* its own statements for keys the conversion does not touch (``model``, ``data``, pipelines...), verbatim,
  comments and helper variables included, wherever they stay valid;
* for the converted keys, only what differs from what its (converted) bases already give: a runtime base
  keeps ``default_hooks`` / ``log_processor`` / ``env_cfg``..., a schedule base ``optim_wrapper`` /
  ``param_scheduler`` / ``train_cfg``, a dataset base ``val_cfg`` / ``val_evaluator``.

Two bases of one file may not both define a top-level key. When the conversion would make them do so
(``train_cfg`` from the schedule's ``runner`` and the dataset's ``evaluation``), the base holding the key's
primary MMCV source keeps it and the files that combine the two add the rest (``train_cfg =
dict(val_interval=1)``). Helper variables that only converted keys used (``max_epochs = 12`` feeding
``runner`` and ``lr_config``) are dropped. Each written file is read back with :class:`mmhooks.config.Config`
and compared with its target.
"""

from __future__ import annotations

import ast
import os
import os.path as osp
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mmhooks.errors import ConfigError
from mmhooks.legacy.config_source import SourceFile, Statement, read_config_values, read_source
from mmhooks.legacy.convert import ConversionResult, _Converter, convert_with_sources, located
from mmhooks.legacy.pyformat import format_value

__all__ = ["FileReport", "TreeReport", "migrate_tree"]

HANDLED = _Converter.HANDLED
# For a converted key two bases would both define: the MMCV keys in order of precedence; the base whose
# sources come first keeps the key.
PRIMARY_SOURCES = {
    "train_cfg": ("runner", "total_epochs", "evaluation"),
    "default_hooks": ("checkpoint_config", "log_config", "timer_config", "evaluation", "custom_hooks"),
    "custom_hooks": ("custom_hooks", "lr_config", "momentum_config", "checkpoint_config", "log_config"),
    "custom_imports": ("custom_imports", "lr_config", "momentum_config"),
    "optim_wrapper": ("optimizer", "optimizer_config", "fp16"),
    "param_scheduler": ("lr_config", "momentum_config"),
    "env_cfg": ("dist_params", "cudnn_benchmark", "mp_start_method", "opencv_num_threads"),
    "randomness": ("seed", "deterministic", "diff_seed"),
    "load_from": ("resume_from", "load_from"),
    "resume": ("resume_from", "load_from", "auto_resume"),
}
STATUSES = ("converted", "exact", "warned", "failed")


@dataclass
class FileReport:
    """The outcome for one file: ``status`` is one of :data:`STATUSES`.

    ``converted``: no lossy item and no LR/momentum schedule; ``exact``: its schedules convert exactly;
    ``warned``: lossy items (``warnings`` lists the ones not already reported for one of its bases);
    ``failed``: ``error`` says why (file and key path).
    """

    path: str
    status: str = "converted"
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class TreeReport:
    """Per-file outcomes of :func:`migrate_tree`, in file order."""

    files: list[FileReport]

    def counts(self) -> dict[str, int]:
        return {status: sum(1 for f in self.files if f.status == status) for status in STATUSES}

    def summary(self) -> str:
        counts = self.counts()
        return f"{len(self.files)} files: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES)


# ---------------------------------------------------------------------------------------------- values


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types, all the way down (``1 != 1.0 != True``, ``[1] != (1,)``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _delta(target: Any, base: Any) -> Any:
    """What a child writes so that merging it into ``base`` gives ``target`` (``_delete_`` where needed)."""
    if not isinstance(target, dict):
        return target
    if not isinstance(base, dict) or any(key not in target for key in base):
        return {"_delete_": True, **target}
    return {key: _delta(value, base[key]) if key in base else value for key, value in target.items()
            if key not in base or not _same(value, base[key])}


def _merge(delta: Any, base: Any) -> Any:
    """The loader's merge of a ``_delta`` result (for the expected value of a written file)."""
    if not isinstance(delta, dict):
        return delta
    if delta.get("_delete_") or not isinstance(base, dict):
        return {k: v for k, v in delta.items() if k != "_delete_"}
    merged = dict(base)
    for key, value in delta.items():
        merged[key] = _merge(value, base.get(key))
    return merged


def find_helpers(sources: Iterable[SourceFile]) -> set[str]:
    """Helper variables of these files that only converted MMCV keys read (``max_epochs = 12`` feeding
    ``runner`` and ``lr_config``): no kept statement reads them, no file reads ``_base_.<name>``."""
    candidates: set[str] = set()
    ruled_out: set[str] = set()
    base_refs: set[str] = set()
    for source in sources:
        for statement in source.statements:
            base_refs |= statement.base_refs
            if statement.stores & HANDLED or statement.is_base:
                candidates |= {n for n in statement.loads if n in source.assigned and n not in HANDLED}
            else:
                ruled_out |= statement.loads
            if len(statement.stores) > 1 or not isinstance(statement.node, (ast.Assign, ast.AnnAssign)):
                ruled_out |= statement.stores
    return candidates - ruled_out - base_refs - HANDLED


def chain_sources(path: str) -> list[SourceFile]:
    """The statements of ``path`` and of every file it inherits from (unreadable files are left out)."""
    found: dict[str, SourceFile] = {}
    stack = [osp.abspath(path)]
    while stack:
        current = stack.pop()
        if current in found or not osp.isfile(current):
            continue
        try:
            found[current] = read_source(current)
        except ConfigError:
            continue
        stack.extend(found[current].base_paths())
    return list(found.values())


# ------------------------------------------------------------------------------------------------ tree


@dataclass
class _Node:
    path: str  # absolute
    rel: str
    report: FileReport
    source: SourceFile | None = None
    values: dict[str, Any] | None = None
    result: ConversionResult | None = None
    target: dict[str, Any] = field(default_factory=dict)
    bases: list[str] = field(default_factory=list)  # absolute paths
    emitted: dict[str, Any] = field(default_factory=dict)  # key -> delta value written
    verbatim: set[str] = field(default_factory=set)  # keys written by the file's own statements
    merged_out: dict[str, Any] = field(default_factory=dict)


def _config_files(root: str) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        found += [osp.join(folder, f) for f in sorted(files) if f.endswith(".py") and not f.startswith("__")]
    return found


def _fail(node: _Node, message: str) -> None:
    node.report.status = "failed"
    node.report.error = message


def _closure(nodes: Mapping[str, _Node], path: str) -> list[str]:
    """``path`` and every file it inherits from."""
    seen: list[str] = []
    stack = [path]
    while stack:
        current = stack.pop()
        if current in seen or current not in nodes:
            continue
        seen.append(current)
        stack.extend(nodes[current].bases)
    return seen


def _topological(nodes: Mapping[str, _Node]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(path: str) -> None:
        if state.get(path) == 2 or path not in nodes:
            return
        if state.get(path) == 1:
            return  # a cycle: the loader reports it for the files involved
        state[path] = 1
        for base in nodes[path].bases:
            visit(base)
        state[path] = 2
        order.append(path)

    for path in nodes:
        visit(path)
    return order


def _rank(node: _Node, key: str) -> int:
    """How primary this file's sources for ``key`` are (lower wins)."""
    assert node.result is not None
    order = PRIMARY_SOURCES.get(key, ())
    sources = node.result.sources.get(key, set())
    ranks = [order.index(s) for s in sources if s in order]
    return min(ranks) if ranks else len(order)


class _TreeMigration:
    def __init__(self, root: str, out_dir: str, exact: bool, iters_per_epoch: int | None) -> None:
        self.root = osp.abspath(root)
        self.out_dir = osp.abspath(out_dir)
        self.exact = exact
        self.iters_per_epoch = iters_per_epoch
        self.nodes: dict[str, _Node] = {}
        self.drop: dict[str, set[str]] = {}
        self.helpers: set[str] = set()

    # -- reading and converting --------------------------------------------------------------------

    def read(self) -> None:
        for path in _config_files(self.root):
            rel = osp.relpath(path, self.root)
            node = _Node(path, rel, FileReport(rel))
            self.nodes[path] = node
            try:
                node.source = read_source(path)
            except ConfigError as err:
                _fail(node, str(err))
                continue
            node.bases = node.source.base_paths()
            outside = [b for b in node.bases if not b.startswith(self.root + os.sep)]
            if outside:
                _fail(node, f"{path}: _base_: got {outside[0]!r}; expected a file inside {self.root}. Fix: migrate "
                      "the folder that holds this file and its bases (e.g. the configs/ folder).")
        for path in _topological(self.nodes):
            node = self.nodes[path]
            if node.report.status == "failed":
                continue
            broken = [b for b in node.bases if b in self.nodes and self.nodes[b].report.status == "failed"]
            if broken:
                _fail(node, f"{path}: its base {osp.relpath(broken[0], self.root)} failed; fix that file first.")
                continue
            try:
                node.values = read_config_values(path)
                node.result = convert_with_sources(node.values, self.exact, self.iters_per_epoch)
            except ConfigError as err:
                _fail(node, str(located(err, path)))

    def live(self) -> list[_Node]:
        return [n for n in self.nodes.values() if n.result is not None and n.report.status != "failed"]

    # -- helper variables ----------------------------------------------------------------------------

    def find_helpers(self) -> None:
        """Names that only converted keys read: dropped from every file and every target."""
        self.helpers = find_helpers(n.source for n in self.live() if n.source is not None)

    # -- who defines which converted key -----------------------------------------------------------

    def emits(self, node: _Node, key: str, base_out: Mapping[str, Any]) -> bool:
        if key in self.drop.get(node.path, set()) and key not in base_out:
            return False
        return key not in base_out or not _same(node.target[key], base_out[key])

    def compose(self) -> list[tuple[_Node, str, list[str]]]:
        """Each file's merged output given the drop sets; returns the conflicts found (file, key, bases)."""
        conflicts: list[tuple[_Node, str, list[str]]] = []
        for path in _topological(self.nodes):
            node = self.nodes[path]
            if node.result is None or node.report.status == "failed":
                continue
            base_out: dict[str, Any] = {}
            owner: dict[str, list[str]] = {}
            for base in node.bases:
                for key, value in self.nodes[base].merged_out.items():
                    owner.setdefault(key, []).append(base)
                    base_out[key] = value
            for key, holders in owner.items():
                if len(holders) > 1:
                    conflicts.append((node, key, holders))
            merged = dict(base_out)
            node.emitted = {}
            for key in node.target:
                if key in node.verbatim:
                    merged[key] = node.target[key]
                elif self.emits(node, key, base_out):
                    node.emitted[key] = (_delta(node.target[key], base_out[key]) if key in base_out
                                         else node.target[key])
                    merged[key] = _merge(node.emitted[key], base_out.get(key))
                elif key in self.drop.get(path, set()) and key in base_out:
                    merged[key] = base_out[key]
            node.merged_out = merged
        return conflicts

    def resolve(self) -> None:
        for _ in range(50):
            conflicts = self.compose()
            if not conflicts:
                return
            for node, key, holders in conflicts:
                ranked = sorted(holders, key=lambda b: (_rank(self.nodes[b], key), holders.index(b)))
                for loser in ranked[1:]:
                    for path in _closure(self.nodes, loser):
                        self.drop.setdefault(path, set()).add(key)
        conflicts = self.compose()
        for node, key, holders in conflicts:
            names = [osp.relpath(h, self.root) for h in holders]
            _fail(node, f"{node.path}: _base_: got {names}; expected bases that do not both define {key!r} "
                  "once converted. Fix: define that key in only one of them.")

    # -- writing -------------------------------------------------------------------------------------

    def plan_statements(self, node: _Node) -> list[Statement]:
        """The file's statements kept verbatim (passthrough keys that stay valid)."""
        assert node.source is not None
        assert node.result is not None
        sources = node.result.sources
        # keys the conversion changed (``model`` gaining a top-level train_cfg) are written by value
        changed = {k for k, used in sources.items() if used - {k}}
        dropped_names = HANDLED | self.helpers | changed
        kept = [s for s in node.source.statements
                if not s.is_base and not (s.stores & dropped_names) and s.stores]
        while True:
            defined_by_kept: set[str] = set().union(*(s.stores for s in kept)) if kept else set()
            assigned = node.source.assigned
            unsafe = [s for s in kept
                      if (s.loads & assigned) - defined_by_kept or s.base_refs & dropped_names
                      or any(k in HANDLED for k in s.stores)]
            if not unsafe:
                return kept
            kept = [s for s in kept if s not in unsafe]

    def write(self) -> None:
        for node in self.live():
            kept = self.plan_statements(node)
            node.verbatim = set().union(*(s.stores for s in kept)) if kept else set()
            node.verbatim &= set(node.target)
        self.resolve()
        for path in _topological(self.nodes):
            node = self.nodes[path]
            if node.result is None or node.report.status == "failed":
                continue
            self.write_file(node, self.plan_statements(node))

    def write_file(self, node: _Node, kept: list[Statement]) -> None:
        assert node.source is not None and node.result is not None
        lines = [f"# Converted from MMCV 1.x by mmhooks migrate ({osp.basename(node.path)})."]
        if node.report.warnings:
            lines.append("# Lossy items:")
            lines += [f"# - {w}" for w in node.report.warnings]
        for key in sorted(self.drop.get(node.path, set()) & set(node.target) - set(node.merged_out)):
            lines.append(f"# {key}: set by the configs that combine this file with other bases (two bases "
                         "cannot both define it).")
        pending = dict(node.emitted)
        sources = node.result.sources
        body: list[str] = []
        for statement in node.source.statements:
            if statement.is_base or statement in kept:
                body.append(statement.text)
                continue
            for key in [k for k in pending if sources.get(k, set()) & statement.stores]:
                body.append(f"{key} = {format_value(pending.pop(key), 0, len(key) + 3)}")
        for key, value in pending.items():
            body.append(f"{key} = {format_value(value, 0, len(key) + 3)}")
        target = osp.join(self.out_dir, node.rel)
        os.makedirs(osp.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines + body) + "\n")

    # -- checking ------------------------------------------------------------------------------------

    def verify(self) -> None:
        for node in self.live():
            target = osp.join(self.out_dir, node.rel)
            try:
                written = read_config_values(target)
            except ConfigError as err:
                _fail(node, f"the written file does not load: {err}")
                continue
            if not _same(written, node.merged_out):
                wrong = sorted(k for k in set(written) | set(node.merged_out)
                               if not _same(written.get(k), node.merged_out.get(k)))
                _fail(node, f"{target}: {wrong[0]}: got {written.get(wrong[0])!r}; expected "
                      f"{node.merged_out.get(wrong[0])!r} (the conversion of the merged MMCV config). Fix: report "
                      "this file to mmhooks; migrate it alone with `mmhooks migrate FILE -o OUT.py` meanwhile.")

    def classify(self) -> None:
        reported: dict[str, set[str]] = {}
        for path in _topological(self.nodes):
            node = self.nodes[path]
            report = node.report
            if node.result is None or report.status == "failed":
                continue
            inherited: set[str] = set()
            for base in node.bases:
                inherited |= reported.get(base, set())
            notes = node.result.warnings
            reported[path] = inherited | set(notes)
            report.warnings = [n for n in notes if n not in inherited]
            if notes:
                report.status = "warned"
            elif node.values is not None and ("lr_config" in node.values or "momentum_config" in node.values):
                report.status = "exact"

    def relocate(self, value: Any) -> Any:
        """``{{fileDirname}}`` resolves to the written file's folder: source paths become output paths."""
        if isinstance(value, str):
            return value.replace(self.root, self.out_dir) if self.root in value else value
        if isinstance(value, dict):
            return {k: self.relocate(v) for k, v in value.items()}
        if type(value) in (list, tuple):
            return type(value)(self.relocate(v) for v in value)
        return value

    def run(self) -> TreeReport:
        self.read()
        for node in self.live():
            assert node.result is not None
            node.target = self.relocate(dict(node.result.cfg))
        self.find_helpers()
        for node in self.live():
            node.target = {k: v for k, v in node.target.items() if k not in self.helpers}
        self.classify()
        self.write()
        self.verify()
        return TreeReport([self.nodes[p].report for p in sorted(self.nodes, key=lambda p: self.nodes[p].rel)])


def migrate_tree(root: str | os.PathLike[str], out_dir: str | os.PathLike[str], exact: bool = False,
                 iters_per_epoch: int | None = None) -> TreeReport:
    """Convert every ``.py`` config under ``root`` into ``out_dir``, keeping the ``_base_`` structure.

    Args:
        root: A folder of MMCV 1.x configs (e.g. a project's ``configs/``); every ``_base_`` must lie in it.
        out_dir: Where the converted tree goes (same relative paths).
        exact: Keep MMCV's LR/momentum formulas where MMEngine's schedulers differ (``--exact``).
        iters_per_epoch: Train batches per epoch (``--iters-per-epoch``), for exact by-iteration recipes.

    Returns:
        One :class:`FileReport` per file (``converted`` / ``exact`` / ``warned`` / ``failed``).
    """
    return _TreeMigration(str(root), str(out_dir), exact, iters_per_epoch).run()
