"""Storage backends (``mmengine.fileio.backends``): the local disk; other stores are named but not provided."""

from __future__ import annotations

import os
import os.path as osp
import shutil
from abc import ABCMeta, abstractmethod
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["BaseStorageBackend", "HTTPBackend", "LmdbBackend", "LocalBackend", "MemcachedBackend", "PetrelBackend",
           "UnknownBackendError", "get_file_backend", "register_backend"]


class BaseStorageBackend(metaclass=ABCMeta):
    """What a storage backend provides: ``get`` (bytes) and ``get_text``; ``allow_symlink`` for checkpoints."""

    _allow_symlink = False

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def allow_symlink(self) -> bool:
        return self._allow_symlink

    @abstractmethod
    def get(self, filepath: str | Path) -> bytes:
        """The file's bytes."""

    @abstractmethod
    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        """The file's text."""


class LocalBackend(BaseStorageBackend):
    """Files on the local disk (paths or ``pathlib.Path``)."""

    _allow_symlink = True

    def get(self, filepath: str | Path) -> bytes:
        with open(filepath, "rb") as f:
            return f.read()

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        with open(filepath, encoding=encoding) as f:
            return f.read()

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write bytes, creating the parent directories."""
        os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
        with open(filepath, "wb") as f:
            f.write(obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        """Write text, creating the parent directories."""
        os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
        with open(filepath, "w", encoding=encoding) as f:
            f.write(obj)

    def exists(self, filepath: str | Path) -> bool:
        return osp.exists(filepath)

    def isdir(self, filepath: str | Path) -> bool:
        return osp.isdir(filepath)

    def isfile(self, filepath: str | Path) -> bool:
        return osp.isfile(filepath)

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        return osp.join(filepath, *filepaths)

    @contextmanager
    def get_local_path(self, filepath: str | Path) -> Generator[str | Path, None, None]:
        """The path itself (it is local already)."""
        yield filepath

    def copyfile(self, src: str | Path, dst: str | Path) -> str:
        """Copy a file; ``dst`` may be a directory. Returns the destination file."""
        return str(shutil.copy(src, dst))

    def copytree(self, src: str | Path, dst: str | Path) -> str:
        """Copy a directory tree to ``dst`` (which must not exist)."""
        return str(shutil.copytree(src, dst))

    def copyfile_from_local(self, src: str | Path, dst: str | Path) -> str:
        return self.copyfile(src, dst)

    def copytree_from_local(self, src: str | Path, dst: str | Path) -> str:
        return self.copytree(src, dst)

    def copyfile_to_local(self, src: str | Path, dst: str | Path) -> str:
        return self.copyfile(src, dst)

    def copytree_to_local(self, src: str | Path, dst: str | Path) -> str:
        return self.copytree(src, dst)

    def remove(self, filepath: str | Path) -> None:
        """Delete a file.

        Raises:
            FileNotFoundError: it does not exist.
            IsADirectoryError: it is a directory (use :meth:`rmtree`).
        """
        if not osp.exists(filepath):
            raise FileNotFoundError(f"filepath {filepath} does not exist")
        if osp.isdir(filepath):
            raise IsADirectoryError("filepath should be a file")
        os.remove(filepath)

    def rmtree(self, dir_path: str | Path) -> None:
        shutil.rmtree(dir_path)

    def copy_if_symlink_fails(self, src: str | Path, dst: str | Path) -> bool:
        """Link ``dst`` to ``src``; copy when linking fails. True when it linked."""
        try:
            os.symlink(src, dst)
            return True
        except Exception:
            if self.isfile(src):
                self.copyfile(src, dst)
            else:
                self.copytree(src, dst)
            return False

    def list_dir_or_file(self, dir_path: str | Path, list_dir: bool = True, list_file: bool = True,
                         suffix: str | tuple[str, ...] | None = None, recursive: bool = False) -> Iterator[str]:
        """Relative paths of the entries of ``dir_path`` (hidden ones skipped).

        Raises:
            TypeError: ``suffix`` is not a str or tuple of str, or is given with ``list_file=False``.
        """
        if list_dir and suffix is not None:
            raise TypeError("`suffix` should be None when `list_dir` is True")
        if suffix is not None and not isinstance(suffix, (str, tuple)):
            raise TypeError("`suffix` must be a string or tuple of strings")
        root = str(dir_path)

        def walk(directory: str) -> Iterator[str]:
            for entry in os.scandir(directory):
                if entry.name.startswith("."):
                    continue
                relative = osp.relpath(entry.path, root)
                if entry.is_file():
                    if list_file and (suffix is None or relative.endswith(suffix)):
                        yield relative
                elif osp.isdir(entry.path):
                    if list_dir:
                        yield relative
                    if recursive:
                        yield from walk(entry.path)

        return walk(root)


class _NotProvidedBackend(BaseStorageBackend):
    """A remote store mmhooks does not read: building one raises ``ImportError`` naming the way out."""

    store = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(f"{type(self).__name__} ({self.store}) is not provided by mmhooks.fileio, which reads local "
                          f"files only. Fix: download the files first, or use mmengine.fileio for remote storage.")

    def get(self, filepath: str | Path) -> bytes:  # pragma: no cover - cannot be built
        raise NotImplementedError

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:  # pragma: no cover
        raise NotImplementedError


class PetrelBackend(_NotProvidedBackend):
    store = "Petrel / s3:// storage"


class HTTPBackend(_NotProvidedBackend):
    store = "http(s):// files"


class MemcachedBackend(_NotProvidedBackend):
    store = "memcached"


class LmdbBackend(_NotProvidedBackend):
    store = "LMDB"


class UnknownBackendError(ValueError, KeyError):
    """A storage backend name or URI prefix nothing is registered for (MMEngine raises ``KeyError``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_BACKENDS: dict[str, type[BaseStorageBackend]] = {
    "local": LocalBackend, "disk": LocalBackend, "petrel": PetrelBackend, "http": HTTPBackend,
    "memcached": MemcachedBackend, "lmdb": LmdbBackend}
_PREFIXES: dict[str, type[BaseStorageBackend]] = {"s3": PetrelBackend, "petrel": PetrelBackend,
                                                  "http": HTTPBackend, "https": HTTPBackend}
_instances: dict[str, BaseStorageBackend] = {}


def register_backend(name: str, backend: type[BaseStorageBackend] | None = None, force: bool = False,
                     prefixes: str | list[str] | tuple[str, ...] | None = None) -> Any:
    """Register a backend class under ``name`` (and URI ``prefixes``); usable as a decorator.

    Raises:
        TypeError: ``name`` is not a str, or ``backend`` not a ``BaseStorageBackend`` subclass.
        KeyError: ``name`` (or a prefix) is taken and ``force`` is False.
    """

    def register(cls: type[BaseStorageBackend]) -> type[BaseStorageBackend]:
        if not isinstance(name, str):
            raise TypeError(f"the backend name should be a string, but got {type(name)}")
        if not isinstance(cls, type) or not issubclass(cls, BaseStorageBackend):
            raise TypeError(f"backend {cls} is not a subclass of BaseStorageBackend")
        if name in _BACKENDS and not force:
            raise KeyError(f"{name} is already registered as a storage backend, add \"force=True\" if you want to "
                           f"override it")
        _BACKENDS[name] = cls
        for prefix in [prefixes] if isinstance(prefixes, str) else (prefixes or ()):
            if prefix in _PREFIXES and not force:
                raise KeyError(f"{prefix} is already registered as a storage backend, add \"force=True\" if you "
                               f"want to override it")
            _PREFIXES[prefix] = cls
        for key in [k for k, v in _instances.items() if isinstance(v, cls) or k.startswith(f"{name}:")]:
            _instances.pop(key)
        return cls

    return register(backend) if backend is not None else register


def _prefix(uri: str | Path) -> str | None:
    uri = str(uri)
    if "://" not in uri:
        return None
    prefix = uri.split("://")[0]
    return prefix.split(":")[-1]


def get_file_backend(uri: str | Path | None = None, *, backend_args: dict[str, Any] | None = None,
                     enable_singleton: bool = False) -> Any:
    """The backend for ``uri`` (local paths: :class:`LocalBackend`) or for ``backend_args['backend']``.

    Raises:
        ValueError: neither is given.
        UnknownBackendError: the backend or URI prefix is unknown (a ``KeyError`` too, MMEngine's class).
    """
    if uri is None and not (backend_args and "backend" in backend_args):
        raise ValueError('uri should not be None when "backend" does not exist in backend_args')
    args = dict(backend_args or {})
    name = args.pop("backend", None)
    if name is not None:
        if name not in _BACKENDS:
            raise UnknownBackendError(f"Backend {name} is not supported. Currently supported ones are "
                                      f"{sorted(_BACKENDS)}")
        cls = _BACKENDS[name]
    else:
        prefix = _prefix(uri) if uri is not None else None
        if prefix is None:
            cls = LocalBackend
        elif prefix in _PREFIXES:
            cls = _PREFIXES[prefix]
        else:
            raise UnknownBackendError(f"prefix {prefix} is not supported. Currently supported ones are "
                                      f"{sorted(_PREFIXES)}")
    if not enable_singleton:
        return cls(**args)
    key = f"{cls.__name__}:{sorted(args.items())}"
    if key not in _instances:
        _instances[key] = cls(**args)
    return _instances[key]
