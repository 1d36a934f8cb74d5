"""Visualization backends: where the visualizer's scalars, configs and images are written.

The experiment trackers (``WandbVisBackend``, ``MLflowVisBackend``, ...)
live in :mod:`mmhooks.visualization.tracker_backends` and are importable from
here too, as from MMEngine's module.

``LocalVisBackend`` writes MMEngine's files (``scalars.json`` with one JSON
object per line, ``config.py``, ``vis_image/*.png``) so MMEngine's log
analysis tools read mmhooks runs. ``TensorboardVisBackend`` writes event
files with ``torch.utils.tensorboard``. Both create their directory on first
use, so building a runner leaves no empty folders behind.
"""

from __future__ import annotations

import importlib
import json
import os
import struct
import warnings
import zlib
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from typing import Any, Optional

import numpy as np
import torch

from mmhooks.errors import AssertedTypeError, AssertedValueError
from mmhooks.registry import VISBACKENDS

__all__ = [
    "AimVisBackend",
    "BaseVisBackend",
    "CSVVisBackend",
    "ClearMLVisBackend",
    "CometVisBackend",
    "DVCLiveVisBackend",
    "LocalVisBackend",
    "MLflowVisBackend",
    "NeptuneVisBackend",
    "TensorboardVisBackend",
    "WandbVisBackend",
]


class BaseVisBackend(metaclass=ABCMeta):
    """A destination for the visualizer's data; unsupported kinds of data are ignored.

    Args:
        save_dir: Directory the backend writes to (created on first use).
    """

    def __init__(self, save_dir: Optional[str]) -> None:
        self._save_dir = save_dir
        self._env_initialized = False

    def _ensure_env(self) -> None:
        if not self._env_initialized:
            self._init_env()
            self._env_initialized = True

    @abstractmethod
    def _init_env(self) -> None:
        """Create the directory and writers (called once, on first use)."""

    @property
    @abstractmethod
    def experiment(self) -> Any:
        """The underlying writer (``self`` for the local backend)."""

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the run's config."""

    def add_graph(self, model: torch.nn.Module, data_batch: Any, **kwargs: Any) -> None:
        """Record the model graph."""

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Record an RGB ``uint8`` image of shape ``(H, W, 3)``."""

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar at ``step``."""

    def add_scalars(self, scalar_dict: dict[str, Any], step: int = 0, file_path: Optional[str] = None, **kwargs: Any) -> None:
        """Record several scalars at ``step``."""

    def close(self) -> None:
        """Flush and release files."""


def _json_default(value: Any) -> Any:
    """JSON for numpy values and sets, as MMEngine's json dump converts them."""
    if isinstance(value, (set, range)):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} cannot be written to scalars.json")


@VISBACKENDS.register_module()
class LocalVisBackend(BaseVisBackend):
    """Write scalars, the config and images to files under ``save_dir``.

    Args:
        save_dir: Directory of the files (``<log_dir>/vis_data`` in a run).
        img_save_dir: Sub-directory for images, written as ``{name}_{step}.png``.
        config_save_file: File name of the config dump (``.py``).
        scalar_save_file: File name of the scalar log (``.json``): one JSON object per
            ``add_scalars`` call, with ``"step"`` last.
    """

    def __init__(
        self,
        save_dir: str,
        img_save_dir: str = "vis_image",
        config_save_file: str = "config.py",
        scalar_save_file: str = "scalars.json",
    ) -> None:
        if not config_save_file.endswith(".py"):
            raise AssertedValueError(
                f"LocalVisBackend.config_save_file: got {config_save_file!r}; expected a name ending in '.py'. "
                "Fix: use e.g. 'config.py'."
            )
        if not scalar_save_file.endswith(".json"):
            raise AssertedValueError(
                f"LocalVisBackend.scalar_save_file: got {scalar_save_file!r}; expected a name ending in '.json'. "
                "Fix: use e.g. 'scalars.json'."
            )
        super().__init__(save_dir)
        self._img_save_dir = img_save_dir
        self._config_save_file = config_save_file
        self._scalar_save_file = scalar_save_file

    def _init_env(self) -> None:
        save_dir = str(self._save_dir)
        os.makedirs(save_dir, exist_ok=True)
        self._img_save_dir = os.path.join(save_dir, self._img_save_dir)
        self._config_save_file = os.path.join(save_dir, self._config_save_file)
        self._scalar_save_file = os.path.join(save_dir, self._scalar_save_file)

    @property
    def experiment(self) -> LocalVisBackend:
        self._ensure_env()
        return self

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Dump ``config`` to ``config.py`` (a ``Config`` through its ``dump``, a dict as assignments)."""
        self._ensure_env()
        if hasattr(config, "dump"):
            config.dump(self._config_save_file)
            return
        if not isinstance(config, Mapping):
            raise TypeError(
                f"LocalVisBackend.add_config: got {type(config).__name__}; expected a Config or a dict. "
                "Fix: pass runner.cfg."
            )
        with open(self._config_save_file, "w") as file:
            file.writelines(f"{key} = {value!r}\n" for key, value in config.items())

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Write ``image`` (RGB ``uint8``, ``(H, W, 3)``) as ``vis_image/{name}_{step}.png``."""
        self._ensure_env()
        if image.dtype != np.uint8:
            raise AssertedTypeError(
                f"LocalVisBackend.add_image({name!r}): got dtype {image.dtype}; expected uint8. "
                "Fix: convert with image.astype(np.uint8)."
            )
        os.makedirs(self._img_save_dir, exist_ok=True)
        with open(os.path.join(self._img_save_dir, f"{name}_{step}.png"), "wb") as file:
            file.write(_encode_png(image))

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Append ``{name: value, "step": step}`` to ``scalars.json``."""
        self._ensure_env()
        if isinstance(value, torch.Tensor):
            value = value.item()
        _append_line(_json_line({name: value, "step": step}), self._scalar_save_file)

    def add_scalars(
        self, scalar_dict: dict[str, Any], step: int = 0, file_path: Optional[str] = None, **kwargs: Any
    ) -> None:
        """Append ``scalar_dict`` plus ``"step"`` to ``scalars.json`` and, if given, to ``save_dir/file_path``."""
        self._ensure_env()
        if not isinstance(scalar_dict, Mapping):
            raise AssertedTypeError(
                f"LocalVisBackend.add_scalars: got {type(scalar_dict).__name__}; expected a dict. Fix: pass a dict."
            )
        record = dict(scalar_dict)
        record.setdefault("step", step)
        if file_path is not None:
            if not file_path.endswith(".json"):
                raise AssertedValueError(
                    f"LocalVisBackend.add_scalars.file_path: got {file_path!r}; expected a '.json' name. "
                    "Fix: use '<timestamp>.json'."
                )
            extra_path = os.path.join(str(self._save_dir), file_path)
            if extra_path == self._scalar_save_file:
                raise AssertedValueError(
                    f"LocalVisBackend.add_scalars.file_path: got {file_path!r}; expected a name other than the "
                    "scalar_save_file. Fix: pass another file name."
                )
            line = _json_line(record)  # serialised once for both files
            _append_line(line, extra_path)
            _append_line(line, self._scalar_save_file)
        else:
            _append_line(_json_line(record), self._scalar_save_file)



def _json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, default=_json_default) + "\n"


def _append_line(line: str, path: str) -> None:
    """One open and one write per record (``json.dump`` to a file writes piecewise)."""
    with open(path, "a") as file:
        file.write(line)


@VISBACKENDS.register_module()
class TensorboardVisBackend(BaseVisBackend):
    """Write TensorBoard event files under ``save_dir``.

    On its own it opens a ``torch.utils.tensorboard.SummaryWriter``. Bound to a
    Lightning ``TensorBoardLogger`` (:meth:`bind`: the user's own, or the one
    the Lightning backend builds for ``Trainer(logger=...)``), it writes
    through that logger's writer, so hooks' and Lightning's scalars share
    one run directory.

    Args:
        save_dir: Directory of the event files (``<log_dir>/vis_data`` in a run).
    """

    def __init__(self, save_dir: str) -> None:
        super().__init__(save_dir)
        self._tensorboard: Any = None
        self._tracker: Any = None

    def bind(self, tracker: Any) -> None:
        """Write through ``tracker`` (a ``TensorBoardLogger``: ``log_metrics`` and ``experiment``)."""
        if self._tensorboard is not None:
            raise RuntimeError(
                "TensorboardVisBackend.bind: the backend has opened its own event file already. "
                "Fix: bind the logger before the first add_* call."
            )
        self._tracker = tracker

    @property
    def is_bound(self) -> bool:
        return self._tracker is not None

    def _init_env(self) -> None:
        if self._tracker is not None:
            return  # the logger owns its directory and writer
        os.makedirs(str(self._save_dir), exist_ok=True)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:  # pragma: no cover - tensorboard is a dependency
            raise ImportError(
                "TensorboardVisBackend needs the 'tensorboard' package. Fix: pip install tensorboard."
            ) from err
        self._tensorboard = SummaryWriter(str(self._save_dir))

    @property
    def experiment(self) -> Any:
        """The ``SummaryWriter``."""
        self._ensure_env()
        return self._tracker.experiment if self._tracker is not None else self._tensorboard

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Write the config text under the ``config`` text tag."""
        text = getattr(config, "pretty_text", None)
        self.experiment.add_text("config", text if text is not None else repr(config))

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        self.experiment.add_image(name, image, step, dataformats="HWC")

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Write one scalar; values that are not numbers, arrays or tensors are skipped with a warning."""
        self._ensure_env()
        if isinstance(value, (int, float, torch.Tensor, np.ndarray, np.number)):
            if self._tracker is not None:
                self._tracker.log_metrics({name: value}, step)
            else:
                self._tensorboard.add_scalar(name, value, step)
        else:
            warnings.warn(
                f"TensorboardVisBackend.add_scalar({name!r}): got {type(value).__name__}; expected a number, "
                "array or tensor. It is skipped.",
                stacklevel=2,
            )

    def add_scalars(
        self, scalar_dict: dict[str, Any], step: int = 0, file_path: Optional[str] = None, **kwargs: Any
    ) -> None:
        """Write each item as its own scalar tag at ``step``."""
        if "step" in scalar_dict:
            raise AssertedValueError(
                "TensorboardVisBackend.add_scalars: got a 'step' key in scalar_dict; expected the step in the "
                "step argument. Fix: pass step=... instead."
            )
        for key, value in scalar_dict.items():
            self.add_scalar(key, value, step)

    def close(self) -> None:
        """Close the own writer; a bound logger is only flushed (its Trainer or owner closes it)."""
        if self._tracker is not None:
            if self._env_initialized:
                self._tracker.experiment.flush()
        elif self._tensorboard is not None:
            self._tensorboard.close()


def _encode_png(image: np.ndarray) -> bytes:
    """A PNG file of an ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` uint8 image (no imaging library needed)."""
    if image.ndim == 2:
        image = image[:, :, None]
    height, width, channels = image.shape
    colour_type = {1: 0, 3: 2, 4: 6}.get(channels)
    if colour_type is None:
        raise ValueError(
            f"LocalVisBackend.add_image: got {channels} channels; expected 1, 3 or 4. Fix: pass an RGB image."
        )
    rows = np.ascontiguousarray(image, dtype=np.uint8).reshape(height, width * channels)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on every row

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# MMEngine defines every backend in this module; the tracker backends live in their own
# module, which imports this one, so they are looked up on first access (PEP 562).
_TRACKER_BACKENDS = frozenset(
    ("AimVisBackend", "CSVVisBackend", "ClearMLVisBackend", "CometVisBackend", "DVCLiveVisBackend",
     "MLflowVisBackend", "NeptuneVisBackend", "WandbVisBackend")
)


def __getattr__(name: str) -> Any:
    if name in _TRACKER_BACKENDS:
        return getattr(importlib.import_module("mmhooks.visualization.tracker_backends"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
