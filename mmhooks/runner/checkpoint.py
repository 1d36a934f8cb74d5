"""Checkpoint files: crash-safe writes, ``weights_only`` reads and MMEngine's state-dict loading.

The file layout is MMEngine's (``meta``, ``state_dict``, ``message_hub``,
``optimizer``, ``param_schedulers``, plus keys added by hooks), so a checkpoint
written here loads in MMEngine and the other way round.

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
      0.10.7 cannot read its own files on torch >= 2.6.
    * :func:`write_last_checkpoint` always writes an absolute path; MMEngine
      writes ``join(out_dir, filename)``, which is relative for a relative
      ``work_dir``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import re
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

import torch
from torch import nn

from mmhooks.dist import get_rank

__all__ = [
    "ALLOW_UNSAFE_ENV",
    "CheckpointLoadError",
    "UnsafeCheckpointError",
    "atomic_save",
    "atomic_write_text",
    "find_latest_checkpoint",
    "get_state_dict",
    "load_checkpoint",
    "load_checkpoint_file",
    "load_checkpoint_to_model",
    "load_state_dict",
    "register_safe_globals",
    "to_cpu",
    "unwrap_model",
    "weights_to_cpu",
    "write_last_checkpoint",
]

log = logging.getLogger(__name__)

ALLOW_UNSAFE_ENV = "MMHOOKS_ALLOW_UNSAFE_LOAD"
LAST_CHECKPOINT_FILE = "last_checkpoint"
DEFAULT_REVISE_KEYS: tuple[tuple[str, str], ...] = ((r"^module\.", ""),)


class CheckpointLoadError(RuntimeError):
    """A checkpoint file exists but cannot be read (truncated, corrupt, or not written by ``torch.save``)."""


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


def write_last_checkpoint(work_dir: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    """Record ``path`` (made absolute) in ``work_dir/last_checkpoint``, with no trailing newline.

    Returns the path written into the file.
    """
    absolute = os.path.abspath(os.fspath(path))
    atomic_write_text(os.path.join(os.fspath(work_dir), LAST_CHECKPOINT_FILE), absolute)
    return absolute


def find_latest_checkpoint(work_dir: str | os.PathLike[str]) -> str | None:
    """The path stored in ``work_dir/last_checkpoint`` (stripped), or ``None`` when there is no such file.

    Like MMEngine, the stored path is returned even if that checkpoint no
    longer exists; loading it then names the missing file.
    """
    record = os.path.join(os.fspath(work_dir), LAST_CHECKPOINT_FILE)
    if not os.path.exists(record):
        log.info("No %s in %s: there is no checkpoint to resume from.", LAST_CHECKPOINT_FILE, work_dir)
        return None
    with open(record, encoding="utf-8") as handle:
        return handle.read().strip()


# ----------------------------------------------------------------------------- reading
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


def _numpy_safe_globals() -> list[Any]:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - torch ships with numpy in practice
        return []
    core = getattr(np, "_core", None) or np.core
    found: list[Any] = [np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        found.extend(
            value for value in vars(dtypes).values() if isinstance(value, type) and issubclass(value, np.dtype)
        )
    return found


# What mmhooks' message hub pickles: the buffer class and its rebuild function (which takes plain lists).
_MMHOOKS_PICKLED = (
    ("mmhooks.logging.history_buffer", "HistoryBuffer"),
    ("mmhooks.logging.history_buffer", "_rebuild_history_buffer"),
    ("mmhooks.logging.message_hub", "MessageHub"),
)


def _mmhooks_safe_globals() -> list[Any]:
    """The objects of :mod:`mmhooks.logging` that a message-hub state dict may reference."""
    found: list[Any] = []
    for module_name, attr in _MMHOOKS_PICKLED:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        value = getattr(module, attr, None)
        if value is not None:
            found.append(value)
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
    missing = [g for g in _numpy_safe_globals() + _mmhooks_safe_globals() if g not in registered]
    if missing:
        torch.serialization.add_safe_globals(missing)


def _unsafe_allowed(allow_unsafe: bool) -> bool:
    return allow_unsafe or os.environ.get(ALLOW_UNSAFE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _rejected_globals(path: str, err: BaseException) -> str | None:
    """What the ``weights_only`` unpickler refused, or ``None`` when ``err`` is not such a refusal."""
    message = str(err)
    if not isinstance(err, pickle.UnpicklingError) or "Weights only load failed" not in message:
        return None
    try:
        with torch.serialization.safe_globals(_mmengine_safe_globals()):
            names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
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
        CheckpointLoadError: The file is truncated, corrupt or not a ``torch.save`` file.
    """
    filename = os.fspath(path)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"{filename}: checkpoint file not found. Fix: check the path (or last_checkpoint).")
    _ensure_safe_globals()
    try:
        with torch.serialization.safe_globals(_mmengine_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for damaged files
        rejected = _rejected_globals(filename, err)
        if rejected is None:
            raise CheckpointLoadError(
                f"{filename}: cannot read this checkpoint ({type(err).__name__}: {_first_line(err)}); the file "
                "is truncated, corrupt, or was not written by torch.save. Fix: re-copy or re-create it, or "
                "resume from an earlier checkpoint."
            ) from err
        if not _unsafe_allowed(allow_unsafe):
            raise UnsafeCheckpointError(
                f"{filename}: this checkpoint cannot be loaded with torch.load(weights_only=True) because it "
                f"pickles {rejected}; loading it fully can run arbitrary code. Fix: if you trust the file, pass "
                f"allow_unsafe=True or set the environment variable {ALLOW_UNSAFE_ENV}=1."
            ) from err
    log.warning("%s: loading with full unpickling (weights_only=False), as allowed.", filename)
    try:
        return torch.load(filename, map_location=map_location, weights_only=False)
    except Exception as err:
        raise CheckpointLoadError(
            f"{filename}: cannot read this checkpoint ({type(err).__name__}: {_first_line(err)}). Fix: check "
            "that the classes it pickles can be imported, or re-create the file."
        ) from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else repr(err)


# ----------------------------------------------------------------------------- state dicts
def _is_model_wrapper(model: object) -> bool:
    try:
        from mmhooks.model.wrappers import is_model_wrapper
    except ModuleNotFoundError as err:
        if err.name != "mmhooks.model.wrappers":
            raise
    else:
        return bool(is_model_wrapper(model))
    from mmhooks.registry import MODEL_WRAPPERS

    wrappers = [value for value in MODEL_WRAPPERS.module_dict.values() if isinstance(value, type)]
    known = (nn.DataParallel, nn.parallel.DistributedDataParallel, *wrappers)
    return isinstance(model, known)


def unwrap_model(model: nn.Module) -> nn.Module:
    """``model`` without its data-parallel wrappers (``DataParallel``, DDP, registered ``MODEL_WRAPPERS``)."""
    while _is_model_wrapper(model):
        model = model.module  # type: ignore[assignment]
    return model


def get_state_dict(model: nn.Module) -> OrderedDict[str, Any]:
    """The state dict of the unwrapped ``model``, so its keys carry no ``module.`` prefix."""
    return unwrap_model(model).state_dict()  # type: ignore[return-value]


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
    logger: logging.Logger | Any | None = None,
    *,
    source: str | None = None,
) -> tuple[list[str], list[str]]:
    """Load ``state_dict`` into ``module`` and report, rather than fail on, keys that do not match.

    Missing, unexpected and shape-mismatched keys are collected as MMEngine
    does (``num_batches_tracked`` is never reported missing). With
    ``strict=False`` they produce one warning on rank zero, through ``logger``
    when given and :func:`warnings.warn` otherwise; with ``strict=True`` a
    ``RuntimeError``. ``source`` (a file name) starts the message.

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
    _load_recursively(unwrap_model(module), local, "", metadata, missing, unexpected, errors)
    missing = [key for key in missing if "num_batches_tracked" not in key]

    report = list(errors)
    if unexpected:
        report.append(f"unexpected key in source state_dict: {', '.join(unexpected)}\n")
    if missing:
        report.append(f"missing keys in source state_dict: {', '.join(missing)}\n")
    if report and get_rank() == 0:
        where = f"{source}: " if source else ""
        message = "\n".join([f"{where}the model and loaded state dict do not match exactly\n", *report])
        if strict:
            raise RuntimeError(message)
        if logger is not None:
            logger.warning(message)
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
    """Walk submodules like ``nn.Module.load_state_dict``, but unwrap wrappers nested inside the model."""
    module = unwrap_model(module)
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
    logger: logging.Logger | Any | None = None,
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


def load_checkpoint(
    model: nn.Module,
    filename: str | os.PathLike[str],
    map_location: Any = "cpu",
    strict: bool = False,
    logger: logging.Logger | Any | None = None,
    revise_keys: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS,
    *,
    allow_unsafe: bool = False,
) -> dict[str, Any]:
    """Read ``filename`` and load its weights into ``model``; returns the checkpoint dict.

    Raises:
        CheckpointLoadError: The file holds no dict (see also :func:`load_checkpoint_file`).
    """
    path = os.fspath(filename)
    checkpoint = load_checkpoint_file(path, map_location, allow_unsafe=allow_unsafe)
    if not isinstance(checkpoint, dict):
        raise CheckpointLoadError(
            f"{path}: expected a dict with a 'state_dict' key, got {type(checkpoint).__name__}. Fix: save the "
            "model's state_dict (or a dict holding it) to this file."
        )
    load_checkpoint_to_model(model, checkpoint, strict, logger, revise_keys, source=path)
    return checkpoint
