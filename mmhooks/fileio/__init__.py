"""File reading and writing with ``mmengine.fileio``'s names: ``load``/``dump``, text helpers, local backends.

Only the local disk is supported; the remote backends (Petrel, HTTP, LMDB,
memcached) exist as names whose construction raises ``ImportError``.
"""

from __future__ import annotations

from mmhooks.fileio.backends import (
    BaseStorageBackend,
    HTTPBackend,
    LmdbBackend,
    LocalBackend,
    MemcachedBackend,
    PetrelBackend,
    get_file_backend,
    register_backend,
)
from mmhooks.fileio.file_client import FileClient, HardDiskBackend
from mmhooks.fileio.io import (
    copy_if_symlink_fails,
    copyfile,
    copyfile_from_local,
    copyfile_to_local,
    copytree,
    copytree_from_local,
    copytree_to_local,
    dict_from_file,
    dump,
    exists,
    get,
    get_local_path,
    get_text,
    isdir,
    isfile,
    join_path,
    list_dir_or_file,
    list_from_file,
    load,
    put,
    put_text,
    remove,
    rmtree,
)

__all__ = ["BaseStorageBackend", "FileClient", "HTTPBackend", "HardDiskBackend", "LmdbBackend", "LocalBackend",
           "MemcachedBackend", "PetrelBackend", "copy_if_symlink_fails", "copyfile", "copyfile_from_local", "copyfile_to_local",
           "copytree", "copytree_from_local", "copytree_to_local", "dict_from_file",
           "dump", "exists", "get", "get_file_backend", "get_local_path", "get_text", "isdir", "isfile", "join_path",
           "list_dir_or_file", "list_from_file", "load", "put", "put_text", "register_backend", "remove", "rmtree"]
