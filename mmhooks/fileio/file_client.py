"""``FileClient``: MMEngine's deprecated storage facade, for the local disk (``backend='disk'``)."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from mmhooks.fileio.backends import (
    BaseStorageBackend,
    HTTPBackend,
    LmdbBackend,
    LocalBackend,
    MemcachedBackend,
    PetrelBackend,
)

__all__ = ["FileClient", "HardDiskBackend", "PetrelBackend"]


class HardDiskBackend(LocalBackend):
    """MMEngine's older name of :class:`LocalBackend`."""


class FileClient:
    """One client per ``(backend, prefix, kwargs)``, delegating to a storage backend (MMEngine's deprecated API).

    Args:
        backend: ``'disk'`` (the default); the remote names raise ``ImportError`` when built.
        prefix: A URI prefix (``'s3'``, ``'http'``...) choosing the backend instead.

    Raises:
        ValueError: an unknown backend or prefix.
    """

    _backends: ClassVar[dict[str, type[BaseStorageBackend]]] = {
        "disk": HardDiskBackend, "memcached": MemcachedBackend, "lmdb": LmdbBackend, "petrel": PetrelBackend,
        "http": HTTPBackend}
    _prefix_to_backends: ClassVar[dict[str, type[BaseStorageBackend]]] = {
        "s3": PetrelBackend, "petrel": PetrelBackend, "http": HTTPBackend, "https": HTTPBackend}
    _instances: ClassVar[dict[str, FileClient]] = {}
    client: Any

    def __new__(cls, backend: str | None = None, prefix: str | None = None, **kwargs: Any) -> FileClient:
        from mmhooks.logging.logger import print_log  # imports torch; keep `import mmhooks.fileio` light

        print_log('"FileClient" will be deprecated in future. Please use io functions in '
                  "https://mmengine.readthedocs.io/en/latest/api/fileio.html#file-io", logger="current",
                  level=logging.WARNING)
        if backend is None and prefix is None:
            backend = "disk"
        if backend is not None and backend not in cls._backends:
            raise ValueError(f"Backend {backend} is not supported. Currently supported ones are {list(cls._backends)}")
        if prefix is not None and prefix not in cls._prefix_to_backends:
            raise ValueError(f"prefix {prefix} is not supported. Currently supported ones are "
                             f"{list(cls._prefix_to_backends)}")
        key = f"{backend}:{prefix}" + "".join(f":{k}:{v}" for k, v in kwargs.items())
        if key not in cls._instances:
            instance = super().__new__(cls)
            backend_cls = cls._backends[backend] if backend is not None else cls._prefix_to_backends[str(prefix)]
            instance.client = backend_cls(**kwargs)
            cls._instances[key] = instance
        return cls._instances[key]

    @property
    def name(self) -> str:
        return str(self.client.name)

    @property
    def allow_symlink(self) -> bool:
        return bool(self.client.allow_symlink)

    @staticmethod
    def parse_uri_prefix(uri: str | Path) -> str | None:
        """``'s3'`` for ``'s3://bucket/x'`` (``'clusterName:s3://...'`` too), ``None`` for a local path."""
        uri = str(uri)
        if "://" not in uri:
            return None
        return uri.split("://")[0].split(":")[-1]

    @classmethod
    def infer_client(cls, file_client_args: dict[str, Any] | None = None, uri: str | Path | None = None) -> FileClient:
        """The client for ``file_client_args``, else for ``uri``'s prefix."""
        if file_client_args is None and uri is None:
            raise AssertionError("infer_client: pass file_client_args or uri")
        if file_client_args is None:
            return cls(prefix=cls.parse_uri_prefix(uri))  # type: ignore[arg-type]
        return cls(**file_client_args)

    def get(self, filepath: str | Path) -> bytes:
        return self.client.get(filepath)  # type: ignore[no-any-return]

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        return self.client.get_text(filepath, encoding)  # type: ignore[no-any-return]

    def put(self, obj: bytes, filepath: str | Path) -> None:
        self.client.put(obj, filepath)

    def put_text(self, obj: str, filepath: str | Path) -> None:
        self.client.put_text(obj, filepath)

    def remove(self, filepath: str | Path) -> None:
        self.client.remove(filepath)

    def exists(self, filepath: str | Path) -> bool:
        return bool(self.client.exists(filepath))

    def isdir(self, filepath: str | Path) -> bool:
        return bool(self.client.isdir(filepath))

    def isfile(self, filepath: str | Path) -> bool:
        return bool(self.client.isfile(filepath))

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        return str(self.client.join_path(filepath, *filepaths))

    @contextmanager
    def get_local_path(self, filepath: str | Path) -> Generator[str | Path, None, None]:
        with self.client.get_local_path(str(filepath)) as local_path:
            yield local_path

    def list_dir_or_file(self, dir_path: str | Path, list_dir: bool = True, list_file: bool = True,
                         suffix: str | tuple[str, ...] | None = None, recursive: bool = False) -> Iterator[str]:
        yield from self.client.list_dir_or_file(dir_path, list_dir, list_file, suffix, recursive)
