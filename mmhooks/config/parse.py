"""Reading config files: ``.py``, ``.json``, ``.yaml``/``.yml``, with ``_base_`` inheritance.

The pipeline for one file follows MMEngine's, so the same files give the same
values:

1. Text substitutions: predefined variables (``{{ fileDirname }}``,
   ``{{ fileBasename }}``, ``{{ fileBasenameNoExtension }}``,
   ``{{ fileExtname }}``), environment variables (``{{$NAME:default}}``) and
   base references (``{{_base_.a.b}}``, first replaced by a unique placeholder
   string).
2. The ``_base_`` files (a path or a list, relative to this file) are read
   recursively and combined; two bases may not define the same top-level key.
3. The file itself is evaluated: a ``.py`` file runs in a fresh namespace in
   which ``_base_`` is the combined base config (so ``_base_.model.depth``
   works as a Python expression); names starting with ``__``, functions and
   modules are dropped. A YAML or JSON file must hold a mapping.
4. Placeholders become deep copies of the base values they name, and the file's
   values are merged into the bases (:func:`mmhooks.config.merge.merge_into`).
"""

from __future__ import annotations

import ast
import copy
import json
import os
import os.path as osp
import re
import types
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from mmhooks.config.config_dict import ConfigDict
from mmhooks.config.errors import ConfigFileError, ConfigFileNotFoundError, ConfigFormatError
from mmhooks.config.merge import merge_into
from mmhooks.config.python_style import BASE_KEY, PythonStyle, detect_python_style
from mmhooks.errors import ConfigError, closest

__all__ = ["EXTENSIONS", "NeedsMMEngine", "ParsedConfig", "parse_config_file", "parse_config_text"]

EXTENSIONS = (".json", ".py", ".yaml", ".yml")
DEPRECATION_KEY = "_deprecation_"
_BASE_REF = re.compile(r"\{\{\s*" + BASE_KEY + r"\.([\w.]+)\s*\}\}")
_ENV_REF = re.compile(r"\{\{['\"]?\s*\$(\w+)\s*:\s*(\S*?)\s*['\"]?\}\}")


class NeedsMMEngine(Exception):
    """Raised inside the reader when a file can only be read by ``mmengine.Config``."""

    def __init__(self, filename: str, style: PythonStyle) -> None:
        super().__init__(f"{filename}: {style.reason}")
        self.filename = filename
        self.style = style


@dataclass
class ParsedConfig:
    """What reading a config file produced."""

    cfg: dict[str, Any]
    text: str
    env_variables: dict[str, str] = field(default_factory=dict)


@dataclass
class _Options:
    predefined: bool
    environment: bool
    prefer_mmengine: bool


def parse_config_file(filename: str, use_predefined_variables: bool = True,
                      use_environment_variables: bool = True, prefer_mmengine: bool = False) -> ParsedConfig:
    """Read ``filename`` and its ``_base_`` chain into one plain ``dict``.

    Args:
        filename: A ``.py``, ``.json``, ``.yaml`` or ``.yml`` file.
        use_predefined_variables: Substitute ``{{ fileDirname }}`` and friends.
        use_environment_variables: Substitute ``{{$NAME:default}}``.
        prefer_mmengine: Raise :class:`NeedsMMEngine` also for a ``.py`` file
            that imports third-party modules (MMEngine reads those lazily;
            without MMEngine they run as plain Python).

    Raises:
        ConfigFileError: Any problem in a file, located at the file (and line).
        NeedsMMEngine: A file only ``mmengine.Config`` can read.
    """
    path = osp.abspath(osp.expanduser(filename))
    _check_extension(path, f"{filename}")
    if not osp.isfile(path):
        raise ConfigFileNotFoundError("", filename, "an existing config file",
                              f"check the path; it resolves to {path!r}, which does not exist", filename)
    with open(path, encoding="utf-8") as file:
        source = file.read()
    return _Reader(_Options(use_predefined_variables, use_environment_variables, prefer_mmengine)).read(
        path, source, chain=())


def parse_config_text(text: str, file_format: str, prefer_mmengine: bool = False) -> ParsedConfig:
    """Read config ``text`` as if it were a file in the current directory named ``<string>.<format>``.

    Relative ``_base_`` paths are resolved from the current directory.
    """
    extension = file_format if file_format.startswith(".") else f".{file_format}"
    path = osp.join(os.getcwd(), f"<string>{extension}")
    _check_extension(path, "<string>")
    return _Reader(_Options(True, True, prefer_mmengine)).read(path, text, chain=())


def _check_extension(path: str, shown: str) -> None:
    extension = osp.splitext(path)[1]
    if extension not in EXTENSIONS:
        raise ConfigFormatError("", extension or osp.basename(path), f"a config file ending in one of {list(EXTENSIONS)}",
                              "rename the file or convert it to Python, JSON or YAML", shown)


class _Reader:
    """Reads one file and, recursively, its bases (one instance per top-level read)."""

    def __init__(self, options: _Options) -> None:
        self.options = options
        self.env_variables: dict[str, str] = {}

    def read(self, path: str, source: str, chain: tuple[str, ...]) -> ParsedConfig:
        if path in chain:
            cycle = " -> ".join((*chain[chain.index(path):], path))
            raise ConfigFileError(BASE_KEY, osp.basename(path), "a _base_ chain without cycles",
                                  f"break the cycle {cycle}", chain[-1])
        extension = osp.splitext(path)[1]
        text = self._substitute_variables(path, source)
        text, references = _replace_base_references(text)

        tree: ast.Module | None = None
        data: Any = None
        if extension == ".py":
            tree = _parse_python(path, text)
            style = detect_python_style(tree)
            if style.required or (style.lazy and self.options.prefer_mmengine):
                raise NeedsMMEngine(path, style)
            base_names = _python_base_names(path, tree)
        else:
            data = _load_mapping(path, text, extension)
            base_names = _as_base_list(path, data.pop(BASE_KEY, []))

        base_cfg, base_texts = self._read_bases(path, base_names, (*chain, path))
        if tree is not None:
            cfg = _run_python(path, tree, base_cfg)
        else:
            cfg = dict(data)
        cfg = _resolve_references(path, cfg, references, base_cfg)
        _warn_deprecation(path, cfg.pop(DEPRECATION_KEY, None))
        try:
            merged = merge_into(cfg, base_cfg)
        except ConfigError as err:
            raise ConfigFileError(err.path, err.value, err.expected, err.fix, path) from None
        merged = {key: value for key, value in merged.items() if not str(key).startswith("__")}
        own_text = f"{path}\n{source}"
        return ParsedConfig(merged, "\n".join([*base_texts, own_text]), dict(self.env_variables))

    # -- step 1: text substitutions ---------------------------------------------------------------

    def _substitute_variables(self, path: str, text: str) -> str:
        if self.options.predefined:
            basename = osp.basename(path)
            values = {
                "fileDirname": osp.dirname(path),
                "fileBasename": basename,
                "fileBasenameNoExtension": osp.splitext(basename)[0],
                "fileExtname": osp.splitext(path)[1],
            }
            for name, value in values.items():
                replacement = value.replace("\\", "/")
                text = re.sub(r"\{\{\s*" + name + r"\s*\}\}", lambda _match: replacement, text)
        if self.options.environment:
            text = _ENV_REF.sub(lambda match: self._environment_value(path, match), text)
        return text

    def _environment_value(self, path: str, match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            self.env_variables[name] = os.environ[name]
            return os.environ[name]
        if not default:
            raise ConfigFileError(match.group(0), name, "an environment variable that is set, or a default",
                                  f"set {name} in the environment, or write a default: {{{{${name}:value}}}}", path)
        return default

    # -- step 2: bases -----------------------------------------------------------------------------

    def _read_bases(self, path: str, base_names: list[str], chain: tuple[str, ...]
                    ) -> tuple[ConfigDict, list[str]]:
        combined: dict[str, Any] = {}
        origin: dict[str, str] = {}
        texts: list[str] = []
        for name in base_names:
            base_path = _resolve_base_path(path, name)
            with open(base_path, encoding="utf-8") as file:
                source = file.read()
            parsed = self.read(base_path, source, chain)
            duplicates = sorted(set(parsed.cfg) & set(combined), key=str)
            if duplicates:
                first = origin[duplicates[0]]
                raise ConfigFileError(
                    BASE_KEY, duplicates,
                    f"each top-level key defined by only one base file, but {first} and {base_path} both define it",
                    f"remove {duplicates[0]!r} from one of the two base files, or set it only in {path}", path)
            for key in parsed.cfg:
                origin[key] = base_path
            combined.update(parsed.cfg)
            texts.append(parsed.text)
        return ConfigDict(combined), texts


def _resolve_base_path(path: str, name: str) -> str:
    if "::" in name:
        raise NeedsMMEngine(path, PythonStyle(True, True, f"the package base {name!r}"))
    base_path = osp.normpath(osp.join(osp.dirname(path), osp.expanduser(name)))
    extension = osp.splitext(base_path)[1]
    if extension not in EXTENSIONS:
        raise ConfigFileError(BASE_KEY, name, f"a config file ending in one of {list(EXTENSIONS)}",
                              "point _base_ at a .py, .json, .yaml or .yml file", path)
    if not osp.isfile(base_path):
        raise ConfigFileNotFoundError(BASE_KEY, name, f"an existing config file (it resolves to {base_path!r})",
                              f"correct the path; relative _base_ paths start from {osp.dirname(path)}", path)
    return base_path


def _as_base_list(path: str, value: Any) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
        raise ConfigFileError(BASE_KEY, value, "a path or a list of paths",
                              "write _base_ = 'base.py' or _base_ = ['a.py', 'b.py']", path)
    return list(names)


# -- step 3: evaluating the file --------------------------------------------------------------------


def _parse_python(path: str, text: str) -> ast.Module:
    try:
        return ast.parse(text, filename=path)
    except SyntaxError as err:
        line = (err.text or "").strip()
        raise ConfigFileError("", line, f"valid Python ({err.msg})",
                              f"correct the syntax at line {err.lineno}, column {err.offset}",
                              f"{path}:{err.lineno}") from None


def _python_base_names(path: str, tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == BASE_KEY for target in node.targets):
            try:
                value = eval(compile(ast.Expression(node.value), path, "eval"), {})  # noqa: S307
            except Exception as err:  # noqa: BLE001 - any failure means the line is not a literal path list
                raise ConfigFileError(BASE_KEY, ast.unparse(node.value), "a path or a list of paths written "
                                      f"as literals ({type(err).__name__}: {err})",
                                      "write _base_ = 'base.py' or _base_ = ['a.py', 'b.py']",
                                      f"{path}:{node.lineno}") from err
            return _as_base_list(path, value)
    return []


class _DropBaseAssignments(ast.NodeTransformer):
    """Remove ``_base_ = ...`` statements: in the namespace, ``_base_`` is the combined base config."""

    def visit_Assign(self, node: ast.Assign) -> ast.AST | None:
        if any(isinstance(target, ast.Name) and target.id == BASE_KEY for target in node.targets):
            return None
        return node


def _run_python(path: str, tree: ast.Module, base_cfg: ConfigDict) -> dict[str, Any]:
    tree = ast.fix_missing_locations(_DropBaseAssignments().visit(tree))
    namespace: dict[str, Any] = {BASE_KEY: base_cfg, "__file__": path}
    preset = set(namespace)
    try:
        exec(compile(tree, path, "exec"), namespace)  # noqa: S102 - running the config is the point
    except Exception as err:  # noqa: BLE001 - relocated to the config file and line
        line = _line_in(path, err)
        where = f"{path}:{line}" if line else path
        raise ConfigFileError("", f"{type(err).__name__}: {err}", "a config that runs without error",
                              f"fix the statement at line {line}" if line else "fix the error above",
                              where) from err
    # `__builtins__` (added by exec) and other dunder names never become keys.
    return {
        key: value for key, value in namespace.items()
        if key not in preset and not key.startswith("__")
        and not isinstance(value, (types.FunctionType, types.ModuleType))
    }


def _line_in(path: str, err: BaseException) -> int | None:
    """The last line of ``path`` in the traceback of ``err``."""
    line = None
    trace = err.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == path:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _load_mapping(path: str, text: str, extension: str) -> dict[str, Any]:
    try:
        if extension == ".json":
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=yaml.FullLoader)  # noqa: S506 - FullLoader refuses arbitrary objects
    except json.JSONDecodeError as err:
        raise ConfigFileError("", err.msg, "valid JSON", f"correct the JSON at line {err.lineno}, column {err.colno}",
                              f"{path}:{err.lineno}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigFileError("", problem, "valid YAML", "correct the YAML at that line", where) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        shown = data if len(repr(data)) <= 60 else f"{repr(data)[:57]}..."
        raise ConfigFileError("", shown, f"a mapping of keys to values at the top level, not a {type(data).__name__}",
                              "write the config as `key: value` lines (YAML) or one {...} object (JSON)", path)
    return dict(data)


# -- step 4: base references ------------------------------------------------------------------------


def _replace_base_references(text: str) -> tuple[str, dict[str, str]]:
    """Replace ``{{_base_.a.b}}`` by quoted placeholders; return the text and placeholder -> ``a.b``."""
    references: dict[str, str] = {}
    token = uuid.uuid4().hex[:8]

    def placeholder(match: re.Match[str]) -> str:
        name = f"_mmhooks_base_{token}_{len(references)}_"
        references[name] = match.group(1)
        return f'"{name}"'

    return _BASE_REF.sub(placeholder, text), references


def _resolve_references(path: str, cfg: Any, references: dict[str, str], base_cfg: ConfigDict) -> Any:
    if not references:
        return cfg
    if isinstance(cfg, Mapping):
        return {key: _resolve_references(path, value, references, base_cfg) for key, value in cfg.items()}
    if type(cfg) in (list, tuple):
        return type(cfg)(_resolve_references(path, item, references, base_cfg) for item in cfg)
    if isinstance(cfg, str):
        if cfg in references:
            return copy.deepcopy(_lookup(path, base_cfg, references[cfg]))
        for name, dotted in references.items():
            if name in cfg:
                raise ConfigFileError(f"{{{{_base_.{dotted}}}}}", cfg.replace(name, f"{{{{_base_.{dotted}}}}}"),
                                      "a reference that stands alone as a whole value",
                                      f"use the Python form _base_.{dotted} inside expressions and strings", path)
    return cfg


def _lookup(path: str, base_cfg: ConfigDict, dotted: str) -> Any:
    value: Any = base_cfg
    walked: list[str] = []
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            keys = sorted(map(str, value)) if isinstance(value, Mapping) else []
            near = closest(part, keys)
            here = ".".join(walked) or "the _base_ files"
            fix = (f"did you mean _base_.{'.'.join([*walked, near])}?" if near
                   else f"{here} has the keys {keys}" if keys else "define the key in a _base_ file")
            raise ConfigFileError(f"{{{{_base_.{dotted}}}}}", dotted, "a key path defined by the _base_ files",
                                  fix, path)
        walked.append(part)
    return value


def _warn_deprecation(path: str, info: Any) -> None:
    if info is None:
        return
    message = f"{path}: this config file is deprecated."
    if isinstance(info, Mapping):
        if "expected" in info:
            message += f" Use {info['expected']} instead."
        if "reference" in info:
            message += f" More information: {info['reference']}"
    warnings.warn(message, DeprecationWarning, stacklevel=4)
