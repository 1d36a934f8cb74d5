"""``Config``: a config file's values, with MMEngine's ``Config`` interface.

``Config.fromfile`` reads ``.py``, ``.json`` and ``.yaml``/``.yml`` files with
``_base_`` inheritance (see :mod:`mmhooks.config.parse`); the result reads like
a nested ``dict`` and by attribute (``cfg.model.depth``), merges command-line
overrides (:meth:`Config.merge_from_dict`), and writes itself back out as
Python, JSON or YAML (:meth:`Config.dump`).
"""

from __future__ import annotations

import argparse
import copy
import json
import os.path as osp
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from mmhooks.config.argparser import add_args
from mmhooks.config.config_dict import ConfigDict, to_plain
from mmhooks.config.custom_imports import import_custom_modules as _import_custom_modules
from mmhooks.config.diff import config_diff
from mmhooks.config.errors import ConfigFileError, ConfigFormatError
from mmhooks.config.merge import merge_into
from mmhooks.config.mmengine_bridge import (
    is_mmengine_config,
    mmengine_available,
    read_with_mmengine,
    to_mmengine_config,
    values_of_mmengine_config,
)
from mmhooks.config.parse import EXTENSIONS, NeedsMMEngine, ParsedConfig, parse_config_file, parse_config_text
from mmhooks.config.pretty import format_python
from mmhooks.config.python_style import PythonStyle
from mmhooks.errors import ConfigError

__all__ = ["Config"]

RESERVED_KEYS = ("env_variables", "filename", "pretty_text", "text")
_FIELDS = ("_cfg_dict", "_filename", "_text", "_env_variables", "_format_python_code")


class Config:
    """The values of a config, readable as items and as attributes.

    Args:
        cfg_dict: The values; nested plain dicts become :class:`ConfigDict`.
        cfg_text: The source text, if any (:attr:`text`).
        filename: The file the values came from (:attr:`filename`).
        env_variables: Environment variables substituted while reading the file.
        format_python_code: Accepted for MMEngine compatibility; :attr:`pretty_text`
            is always formatted.

    Raises:
        ConfigError: ``cfg_dict`` is not a dict, or uses a reserved key
            (``filename``, ``text``, ``pretty_text``, ``env_variables``).

    MMEngine parity:
        Same constructor, ``fromfile``/``fromstring`` keywords, properties and
        dict interface as ``mmengine.Config``. Files that only MMEngine can read
        (pure-Python configs with ``with read_base():``, ``pkg::`` bases) are
        read through ``mmengine.Config`` when it is installed, and their
        imported names become dotted strings. :meth:`from_any` and
        :meth:`to_mmengine` convert from and to ``mmengine.Config``.

    Example:
        >>> cfg = Config(dict(model=dict(type="Net", depth=18)))
        >>> cfg.merge_from_dict({"model.depth": 50})
        >>> cfg.model.depth
        50
        >>> print(cfg.pretty_text, end="")
        model = dict(type='Net', depth=50)
    """

    def __init__(self, cfg_dict: Mapping[str, Any] | None = None, cfg_text: str | None = None,
                 filename: str | Path | None = None, env_variables: Mapping[str, str] | None = None,
                 format_python_code: bool = True) -> None:
        if cfg_dict is None:
            cfg_dict = {}
        if not isinstance(cfg_dict, Mapping):
            raise ConfigError("Config.cfg_dict", cfg_dict, "a dict", "pass the config values as a dict.")
        for key in cfg_dict:
            if key in RESERVED_KEYS:
                raise ConfigError(str(key), cfg_dict[key], f"a key other than the reserved names {list(RESERVED_KEYS)}",
                                  f"rename the key {key!r}; Config uses that name for itself.")
        filename = str(filename) if filename is not None else None
        if cfg_text is None:
            cfg_text = ""
            if filename and osp.isfile(filename):
                with open(filename, encoding="utf-8") as file:
                    cfg_text = file.read()
        values = cfg_dict if isinstance(cfg_dict, ConfigDict) else ConfigDict(cfg_dict)
        object.__setattr__(self, "_cfg_dict", values)
        object.__setattr__(self, "_filename", filename)
        object.__setattr__(self, "_text", cfg_text)
        object.__setattr__(self, "_env_variables", dict(env_variables or {}))
        object.__setattr__(self, "_format_python_code", format_python_code)

    # -- construction from files and text ---------------------------------------------------------

    @staticmethod
    def fromfile(filename: str | Path, use_predefined_variables: bool = True, import_custom_modules: bool = True,
                 use_environment_variables: bool = True, lazy_import: bool | None = None,
                 format_python_code: bool = True) -> Config:
        """Read a ``.py``, ``.json``, ``.yaml`` or ``.yml`` config file and its ``_base_`` chain.

        Args:
            filename: The config file.
            use_predefined_variables: Substitute ``{{ fileDirname }}``, ``{{ fileBasename }}``,
                ``{{ fileBasenameNoExtension }}`` and ``{{ fileExtname }}``.
            import_custom_modules: Import the modules named by ``custom_imports``.
            use_environment_variables: Substitute ``{{$NAME:default}}``.
            lazy_import: ``True`` reads the file with ``mmengine.Config``;
                ``None`` does so only for the files MMEngine reads lazily.
            format_python_code: Kept for MMEngine compatibility.

        Raises:
            ConfigFileError: A file that cannot be read, parsed or inherited
                from; the message starts with the file (and line).
            ConfigError: A bad ``custom_imports`` value or a module that does not import.
        """
        filename = str(filename)
        try:
            if lazy_import:
                raise NeedsMMEngine(osp.abspath(filename), _forced_style())
            parsed = parse_config_file(filename, use_predefined_variables, use_environment_variables,
                                       prefer_mmengine=lazy_import is None and mmengine_available())
        except NeedsMMEngine as need:
            parsed = _parse_with_mmengine(filename, need)
        if import_custom_modules and parsed.cfg.get("custom_imports"):
            _import_custom_modules(parsed.cfg["custom_imports"])
        return Config(parsed.cfg, cfg_text=parsed.text, filename=filename, env_variables=parsed.env_variables,
                      format_python_code=format_python_code)

    @staticmethod
    def fromstring(cfg_str: str, file_format: str) -> Config:
        """Read config text as if it were a file with extension ``file_format`` (``".py"``, ``"yaml"``, ...).

        Relative ``_base_`` paths start from the current directory. The result has no :attr:`filename`.

        Raises:
            ConfigFileError: An unsupported format, or a problem in the text.
        """
        extension = file_format if file_format.startswith(".") else f".{file_format}"
        if extension not in EXTENSIONS:
            raise ConfigFormatError("file_format", file_format, f"one of {list(EXTENSIONS)}",
                                  "pass the extension the text would have as a file, e.g. '.py'", "Config.fromstring")
        try:
            parsed = parse_config_text(cfg_str, extension, prefer_mmengine=mmengine_available())
        except NeedsMMEngine as need:
            with tempfile.TemporaryDirectory() as directory:
                path = osp.join(directory, f"config{extension}")
                with open(path, "w", encoding="utf-8") as file:
                    file.write(cfg_str)
                parsed = _parse_with_mmengine(path, need)
        if parsed.cfg.get("custom_imports"):
            _import_custom_modules(parsed.cfg["custom_imports"])
        return Config(parsed.cfg, cfg_text=cfg_str, env_variables=parsed.env_variables)

    @staticmethod
    def from_any(cfg: Any) -> Config:
        """``cfg`` as an mmhooks ``Config``: a ``Config`` as it is, an ``mmengine.Config`` or a dict converted.

        An ``mmengine.Config`` keeps its :attr:`filename`, :attr:`text` and
        environment variables (the Runner names the experiment and dumps the
        config from them); its lazy imports become the objects they name.

        Raises:
            ConfigError: ``cfg`` is none of those.

        Example:
            >>> Config.from_any(dict(model=dict(depth=18))).model.depth
            18
        """
        if isinstance(cfg, Config):
            return cfg
        if is_mmengine_config(cfg):
            return Config(values_of_mmengine_config(cfg), cfg_text=cfg.text or "", filename=cfg.filename,
                          env_variables=cfg.env_variables)
        if isinstance(cfg, Mapping):
            return Config(cfg)
        raise ConfigError("cfg", cfg, "a Config (mmhooks' or MMEngine's) or a dict", "pass Config.fromfile(path).")

    def to_mmengine(self) -> Any:
        """This config as an ``mmengine.Config`` (same values, text and filename), for code that checks its type.

        Raises:
            ConfigFileError: MMEngine is not installed.
        """
        return to_mmengine_config(self)

    @staticmethod
    def diff(cfg1: str | Path | Config, cfg2: str | Path | Config) -> str:
        """A unified diff of two configs (or config files) as Python text, ignoring key order.

        MMEngine parity:
            Same lines as ``mmengine.Config.diff`` where both write a value the
            same way; the text has no ``rich`` colours or line wrapping.
        """
        texts = [Config.fromfile(cfg) if isinstance(cfg, (str, Path)) else Config.from_any(cfg) for cfg in (cfg1, cfg2)]
        return config_diff(texts[0].to_dict(), texts[1].to_dict())

    @staticmethod
    def auto_argparser(description: str | None = None) -> tuple[argparse.ArgumentParser, Config]:
        """A parser with a ``config`` argument and ``--key`` options from the config named on the command line.

        The config file is the first positional argument of ``sys.argv``;
        options are made as :func:`mmhooks.config.argparser.add_args` describes.

        Returns:
            ``(parser, cfg)``; parsing does not change ``cfg``.
        """
        partial = argparse.ArgumentParser(description=description)
        partial.add_argument("config", help="config file path")
        cfg = Config.fromfile(partial.parse_known_args()[0].config)
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("config", help="config file path")
        add_args(parser, cfg.to_dict())
        return parser, cfg

    # -- properties -------------------------------------------------------------------------------

    @property
    def filename(self) -> str | None:
        """The file this config was read from, as it was given."""
        value: str | None = self._filename
        return value

    @property
    def text(self) -> str:
        """The source text: each file of the ``_base_`` chain, base first, after a line with its path."""
        value: str = self._text
        return value

    @property
    def env_variables(self) -> dict[str, str]:
        """Environment variables that were substituted while reading the file."""
        value: dict[str, str] = self._env_variables
        return value

    @property
    def pretty_text(self) -> str:
        """The values as Python config source; reading it back gives the same :meth:`to_dict`."""
        return format_python(self.to_dict())

    # -- conversion, merging and writing ----------------------------------------------------------

    def to_dict(self, keep_imported: bool = False) -> dict[str, Any]:
        """The values as plain nested ``dict``/``list``/``tuple`` (``keep_imported`` is accepted for MMEngine)."""
        plain: dict[str, Any] = to_plain(self._cfg_dict)
        return plain

    def merge_from_dict(self, options: Mapping[str, Any], allow_list_keys: bool = True) -> None:
        """Merge dotted-key overrides such as ``{"model.depth": 50, "pipeline.0.size": 224}``.

        A dict value merges into the existing dict (``_delete_=True`` replaces
        it instead); other values replace. With ``allow_list_keys``, a digit key
        part addresses a list element.

        Raises:
            ConfigError: The path crosses a value that is not a dict or list, or
                a list index is out of range.
        """
        if not isinstance(options, Mapping):
            raise ConfigError("Config.merge_from_dict.options", options, "a dict of dotted keys to values",
                              "pass e.g. {'model.depth': 50}.")
        nested: dict[str, Any] = {}
        for full_key, value in options.items():
            parts = str(full_key).split(".")
            node = nested
            for depth, part in enumerate(parts[:-1]):
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    prefix = ".".join(parts[:depth + 1])
                    raise ConfigError(str(full_key), value, f"a key below {prefix!r}, which is set to {child!r} by "
                                      "another option", f"set either {prefix!r} or keys below it, not both.")
                node = child
            node[parts[-1]] = value
        merged = merge_into(nested, self._cfg_dict, allow_list_keys=allow_list_keys)
        object.__setattr__(self, "_cfg_dict", ConfigDict(merged))

    def dump(self, file: str | Path | None = None) -> str | None:
        """Write the config to ``file`` (format from its extension), or return the text when ``file`` is None.

        Without ``file`` the text is Python, unless the config was read from a
        JSON or YAML file, which gives that format.

        Raises:
            ConfigFileError: ``file`` has an extension other than ``.py``, ``.json``, ``.yaml``, ``.yml``.
        """
        if file is None:
            extension = osp.splitext(self.filename)[1] if self.filename else ".py"
            return self._render(extension if extension in EXTENSIONS else ".py")
        file = str(file)
        extension = osp.splitext(file)[1]
        if extension not in EXTENSIONS:
            raise ConfigFormatError("", extension or osp.basename(file), f"a file ending in one of {list(EXTENSIONS)}",
                                  "choose a .py, .json, .yaml or .yml file name", file)
        with open(file, "w", encoding="utf-8") as handle:
            handle.write(self._render(extension))
        return None

    def _render(self, extension: str) -> str:
        if extension == ".py":
            return self.pretty_text
        # MMEngine's file handlers' output, byte for byte: compact JSON, YAML with sorted keys.
        if extension == ".json":
            return json.dumps(self.to_dict(), default=_json_default)
        rendered: str = yaml.dump(self.to_dict(), Dumper=yaml.Dumper)
        return rendered

    # -- dict interface ---------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name in _FIELDS or (name.startswith("__") and name.endswith("__")):
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in RESERVED_KEYS:
            raise AttributeError(f"{name}: is a read-only property of Config. Fix: store the value under another key.")
        setattr(self._cfg_dict, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __getitem__(self, name: str) -> Any:
        return self._cfg_dict[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delitem__(self, name: str) -> None:
        del self._cfg_dict[name]

    def __contains__(self, name: object) -> bool:
        return name in self._cfg_dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __repr__(self) -> str:
        return f"Config (path: {self.filename}): {dict.__repr__(self._cfg_dict)}"

    # -- copying and pickling ---------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        return {name: object.__getattribute__(self, name) for name in _FIELDS}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        for name in _FIELDS:
            object.__setattr__(self, name, state[name])

    def __copy__(self) -> Config:
        other = Config.__new__(type(self))
        other.__setstate__({**self.__getstate__(), "_cfg_dict": self._cfg_dict.copy()})
        return other

    copy = __copy__

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        other = Config.__new__(type(self))
        memo[id(self)] = other
        other.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return other


def _forced_style() -> PythonStyle:
    return PythonStyle(lazy=True, required=True, reason="lazy_import=True")


def _parse_with_mmengine(filename: str, need: NeedsMMEngine) -> ParsedConfig:
    reason = need.style.reason if need.filename == osp.abspath(filename) else f"{need.style.reason} in {need.filename}"
    cfg, text = read_with_mmengine(filename, reason)
    return ParsedConfig(cfg, text, {})


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, range)):
        return list(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, type) or callable(value):
        return f"{value.__module__}.{value.__qualname__}"
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be written as JSON. "
                    "Fix: dump to a .py file, or store a plain value.")

