"""File-system helpers (``mmengine.utils.path``'s public ones)."""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["check_file_exist", "is_abs", "is_filepath", "mkdir_or_exist", "scandir", "symlink"]


def is_filepath(x: Any) -> bool:
    """Whether ``x`` is a ``str`` or a ``pathlib.Path``."""
    return isinstance(x, (str, Path))


def is_abs(path: str) -> bool:
    """Whether ``path`` is absolute, a local one or a URI (``s3://...``)."""
    return osp.isabs(path) or "://" in path


def check_file_exist(filename: str | Path, msg_tmpl: str = 'file "{}" does not exist') -> None:
    """Raise ``FileNotFoundError`` unless ``filename`` is a file."""
    if not osp.isfile(filename):
        raise FileNotFoundError(msg_tmpl.format(filename))


def mkdir_or_exist(dir_name: str | Path, mode: int = 0o777) -> None:
    """Create ``dir_name`` and its parents unless it exists (``''`` does nothing; ``~`` is expanded)."""
    if dir_name == "":
        return
    os.makedirs(osp.expanduser(dir_name), mode=mode, exist_ok=True)


def symlink(src: str, dst: str, overwrite: bool = True, **kwargs: Any) -> None:
    """Link ``dst`` to ``src``, replacing an existing ``dst`` when ``overwrite``."""
    if overwrite and os.path.lexists(dst):
        os.remove(dst)
    os.symlink(src, dst, **kwargs)


def scandir(dir_path: str | Path, suffix: str | tuple[str, ...] | None = None, recursive: bool = False,
            case_sensitive: bool = True) -> Iterator[str]:
    """Paths (relative to ``dir_path``) of the files in it ending with ``suffix``; hidden files are skipped.

    Raises:
        TypeError: ``dir_path`` is not a path, or ``suffix`` is neither a str nor a tuple of them.
    """
    if not isinstance(dir_path, (str, Path)):
        raise TypeError(f"scandir: dir_path must be a str or a Path, got {type(dir_path).__name__}")
    if suffix is not None and not isinstance(suffix, (str, tuple)):
        raise TypeError(f"scandir: suffix must be a str or a tuple of str, got {type(suffix).__name__}")
    root = str(dir_path)
    if suffix is not None and not case_sensitive:
        suffix = suffix.lower() if isinstance(suffix, str) else tuple(s.lower() for s in suffix)

    def walk(directory: str) -> Iterator[str]:
        for entry in os.scandir(directory):
            if entry.is_file() and not entry.name.startswith("."):
                relative = osp.relpath(entry.path, root)
                compared = relative if case_sensitive else relative.lower()
                if suffix is None or compared.endswith(suffix):
                    yield relative
            elif recursive and osp.isdir(entry.path):
                yield from walk(entry.path)

    return walk(root)
