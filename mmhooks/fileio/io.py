"""Read and write json, yaml and pickle files, and local file operations (``mmengine.fileio``'s io functions).

Local paths and open file objects only: ``load``/``dump`` refuse a URI with a
``ValueError`` naming the scheme; the path functions go through
:func:`~mmhooks.fileio.backends.get_file_backend`, whose remote backends raise
``ImportError``.

MMEngine parity:
    YAML is read with PyYAML's ``FullLoader`` (MMEngine uses ``Loader``, which
    can construct arbitrary Python objects from a file); tuples still load.
"""

from __future__ import annotations

import io  # noqa: F401  (the load example reads from io.StringIO)
import json
import os
import os.path as osp
import pickle
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["copy_if_symlink_fails", "copyfile", "copyfile_from_local", "copyfile_to_local", "copytree",
           "copytree_from_local", "copytree_to_local", "dict_from_file", "dump", "exists", "get",
           "get_local_path", "get_text", "isdir", "isfile", "join_path", "list_dir_or_file", "list_from_file", "load",
           "put", "put_text", "remove", "rmtree"]

_FORMATS = {"json": "json", "yaml": "yaml", "yml": "yaml", "pickle": "pickle", "pkl": "pickle"}


def _json_default(obj: Any) -> Any:
    """What ``json`` cannot write by itself: sets and ranges as lists, numpy arrays and scalars as Python values."""
    if isinstance(obj, (set, range)):
        return list(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj)} is unsupported for json dump")


def _local(path: str | Path, what: str) -> str:
    path = str(path)
    if "://" in path:
        raise ValueError(f"{what}: {path!r} is a URI ({path.split('://')[0]}://); mmhooks.fileio reads and writes "
                         f"local files only. Fix: download it first, or use mmengine.fileio for remote storage.")
    return path


def _format(file: Any, file_format: str | None) -> str:
    if file_format is None:
        if not isinstance(file, (str, Path)):
            raise ValueError("file_format must be specified since file is not a path")
        file_format = str(file).rsplit(".", 1)[-1]
    if file_format not in _FORMATS:
        raise TypeError(f"Unsupported format: {file_format}; expected one of {sorted(_FORMATS)}")
    return _FORMATS[file_format]


def _reader(kind: str, kwargs: dict[str, Any]) -> Callable[[IO[Any]], Any]:
    if kind == "json":
        return lambda f: json.load(f, **kwargs)
    if kind == "yaml":
        import yaml

        kwargs.setdefault("Loader", yaml.FullLoader)
        return lambda f: yaml.load(f, **kwargs)
    return lambda f: pickle.load(f, **kwargs)


def _dumps(obj: Any, kind: str, kwargs: dict[str, Any]) -> str | bytes:
    if kind == "json":
        kwargs.setdefault("default", _json_default)
        return json.dumps(obj, **kwargs)
    if kind == "yaml":
        import yaml

        return str(yaml.dump(obj, **kwargs))
    kwargs.setdefault("protocol", 2)
    return pickle.dumps(obj, **kwargs)


def load(file: str | Path | IO[Any], file_format: str | None = None, file_client_args: Any = None,
         backend_args: Any = None, **kwargs: Any) -> Any:
    """The object in a json, yaml/yml or pickle/pkl file (a path or an open file; format from the suffix).

    Example:
        >>> load(io.StringIO('{"a": [1, 2]}'), file_format='json')
        {'a': [1, 2]}
    """
    kind = _format(file, file_format)
    read = _reader(kind, kwargs)
    if isinstance(file, (str, Path)):
        with open(_local(file, "load"), "rb" if kind == "pickle" else "r", encoding=None if kind == "pickle"
                  else "utf-8") as f:
            return read(f)
    if hasattr(file, "read"):
        return read(file)
    raise TypeError(f'"file" must be a filepath str or a file-object, got {type(file).__name__}')


def dump(obj: Any, file: str | Path | IO[Any] | None = None, file_format: str | None = None,
         file_client_args: Any = None, backend_args: Any = None, **kwargs: Any) -> str | bytes | None:
    """Write ``obj`` as json, yaml or pickle to ``file`` (path or open file); with no file, return the text.

    Example:
        >>> dump({'a': np.int64(1)}, file_format='json')
        '{"a": 1}'
    """
    if file is None and file_format is None:
        raise ValueError("file_format must be specified since file is None")
    kind = _format(file, file_format)
    data = _dumps(obj, kind, kwargs)
    if file is None:
        return data
    if isinstance(file, (str, Path)):
        path = _local(file, "dump")
        with open(path, "wb" if isinstance(data, bytes) else "w", encoding=None if isinstance(data, bytes)
                  else "utf-8") as f:
            f.write(data)
        return None
    if hasattr(file, "write"):
        file.write(data)
        return None
    raise TypeError(f'"file" must be a filename str or a file-object, got {type(file).__name__}')


def list_from_file(filename: str | Path, prefix: str = "", offset: int = 0, max_num: int = 0,
                   encoding: str = "utf-8", file_client_args: Any = None, backend_args: Any = None) -> list[str]:
    """The file's lines (without line ends) after skipping ``offset``, at most ``max_num`` (0: all), prefixed."""
    with open(_local(filename, "list_from_file"), encoding=encoding) as f:
        lines = f.read().splitlines()[offset:]
    if max_num > 0:
        lines = lines[:max_num]
    return [prefix + line for line in lines]


def dict_from_file(filename: str | Path, key_type: type = str, encoding: str = "utf-8",
                   file_client_args: Any = None, backend_args: Any = None) -> dict[Any, Any]:
    """Lines ``key value [value...]`` as a dict: one value stays a str, several become a list."""
    mapping: dict[Any, Any] = {}
    with open(_local(filename, "dict_from_file"), encoding=encoding) as f:
        for line in f:
            items = line.rstrip("\n").split()
            if len(items) < 2:
                raise ValueError(f"{filename}: line {line!r} has no value after its key")
            mapping[key_type(items[0])] = items[1] if len(items) == 2 else items[1:]
    return mapping


def _backend(path: str | Path, backend_args: Any) -> Any:
    from mmhooks.fileio.backends import get_file_backend

    return get_file_backend(path, backend_args=backend_args, enable_singleton=True)


def get(filepath: str | Path, backend_args: Any = None) -> bytes:
    """The file's bytes."""
    return _backend(filepath, backend_args).get(filepath)  # type: ignore[no-any-return]


def get_text(filepath: str | Path, encoding: str = "utf-8", backend_args: Any = None) -> str:
    """The file's text."""
    return _backend(filepath, backend_args).get_text(filepath, encoding)  # type: ignore[no-any-return]


def put(obj: bytes, filepath: str | Path, backend_args: Any = None) -> None:
    """Write bytes, creating parent directories."""
    _backend(filepath, backend_args).put(obj, filepath)


def put_text(obj: str, filepath: str | Path, encoding: str = "utf-8", backend_args: Any = None) -> None:
    """Write text, creating parent directories."""
    _backend(filepath, backend_args).put_text(obj, filepath, encoding)


def exists(filepath: str | Path, backend_args: Any = None) -> bool:
    return bool(_backend(filepath, backend_args).exists(filepath))


def isdir(filepath: str | Path, backend_args: Any = None) -> bool:
    return bool(_backend(filepath, backend_args).isdir(filepath))


def isfile(filepath: str | Path, backend_args: Any = None) -> bool:
    return bool(_backend(filepath, backend_args).isfile(filepath))


def join_path(filepath: str | Path, *filepaths: str | Path, backend_args: Any = None) -> str:
    return str(_backend(filepath, backend_args).join_path(filepath, *filepaths))


def remove(filepath: str | Path, backend_args: Any = None) -> None:
    _backend(filepath, backend_args).remove(filepath)


def rmtree(dir_path: str | Path, backend_args: Any = None) -> None:
    _backend(dir_path, backend_args).rmtree(dir_path)


def copyfile(src: str | Path, dst: str | Path, backend_args: Any = None) -> str:
    return str(_backend(src, backend_args).copyfile(src, dst))


def copytree(src: str | Path, dst: str | Path, backend_args: Any = None) -> str:
    return str(_backend(src, backend_args).copytree(src, dst))


def copyfile_from_local(src: str | Path, dst: str | Path, backend_args: Any = None) -> str:
    """Copy a local file to ``dst`` (a local path here)."""
    return str(_backend(dst, backend_args).copyfile_from_local(src, dst))


def copytree_from_local(src: str | Path, dst: str | Path, backend_args: Any = None) -> str:
    return str(_backend(dst, backend_args).copytree_from_local(src, dst))


def copyfile_to_local(src: str | Path, dst: str | Path, backend_args: Any = None) -> str:
    """Copy ``src`` (a local path here) to a local file."""
    return str(_backend(src, backend_args).copyfile_to_local(src, dst))


def copytree_to_local(src: str | Path, dst: str | Path, backend_args: Any = None) -> str:
    return str(_backend(src, backend_args).copytree_to_local(src, dst))


def copy_if_symlink_fails(src: str | Path, dst: str | Path, backend_args: Any = None) -> bool:
    return bool(_backend(src, backend_args).copy_if_symlink_fails(src, dst))


def list_dir_or_file(dir_path: str | Path, list_dir: bool = True, list_file: bool = True,
                     suffix: str | tuple[str, ...] | None = None, recursive: bool = False,
                     backend_args: Any = None) -> Iterator[str]:
    yield from _backend(dir_path, backend_args).list_dir_or_file(dir_path, list_dir, list_file, suffix, recursive)


@contextmanager
def get_local_path(filepath: str | Path, backend_args: Any = None) -> Generator[str | Path, None, None]:
    with _backend(filepath, backend_args).get_local_path(str(filepath)) as local_path:
        yield local_path
