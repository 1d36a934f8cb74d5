"""Checkpoint files: MMEngine's checkpoint utilities with crash-safe writes and ``weights_only`` reads.

The names and the file layout are MMEngine's (``mmengine.runner.checkpoint``):
``save_checkpoint``, ``load_checkpoint``, ``_load_checkpoint``,
``load_state_dict``, ``get_state_dict``, ``weights_to_cpu``,
``find_latest_checkpoint`` and :class:`CheckpointLoader`, whose scheme registry
dispatches a path to ``load_from_local``, ``load_from_http``,
``load_from_torchvision``, ``load_from_openmmlab``, ``load_from_mmcls``,
``load_from_pavi`` or ``load_from_ceph`` by its prefix. A checkpoint written
here loads in MMEngine and the other way round.

MMEngine parity:
    * Writes go to a temporary file in the target directory, are flushed to
      disk and then renamed over the target (:func:`atomic_save`), so an
      interrupted save never leaves a truncated ``epoch_N.pth`` or
      ``last_checkpoint``. MMEngine writes in place.
    * Reads use ``torch.load(weights_only=True)``. MMEngine's checkpoints
      pickle its ``HistoryBuffer`` (and ``getattr`` of its statistics methods);
      these names are read into mmhooks' :class:`~mmhooks.logging.HistoryBuffer`
      by torch's restricted unpickler, without importing MMEngine, so its
      ``.pth`` files work as ``load_from``. Any other object outside the
      allowlist is refused with an error that names the file and the opt-in
      (``allow_unsafe=True`` or ``MMHOOKS_ALLOW_UNSAFE_LOAD=1``). MMEngine
      0.10.7 cannot read its own files on torch >= 2.6. mmhooks' own files
      also load with a plain ``torch.load`` in any process that has imported
      :mod:`mmhooks.logging.history_buffer` (it allowlists itself).
    * A damaged or non-checkpoint file raises :class:`CheckpointLoadError`
      naming the file; torch's advice to retry with ``weights_only=False`` is
      never passed on.
    * :func:`write_last_checkpoint` always writes an absolute path; MMEngine
      writes ``join(out_dir, filename)``, which is relative for a relative
      ``work_dir``. :func:`find_latest_checkpoint` prefers a file of the same
      name inside a moved or copied ``work_dir`` (with a warning).
    * Remote storage (``s3://``, ``petrel://``, ``backend_args`` naming a
      non-local backend) goes through MMEngine's file backends when MMEngine is
      installed, and raises :class:`~mmhooks.errors.UnsupportedConfigError`
      otherwise. ``save_checkpoint`` to ``pavi://`` is not supported.
    * :func:`load_state_dict` without a ``logger`` reports mismatched keys with
      :func:`warnings.warn` (MMEngine ``print``\\ s them).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
import io
import json
import logging
import os
import pickle
import re
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any, TypeVar, Union, overload

import torch
from torch import nn

from mmhooks.dist import barrier, get_rank, get_world_size
from mmhooks.errors import AssertedConfigError, ConfigError, UnsupportedConfigError
from mmhooks.logging.logger import print_log

__all__ = [
    "ALLOW_UNSAFE_ENV",
    "CheckpointLoadError",
    "CheckpointLoader",
    "UnsafeCheckpointError",
    "atomic_save",
    "atomic_write_text",
    "find_latest_checkpoint",
    "get_state_dict",
    "load_checkpoint",
    "load_checkpoint_file",
    "load_checkpoint_to_model",
    "load_from_ceph",
    "load_from_http",
    "load_from_local",
    "load_from_mmcls",
    "load_from_openmmlab",
    "load_from_pavi",
    "load_from_torchvision",
    "load_state_dict",
    "register_safe_globals",
    "save_checkpoint",
    "to_cpu",
    "unwrap_model",
    "weights_to_cpu",
    "write_last_checkpoint",
]

log = logging.getLogger(__name__)

ALLOW_UNSAFE_ENV = "MMHOOKS_ALLOW_UNSAFE_LOAD"
LAST_CHECKPOINT_FILE = "last_checkpoint"
DEFAULT_REVISE_KEYS: tuple[tuple[str, str], ...] = ((r"^module\.", ""),)
_LOCAL_BACKENDS = (None, "local", "disk")

# ``load_checkpoint(..., allow_unsafe=True)`` reaches the scheme loaders through this, since their
# signature is MMEngine's ``(filename, map_location)``.
_ALLOW_UNSAFE: contextvars.ContextVar[bool] = contextvars.ContextVar("mmhooks_allow_unsafe_load", default=False)


class CheckpointLoadError(RuntimeError):
    """A checkpoint file exists but cannot be read (damaged, or not a checkpoint written by ``torch.save``)."""


class UnsafeCheckpointError(CheckpointLoadError):
    """A checkpoint file can only be read with full unpickling, which the caller has not allowed."""


# ----------------------------------------------------------------------------- writing
def atomic_save(obj: object, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj)`` to ``path`` so that readers see the old file or the complete new one.

    The data goes to a temporary file in the same directory (so the final
    rename stays on one file system), is flushed and ``fsync``-ed, and is then
    moved over ``path`` with :func:`os.replace`. If serialisation fails, the
    temporary file is removed and an existing ``path`` is left untouched.
    Missing parent directories are created.
    """
    _atomic_write(path, lambda handle: torch.save(obj, handle), binary=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, exactly as given) to ``path`` with the guarantees of :func:`atomic_save`."""
    _atomic_write(path, lambda handle: handle.write(text), binary=False)


def _atomic_write(path: str | os.PathLike[str], write: Callable[[IO[Any]], object], binary: bool) -> None:
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    os.makedirs(directory, exist_ok=True)
    fd, temp_path = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    try:
        mode = "wb" if binary else "w"
        text_args: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **text_args) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp_path)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(
    checkpoint: Any,
    filename: str | os.PathLike[str],
    file_client_args: dict[str, Any] | None = None,
    backend_args: dict[str, Any] | None = None,
) -> None:
    """Save ``checkpoint`` (any object ``torch.save`` takes) to ``filename``, as MMEngine does.

    Local files are written atomically (:func:`atomic_save`); parent
    directories are created. A URI (``s3://...``) or ``backend_args`` naming
    another backend is written through MMEngine's file backend when MMEngine is
    installed.

    Args:
        checkpoint: What to save, usually a dict with ``meta`` and ``state_dict``.
        filename: Target path or URI.
        file_client_args: Deprecated in MMEngine; use ``backend_args``.
        backend_args: MMEngine storage-backend settings, e.g. ``dict(backend='local')``.

    Raises:
        ConfigError: Both ``file_client_args`` and ``backend_args`` are given.
        UnsupportedConfigError: Remote storage without MMEngine, or ``pavi://``.

    Example:
        >>> import tempfile, os, torch
        >>> path = os.path.join(tempfile.mkdtemp(), "sub", "epoch_1.pth")
        >>> save_checkpoint({"meta": {"epoch": 1}}, path)
        >>> torch.load(path)["meta"]
        {'epoch': 1}
    """
    target = os.fspath(filename)
    if file_client_args is not None:
        print_log(
            '"file_client_args" will be deprecated in future. Please use "backend_args" instead',
            logger="current",
            level=logging.WARNING,
        )
        if backend_args is not None:
            raise ConfigError("file_client_args", file_client_args, "None when backend_args is set",
                              "keep only backend_args.", "save_checkpoint")
    if target.startswith("pavi://"):
        raise UnsupportedConfigError("filename", target, "a local path or a storage URI MMEngine's file backends "
                                     "write", "save locally and upload the file to pavi yourself.", "save_checkpoint")
    storage = file_client_args if file_client_args is not None else backend_args
    if "://" not in target and (storage is None or storage.get("backend") in _LOCAL_BACKENDS):
        atomic_save(checkpoint, target)
        return
    backend = _mmengine_file_backend(target, storage, "save_checkpoint", legacy=file_client_args is not None)
    with io.BytesIO() as buffer:
        torch.save(checkpoint, buffer)
        backend.put(buffer.getvalue(), target)


def _mmengine_file_backend(uri: str, storage: dict[str, Any] | None, where: str, legacy: bool = False) -> Any:
    """MMEngine's file backend for ``uri`` (remote storage is MMEngine's, not mmhooks')."""
    try:
        fileio = importlib.import_module("mmengine.fileio")
    except ImportError:
        raise UnsupportedConfigError(
            "filename", uri, "a local path (remote storage needs MMEngine's file backends)",
            "pip install mmengine (with the storage client, e.g. petrel_client), or use a local path.", where,
        ) from None
    if legacy:
        return fileio.FileClient.infer_client(storage, uri)
    return fileio.get_file_backend(uri, backend_args=storage)


def write_last_checkpoint(work_dir: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    """Record ``path`` (made absolute) in ``work_dir/last_checkpoint``, with no trailing newline.

    Returns the path written into the file.
    """
    absolute = os.path.abspath(os.fspath(path))
    atomic_write_text(os.path.join(os.fspath(work_dir), LAST_CHECKPOINT_FILE), absolute)
    return absolute


def find_latest_checkpoint(work_dir: str | os.PathLike[str]) -> str | None:
    """The checkpoint recorded in ``work_dir/last_checkpoint``, or ``None`` when there is no such file.

    Like MMEngine, the recorded path is returned even if that checkpoint no
    longer exists; loading it then names the missing file. When the record
    points outside ``work_dir`` (the directory was moved or copied) and
    ``work_dir`` holds a file of the same name, that local file is returned,
    with a warning naming both paths.
    """
    directory = os.fspath(work_dir)
    record = os.path.join(directory, LAST_CHECKPOINT_FILE)
    if not os.path.exists(record):
        log.info("No %s in %s: there is no checkpoint to resume from.", LAST_CHECKPOINT_FILE, directory)
        return None
    with open(record, encoding="utf-8") as handle:
        recorded = handle.read().strip()
    if not recorded:
        return recorded
    local = os.path.join(directory, os.path.basename(recorded))
    if not _is_inside(recorded, directory) and os.path.isfile(local):
        log.warning(
            "%s/%s points to %s, outside this work_dir (it was moved or copied); resuming from %s, the file of "
            "that name in this work_dir.", directory, LAST_CHECKPOINT_FILE, recorded, local,
        )
        return local
    return recorded


def _is_inside(path: str, directory: str) -> bool:
    target, root = os.path.realpath(os.path.abspath(path)), os.path.realpath(os.path.abspath(directory))
    try:
        return os.path.commonpath([target, root]) == root
    except ValueError:  # different drives
        return False


# ----------------------------------------------------------------------------- safe reading
_extra_safe_globals: list[Any] = []


def register_safe_globals(objects: Iterable[Any]) -> None:
    """Allow ``objects`` (classes or functions) in ``weights_only`` checkpoint loads.

    mmhooks registers what it writes itself (numpy arrays and scalars from
    metric values and history buffers, and the logging classes of
    :mod:`mmhooks.logging`); code that stores its own classes in a checkpoint
    registers them here.
    """
    objects = list(objects)
    _extra_safe_globals.extend(objects)
    torch.serialization.add_safe_globals(objects)


# What mmhooks' message hub pickles: the buffer class and its rebuild function (which takes plain lists).
_MMHOOKS_PICKLED = (
    ("mmhooks.logging.history_buffer", "HistoryBuffer"),
    ("mmhooks.logging.history_buffer", "_rebuild_history_buffer"),
    ("mmhooks.logging.message_hub", "MessageHub"),
)


def _mmhooks_safe_globals() -> list[Any]:
    """The objects of :mod:`mmhooks.logging` that a message-hub state dict may reference."""
    from mmhooks.logging.history_buffer import numpy_safe_globals

    found: list[Any] = numpy_safe_globals()
    for module_name, attr in _MMHOOKS_PICKLED:
        module = importlib.import_module(module_name)
        found.append(getattr(module, attr))
    return found


# MMEngine's message hub pickles ``HistoryBuffer`` objects whose state carries
# ``statistics_methods``: ``getattr(HistoryBuffer, 'min')`` and the like.
_MMENGINE_HISTORY_BUFFER = "mmengine.logging.history_buffer.HistoryBuffer"
_MMENGINE_STATISTICS = frozenset({"min", "max", "mean", "current"})
_mmengine_globals: list[Callable[..., Any] | tuple[Callable[..., Any], str]] | None = None


def _mmengine_safe_globals() -> list[Callable[..., Any] | tuple[Callable[..., Any], str]]:
    """Stand-ins, under MMEngine's names, for what MMEngine checkpoints pickle besides tensors and numpy.

    They exist only while :func:`load_checkpoint_file` reads a file: the
    buffer class becomes a subclass of mmhooks' ``HistoryBuffer`` that takes
    MMEngine's pickled state, and ``builtins.getattr`` becomes a function that
    only hands out that class's statistics methods. Nothing else is callable.
    """
    global _mmengine_globals
    if _mmengine_globals is not None:
        return _mmengine_globals
    from mmhooks.logging.history_buffer import HistoryBuffer

    class MMEngineHistoryBuffer(HistoryBuffer):
        """mmhooks' buffer rebuilt from the state MMEngine's ``HistoryBuffer`` pickles."""

        def __setstate__(self, state: Mapping[str, Any]) -> None:
            if not isinstance(state, Mapping) or not {"_log_history", "_count_history"} <= set(state):
                raise pickle.UnpicklingError(
                    f"{_MMENGINE_HISTORY_BUFFER}: unexpected pickled state {type(state).__name__}; expected a dict "
                    "with _log_history and _count_history"
                )
            HistoryBuffer.__init__(
                self, list(state["_log_history"]), list(state["_count_history"]), int(state.get("max_length", 1000000))
            )

    MMEngineHistoryBuffer.__module__ = __name__
    MMEngineHistoryBuffer.__qualname__ = "MMEngineHistoryBuffer"

    def statistics_method(owner: Any, name: str) -> Any:
        """``getattr`` restricted to the buffer stand-in's statistics methods."""
        if owner is not MMEngineHistoryBuffer or name not in _MMENGINE_STATISTICS:
            raise pickle.UnpicklingError(
                f"getattr({owner!r}, {name!r}) is not allowed in a weights_only load; only the statistics methods "
                f"of {_MMENGINE_HISTORY_BUFFER} are"
            )
        return getattr(HistoryBuffer, name)

    _mmengine_globals = [(MMEngineHistoryBuffer, _MMENGINE_HISTORY_BUFFER), (statistics_method, "builtins.getattr")]
    return _mmengine_globals


def _ensure_safe_globals() -> None:
    """Allowlist what mmhooks writes, process-wide (Lightning's own resume load needs it too).

    Checked on every load rather than once: leaving a ``torch.serialization.safe_globals``
    block removes its globals from the process-wide list even if they were there before.
    """
    registered = torch.serialization.get_safe_globals()
    missing = [g for g in _mmhooks_safe_globals() if g not in registered]
    if missing:
        torch.serialization.add_safe_globals(missing)


def _unsafe_allowed(allow_unsafe: bool) -> bool:
    if allow_unsafe or _ALLOW_UNSAFE.get():
        return True
    return os.environ.get(ALLOW_UNSAFE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _rejected_globals(source: str | IO[bytes], err: BaseException) -> str | None:
    """What the ``weights_only`` unpickler refused, or ``None`` when ``err`` is not such a refusal."""
    message = str(err)
    if not isinstance(err, pickle.UnpicklingError) or "Weights only load failed" not in message:
        return None
    try:
        if not isinstance(source, str):
            source.seek(0)
        with torch.serialization.safe_globals(_mmengine_safe_globals()):
            names = torch.serialization.get_unsafe_globals_in_checkpoint(source)
        scannable = True
    except Exception:  # legacy (non-zip) format, or a damaged archive
        names, scannable = [], False
    if names:
        return ", ".join(names)
    if scannable or "add_safe_globals" in message or "Unsupported global" in message:
        detail = message.split("WeightsUnpickler error:", 1)[-1].strip().splitlines()
        return detail[0].strip() if detail and detail[0].strip() else "an object outside the weights_only allowlist"
    return None


def load_checkpoint_file(
    path: str | os.PathLike[str],
    map_location: Any = "cpu",
    *,
    allow_unsafe: bool = False,
) -> Any:
    """Read a checkpoint with ``torch.load(weights_only=True)``; full unpickling only on request.

    Files written by mmhooks and by MMEngine load without the opt-in; the
    ``HistoryBuffer`` objects of an MMEngine ``message_hub`` come back as
    mmhooks' :class:`~mmhooks.logging.HistoryBuffer`.

    Args:
        path: The checkpoint file.
        map_location: As for :func:`torch.load`.
        allow_unsafe: Fall back to full unpickling (``weights_only=False``)
            when the file needs it. Only for files you trust: unpickling can
            run arbitrary code. The environment variable
            ``MMHOOKS_ALLOW_UNSAFE_LOAD=1`` has the same effect.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafeCheckpointError: The file needs full unpickling and it was not allowed.
        CheckpointLoadError: The file is damaged or is not a ``torch.save`` file.
    """
    filename = os.fspath(path)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"{filename}: checkpoint file not found. Fix: check the path (or last_checkpoint).")
    if os.path.getsize(filename) == 0:
        raise CheckpointLoadError(_damaged_message(filename, "the file is empty"))
    return _safe_load(filename, filename, map_location, allow_unsafe)


def _load_bytes(data: bytes, name: str, map_location: Any) -> Any:
    """:func:`load_checkpoint_file` for a checkpoint held in memory (downloaded or read from remote storage)."""
    if not data:
        raise CheckpointLoadError(_damaged_message(name, "it is empty"))
    return _safe_load(io.BytesIO(data), name, map_location, False)


def _safe_load(source: str | io.BytesIO, name: str, map_location: Any, allow_unsafe: bool) -> Any:
    _ensure_safe_globals()
    try:
        with torch.serialization.safe_globals(_mmengine_safe_globals()):
            return torch.load(source, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for damaged files
        rejected = _rejected_globals(source, err)
        if rejected is None:
            raise CheckpointLoadError(_damaged_message(name, _cause(err))) from err
        if not _unsafe_allowed(allow_unsafe):
            raise UnsafeCheckpointError(
                f"{name}: this checkpoint cannot be loaded with torch.load(weights_only=True) because it "
                f"pickles {rejected}; loading it fully can run arbitrary code. Fix: if you trust the file, pass "
                f"allow_unsafe=True or set the environment variable {ALLOW_UNSAFE_ENV}=1."
            ) from err
    log.warning("%s: loading with full unpickling (weights_only=False), as allowed.", name)
    if not isinstance(source, str):
        source.seek(0)
    try:
        return torch.load(source, map_location=map_location, weights_only=False)
    except Exception as err:
        raise CheckpointLoadError(
            f"{name}: cannot read this checkpoint ({_cause(err)}). Fix: check that the classes it pickles can be "
            "imported, or re-create the file."
        ) from err


def _damaged_message(name: str, cause: str) -> str:
    return (
        f"{name}: cannot read this checkpoint ({cause}); the file is damaged (truncated or corrupt) or is not a "
        "checkpoint written by torch.save. Fix: re-copy or re-create it, or resume from an earlier checkpoint."
    )


def _cause(err: BaseException) -> str:
    """The first line of ``err`` for a message, without torch's advice to load with ``weights_only=False``."""
    text = str(err).strip()
    first = text.splitlines()[0].strip() if text else ""
    if "weights_only" in text or "Weights only" in text or not first:
        first = "torch.load could not unpickle it" if isinstance(err, pickle.UnpicklingError) else "no details"
    return f"{type(err).__name__}: {first}"


# ----------------------------------------------------------------------------- URI schemes
Loader = Callable[..., Any]
LoaderT = TypeVar("LoaderT", bound=Loader)


class CheckpointLoader:
    """Dispatch a checkpoint path to the loader registered for its prefix (MMEngine's scheme registry).

    Prefixes are regular expressions matched at the start of the path
    (``re.match``); they are tried in reverse lexicographic order, so a
    longer prefix wins over one it extends (``'a/b/c'`` before ``'a/b'``), and
    the empty prefix of :func:`load_from_local` catches everything else.

    Example:
        >>> @CheckpointLoader.register_scheme(prefixes="doc-example://")
        ... def load_from_doc_example(filename, map_location=None):
        ...     return {"meta": {"source": filename}}
        >>> CheckpointLoader.load_checkpoint("doc-example://a.pth", logger="silent")
        {'meta': {'source': 'doc-example://a.pth'}}
    """

    _schemes: OrderedDict[str, Loader] = OrderedDict()

    @classmethod
    def _register_scheme(cls, prefixes: Union[str, Sequence[str]], loader: Loader, force: bool = False) -> None:
        if isinstance(prefixes, str):
            prefixes = [prefixes]
        elif not isinstance(prefixes, (list, tuple)) or not all(isinstance(p, str) for p in prefixes):
            raise TypeError(
                f"CheckpointLoader.register_scheme.prefixes: got {prefixes!r}; expected a str or a list/tuple of "
                "str. Fix: pass prefixes='myscheme://'."
            )
        for prefix in prefixes:
            if prefix in cls._schemes and not force:
                raise KeyError(
                    f"CheckpointLoader.register_scheme: {prefix!r} is already registered to "
                    f"{getattr(cls._schemes[prefix], '__name__', cls._schemes[prefix])}. Fix: pass force=True to "
                    "replace it."
                )
            cls._schemes[prefix] = loader
        cls._schemes = OrderedDict(sorted(cls._schemes.items(), key=lambda item: item[0], reverse=True))

    @overload
    @classmethod
    def register_scheme(
        cls, prefixes: Union[str, Sequence[str]], loader: None = None, force: bool = False
    ) -> Callable[[LoaderT], LoaderT]: ...

    @overload
    @classmethod
    def register_scheme(cls, prefixes: Union[str, Sequence[str]], loader: Loader, force: bool = False) -> None: ...

    @classmethod
    def register_scheme(
        cls, prefixes: Union[str, Sequence[str]], loader: Loader | None = None, force: bool = False
    ) -> Callable[[LoaderT], LoaderT] | None:
        """Register ``loader(filename, map_location)`` for ``prefixes``; without ``loader``, a decorator.

        Raises:
            KeyError: A prefix is registered already and ``force`` is False.
        """
        if loader is not None:
            cls._register_scheme(prefixes, loader, force=force)
            return None

        def register(function: LoaderT) -> LoaderT:
            cls._register_scheme(prefixes, function, force=force)
            return function

        return register

    @classmethod
    def _get_checkpoint_loader(cls, path: str) -> Loader | None:
        """The loader of the first prefix (in registry order) that matches the start of ``path``."""
        for prefix, loader in cls._schemes.items():
            if re.match(prefix, path) is not None:
                return loader
        return None

    @classmethod
    def load_checkpoint(
        cls, filename: str, map_location: Any = None, logger: Union[logging.Logger, str, None] = "current"
    ) -> Any:
        """Load ``filename`` with the loader its prefix selects, logging which backend reads it."""
        filename = os.fspath(filename)
        loader = cls._get_checkpoint_loader(filename)
        if loader is None:  # only when load_from_local's empty prefix was replaced
            raise KeyError(f"CheckpointLoader: no loader matches {filename!r}. Fix: register_scheme one.")
        name = getattr(loader, "__name__", type(loader).__name__)
        print_log(f"Loads checkpoint by {name[10:]} backend from path: {filename}", logger=logger)
        return loader(filename, map_location)


@CheckpointLoader.register_scheme(prefixes="")
def load_from_local(filename: str, map_location: Any = None) -> Any:
    """Read a local checkpoint (``~`` expanded) with ``torch.load(weights_only=True)``.

    See :func:`load_checkpoint_file` for what loads without the opt-in and for
    the errors.
    """
    path = os.path.expanduser(os.fspath(filename))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: checkpoint file not found. Fix: check the path (or last_checkpoint).")
    return load_checkpoint_file(path, map_location)


def _hub_checkpoint_dir(model_dir: str | None) -> str:
    return model_dir if model_dir is not None else os.path.join(torch.hub.get_dir(), "checkpoints")


def _download(url: str, model_dir: str | None, progress: bool) -> str:
    """Download ``url`` into the torch hub cache (once; a cached file is reused) and return its path."""
    from urllib.parse import urlparse

    directory = _hub_checkpoint_dir(model_dir)
    os.makedirs(directory, exist_ok=True)
    cached = os.path.join(directory, os.path.basename(urlparse(url).path) or "checkpoint.pth")
    if not os.path.isfile(cached):
        torch.hub.download_url_to_file(url, cached, progress=progress)
    return cached


@CheckpointLoader.register_scheme(prefixes=("http://", "https://"))
def load_from_http(
    filename: str, map_location: Any = None, model_dir: str | None = None, progress: bool = os.isatty(0)
) -> Any:
    """Download a checkpoint over HTTP(S) into the torch hub cache and read it with ``weights_only=True``.

    In distributed runs rank zero downloads first; the other ranks then read
    the cached file.
    """
    rank, world_size = get_rank(), get_world_size()
    if rank == 0:
        path = _download(filename, model_dir, progress)
    if world_size > 1:
        barrier()
        if rank > 0:
            path = _download(filename, model_dir, progress)
    return load_checkpoint_file(path, map_location)


@CheckpointLoader.register_scheme(prefixes="pavi://")
def load_from_pavi(filename: str, map_location: Any = None) -> Any:
    """Download a checkpoint from pavi's model cloud (needs the ``pavi`` package) and read it.

    Raises:
        ConfigError: ``filename`` does not start with ``pavi://`` (also an ``AssertionError``, MMEngine's class).
        ImportError: ``pavi`` is not installed.
    """
    if not filename.startswith("pavi://"):
        raise AssertedConfigError("filename", filename, "a path starting with 'pavi://'", "add the pavi:// prefix.",
                          "load_from_pavi")
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError("load_from_pavi: the pavi package is not installed. Fix: pip install pavi.") from None
    model = modelcloud.get(filename[len("pavi://"):])
    with tempfile.TemporaryDirectory() as directory:
        downloaded = os.path.join(directory, model.name)
        model.download(downloaded)
        return load_checkpoint_file(downloaded, map_location)


@CheckpointLoader.register_scheme(prefixes=[r"(\S+\:)?s3://", r"(\S+\:)?petrel://"])
def load_from_ceph(filename: str, map_location: Any = None, backend: str = "petrel") -> Any:
    """Read a checkpoint from Ceph/S3 through MMEngine's ``petrel`` file backend (MMEngine and petrel_client)."""
    storage = _mmengine_file_backend(filename, {"backend": backend}, "load_from_ceph")
    return _load_bytes(storage.get(filename), filename, map_location)


def _mmengine_hub_file(name: str) -> str | None:
    """A model-zoo JSON file shipped in MMEngine's ``hub`` folder, found without importing MMEngine."""
    try:
        spec = importlib.util.find_spec("mmengine")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "hub", name)
    return path if os.path.isfile(path) else None


def _read_model_zoo(name: str, scheme: str) -> dict[str, str]:
    path = _mmengine_hub_file(name)
    if path is None:
        raise ImportError(
            f"{scheme} checkpoints: their URLs come from MMEngine's model-zoo list ({name}), and MMEngine is not "
            "installed. Fix: pip install mmengine-lite, or download the checkpoint and pass its local path."
        )
    with open(path, encoding="utf-8") as handle:
        urls = json.load(handle)
    return dict(urls)


def _mmengine_home() -> str:
    """MMEngine's cache directory (``$MMENGINE_HOME``, else ``$XDG_CACHE_HOME/mmengine``, else ``~/.cache/mmengine``)."""
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "mmengine")
    home = os.path.expanduser(os.getenv("MMENGINE_HOME", default))
    os.makedirs(home, exist_ok=True)
    return home


def get_torchvision_models() -> dict[str, str]:
    """Names to URLs for ``torchvision://``: MMEngine's list of torchvision 0.12 names, plus torchvision's weights.

    torchvision's own weight enums (``resnet50.imagenet1k_v1``,
    ``resnet50.default``) are added when torchvision imports.
    """
    urls = _read_model_zoo("torchvision_0.12.json", "torchvision://") if _mmengine_hub_file(
        "torchvision_0.12.json") else {}
    try:
        models = importlib.import_module("torchvision.models")
    except Exception:  # absent, or a wheel built for another torch
        if not urls:
            raise ImportError(
                "torchvision:// checkpoints need torchvision or MMEngine's model-zoo list. Fix: pip install "
                "torchvision (matching your torch) or mmengine-lite."
            ) from None
        return urls
    list_models = getattr(models, "list_models", None)
    weights = [models.get_model_weights(name) for name in list_models(models)] if list_models else [
        value for key, value in vars(models).items() if key.endswith("_Weights")]
    for enum in weights:
        if not hasattr(enum, "DEFAULT"):
            continue
        stem = enum.__name__.replace("_Weights", "").lower()
        urls[f"{stem}.default"] = enum.DEFAULT.url
        for member in enum:
            urls[f"{stem}.{member.name.lower()}"] = member.url
    return urls


def get_external_models() -> dict[str, str]:
    """Names to URLs for ``open-mmlab://``: MMEngine's list, updated from ``$MMENGINE_HOME/open_mmlab.json``."""
    urls = _read_model_zoo("openmmlab.json", "open-mmlab://")
    extra = os.path.join(_mmengine_home(), "open_mmlab.json")
    if os.path.exists(extra):
        with open(extra, encoding="utf-8") as handle:
            urls.update(json.load(handle))
    return urls


def get_mmcls_models() -> dict[str, str]:
    """Names to URLs for ``mmcls://`` (MMEngine's list)."""
    return _read_model_zoo("mmcls.json", "mmcls://")


def get_deprecated_model_names() -> dict[str, str]:
    """Deprecated ``open-mmlab://`` names and their replacements (MMEngine's list)."""
    return _read_model_zoo("deprecated.json", "open-mmlab://")


def _model_url(urls: Mapping[str, str], name: str, scheme: str) -> str:
    if name not in urls:
        from mmhooks.errors import closest

        near = closest(name, urls)
        fix = f"did you mean {scheme}{near}?" if near else "check the name in MMEngine's model-zoo list."
        raise ConfigError("checkpoint", f"{scheme}{name}", f"a model name known to {scheme}", fix)
    return urls[name]


@CheckpointLoader.register_scheme(prefixes=("modelzoo://", "torchvision://"))
def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """Load torchvision's pretrained weights by model name (``torchvision://resnet50``)."""
    if filename.startswith("modelzoo://"):
        print_log('The URL scheme of "modelzoo://" is deprecated, please use "torchvision://" instead',
                  logger="current", level=logging.WARNING)
        name = filename[len("modelzoo://"):]
    else:
        name = filename[len("torchvision://"):]
    return load_from_http(_model_url(get_torchvision_models(), name, "torchvision://"), map_location=map_location)


@CheckpointLoader.register_scheme(prefixes=("open-mmlab://", "openmmlab://"))
def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """Load an OpenMMLab model-zoo checkpoint by name (``open-mmlab://resnet50_v1c``); deprecated names warn."""
    scheme = "open-mmlab://" if filename.startswith("open-mmlab://") else "openmmlab://"
    name = filename[len(scheme):]
    deprecated = get_deprecated_model_names()
    if name in deprecated:
        print_log(f"{scheme}{name} is deprecated in favor of {scheme}{deprecated[name]}", logger="current",
                  level=logging.WARNING)
        name = deprecated[name]
    url = _model_url(get_external_models(), name, scheme)
    if url.startswith(("http://", "https://")):
        return load_from_http(url, map_location=map_location)
    return load_from_local(os.path.join(_mmengine_home(), url), map_location)


@CheckpointLoader.register_scheme(prefixes="mmcls://")
def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """Load an MMClassification checkpoint by name; its ``backbone.`` weights become the whole state dict."""
    url = _model_url(get_mmcls_models(), filename[len("mmcls://"):], "mmcls://")
    return _process_mmcls_checkpoint(load_from_http(url, map_location=map_location))


def _process_mmcls_checkpoint(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """Only the ``backbone.`` weights of a classifier, without the prefix, as ``{'state_dict': ...}``."""
    state_dict = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint
    backbone = OrderedDict((key[len("backbone."):], value) for key, value in state_dict.items()
                           if key.startswith("backbone."))
    return {"state_dict": backbone}


def _load_checkpoint(filename: str, map_location: Any = None, logger: Union[logging.Logger, str, None] = None) -> Any:
    """Load a checkpoint from a local path, a URL or a model-zoo name (through :class:`CheckpointLoader`)."""
    return CheckpointLoader.load_checkpoint(filename, map_location, logger)


def _load_checkpoint_with_prefix(prefix: str, filename: str, map_location: Any = None) -> dict[str, Any]:
    """The weights under ``prefix`` (a submodule name) of a checkpoint, with the prefix removed.

    Raises:
        ConfigError: No key of the checkpoint starts with ``prefix`` (also an ``AssertionError``, MMEngine's class).
    """
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    state_dict = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint
    stem = prefix if prefix.endswith(".") else f"{prefix}."
    selected = {key[len(stem):]: value for key, value in state_dict.items() if key.startswith(stem)}
    if not selected:
        roots = sorted({key.split(".", 1)[0] for key in state_dict})
        raise AssertedConfigError("prefix", prefix, f"a submodule name in {filename} ({', '.join(roots)})",
                          "pick one of those names.", "_load_checkpoint_with_prefix")
    return selected


# ----------------------------------------------------------------------------- state dicts
def _is_model_wrapper(model: object) -> bool:
    from mmhooks.model.wrappers import is_model_wrapper

    return bool(is_model_wrapper(model))


def _is_tta_model(model: object) -> bool:
    """A test-time-augmentation wrapper (MMEngine's ``BaseTTAModel`` or a class of that name): it holds ``module``."""
    return hasattr(model, "module") and any(cls.__name__ == "BaseTTAModel" for cls in type(model).__mro__)


def unwrap_model(model: nn.Module) -> nn.Module:
    """``model`` without its data-parallel wrappers (``DataParallel``, DDP, registered ``MODEL_WRAPPERS``)."""
    while _is_model_wrapper(model):
        model = model.module  # type: ignore[assignment]
    return model


def get_state_dict(
    module: nn.Module, destination: OrderedDict[str, Any] | None = None, prefix: str = "", keep_vars: bool = False
) -> OrderedDict[str, Any]:
    """``module.state_dict()`` with every data-parallel wrapper, also nested ones, left out of the keys.

    A model whose submodules are wrapped (``model.backbone = DataParallel(...)``)
    gets ``backbone.conv.weight``, not ``backbone.module.conv.weight``, as in
    MMEngine. Version metadata and state-dict hooks work as in
    :meth:`torch.nn.Module.state_dict`.
    """
    if _is_model_wrapper(module):
        module = module.module  # type: ignore[assignment]
    if destination is None:
        destination = OrderedDict()
        destination._metadata = OrderedDict()  # type: ignore[attr-defined]
    local_metadata = dict(version=module._version)
    metadata = getattr(destination, "_metadata", None)
    if metadata is not None:
        metadata[prefix[:-1]] = local_metadata
    for pre_hook in module._state_dict_pre_hooks.values():
        pre_hook(module, prefix, keep_vars)
    module._save_to_state_dict(destination, prefix, keep_vars)
    for name, child in module._modules.items():
        if child is not None:
            get_state_dict(child, destination, f"{prefix}{name}.", keep_vars=keep_vars)
    for hook in module._state_dict_hooks.values():
        result = hook(module, destination, prefix, local_metadata)
        if result is not None and not getattr(hook, "_from_public_api", False):
            destination = result
    return destination


def weights_to_cpu(state_dict: Mapping[str, Any]) -> OrderedDict[str, Any]:
    """A copy of ``state_dict`` with every tensor (also in nested containers) on the CPU; keeps ``_metadata``."""
    converted: OrderedDict[str, Any] = OrderedDict((key, to_cpu(value)) for key, value in state_dict.items())
    converted._metadata = getattr(state_dict, "_metadata", OrderedDict())  # type: ignore[attr-defined]
    return converted


def to_cpu(value: Any) -> Any:
    """``value`` with every tensor, also inside dicts, lists, tuples and namedtuples, moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, OrderedDict):
        return OrderedDict((key, to_cpu(item)) for key, item in value.items())
    if isinstance(value, dict):
        return {key: to_cpu(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # namedtuple
        return type(value)(*(to_cpu(item) for item in value))
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(item) for item in value)
    return value


def load_state_dict(
    module: nn.Module,
    state_dict: Mapping[str, Any],
    strict: bool = False,
    logger: logging.Logger | str | None = None,
    *,
    source: str | None = None,
) -> tuple[list[str], list[str]]:
    """Load ``state_dict`` into ``module`` and report, rather than fail on, keys that do not match.

    Missing, unexpected and shape-mismatched keys are collected as MMEngine
    does (``num_batches_tracked`` is never reported missing; wrappers nested
    inside the model are looked through). With ``strict=False`` they produce
    one warning on rank zero, through ``logger`` (a logger, or a name as
    :func:`~mmhooks.logging.print_log` takes) when given and
    :func:`warnings.warn` otherwise; with ``strict=True`` a ``RuntimeError``.
    ``source`` (a file name) starts the message.

    Returns:
        ``(missing_keys, unexpected_keys)``.
    """
    metadata = getattr(state_dict, "_metadata", None)
    local = OrderedDict(state_dict)
    if metadata is not None:
        local._metadata = metadata  # type: ignore[attr-defined]
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    _load_recursively(module, local, "", metadata, missing, unexpected, errors)
    missing = [key for key in missing if "num_batches_tracked" not in key]

    report = list(errors)
    if unexpected:
        report.append(f"unexpected key in source state_dict: {', '.join(unexpected)}\n")
    if missing:
        report.append(f"missing keys in source state_dict: {', '.join(missing)}\n")
    if report and get_rank() == 0:
        where = f"{source}: the" if source else "The"
        message = "\n".join([f"{where} model and loaded state dict do not match exactly\n", *report])
        if strict:
            raise RuntimeError(message)
        if logger is not None:
            print_log(message, logger=logger, level=logging.WARNING)
        else:
            warnings.warn(message, UserWarning, stacklevel=2)
    return missing, unexpected


def _load_recursively(
    module: nn.Module,
    state_dict: Mapping[str, Any],
    prefix: str,
    metadata: Mapping[str, Any] | None,
    missing: list[str],
    unexpected: list[str],
    errors: list[str],
) -> None:
    """Walk submodules like ``nn.Module.load_state_dict``, but look through wrappers nested inside the model."""
    if _is_model_wrapper(module) or _is_tta_model(module):
        module = module.module  # type: ignore[assignment]
    local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
    module._load_from_state_dict(
        state_dict, prefix, local_metadata, True, missing, unexpected, errors  # type: ignore[arg-type, unused-ignore]  # torch versions differ
    )
    for name, child in module._modules.items():
        if child is None:
            continue
        child_prefix = f"{prefix}{name}."
        child_state = {key: value for key, value in state_dict.items() if key.startswith(child_prefix)}
        _load_recursively(child, child_state, child_prefix, metadata, missing, unexpected, errors)
    incompatible = torch.nn.modules.module._IncompatibleKeys(missing, unexpected)
    for hook in module._load_state_dict_post_hooks.values():
        hook(module, incompatible)


def load_checkpoint_to_model(
    model: nn.Module,
    checkpoint: Mapping[str, Any],
    strict: bool = False,
    logger: logging.Logger | str | None = None,
    revise_keys: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS,
    *,
    source: str | None = None,
) -> Mapping[str, Any]:
    """Load ``checkpoint['state_dict']`` (or the checkpoint itself) into ``model`` after ``revise_keys``.

    Each ``(pattern, replacement)`` is applied with :func:`re.sub` to every
    key, in order; the default strips a leading ``module.``.
    """
    state_dict: Mapping[str, Any] = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint
    metadata = getattr(state_dict, "_metadata", OrderedDict())
    for pattern, replacement in revise_keys:
        state_dict = OrderedDict((re.sub(pattern, replacement, key), value) for key, value in state_dict.items())
    state_dict._metadata = metadata  # type: ignore[attr-defined]
    load_state_dict(model, state_dict, strict, logger, source=source)
    return checkpoint


_load_checkpoint_to_model = load_checkpoint_to_model  # MMEngine's private name, used by downstream code


def load_checkpoint(
    model: nn.Module,
    filename: str | os.PathLike[str],
    map_location: Any = None,
    strict: bool = False,
    logger: logging.Logger | str | None = None,
    revise_keys: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS,
    *,
    allow_unsafe: bool = False,
) -> dict[str, Any]:
    """Read a checkpoint (local path, URL or model-zoo name) and load its weights into ``model``.

    Args:
        model: The module to load into (wrappers are looked through).
        filename: Anything :class:`CheckpointLoader` dispatches: a path,
            ``https://...``, ``torchvision://resnet50``, ``open-mmlab://...``.
        map_location: As for :func:`torch.load`.
        strict: Raise on mismatched keys instead of warning.
        logger: Where the loading line and a mismatch warning go (see :func:`load_state_dict`).
        revise_keys: ``(pattern, replacement)`` pairs applied to every key.
        allow_unsafe: Allow full unpickling for a file that needs it (see :func:`load_checkpoint_file`).

    Returns:
        The checkpoint dict.

    Raises:
        CheckpointLoadError: The file holds no dict (see also :func:`load_checkpoint_file`).
    """
    path = os.fspath(filename)
    token = _ALLOW_UNSAFE.set(True) if allow_unsafe else None
    try:
        checkpoint = _load_checkpoint(path, map_location, logger)
    finally:
        if token is not None:
            _ALLOW_UNSAFE.reset(token)
    if not isinstance(checkpoint, dict):
        raise CheckpointLoadError(
            f"{path}: expected a dict with a 'state_dict' key, got {type(checkpoint).__name__}. Fix: save the "
            "model's state_dict (or a dict holding it) to this file."
        )
    load_checkpoint_to_model(model, checkpoint, strict, logger, revise_keys, source=path)
    return checkpoint
