"""``HistoryBuffer``: the value history behind one logged scalar, with windowed statistics.

Logged numbers (loss, lr, time) are smoothed over windows when they are
printed, so the buffer keeps their history. Statistics return numpy scalars
with the dtype MMEngine's buffer would have (an integer history stays
integer until a float arrives), because the log text formats ints and
floats differently.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Union

import numpy as np

from mmhooks.errors import AssertedValueError

__all__ = ["HistoryBuffer"]

Number = Union[int, float]


class HistoryBuffer:
    """The history of one logged scalar (values and their counts).

    Appending is amortised O(1): values live in a numpy array with spare
    capacity, and the oldest ones are dropped once ``max_length`` is exceeded.

    Args:
        log_history: Initial values.
        count_history: The count of each initial value (how many samples it averages).
        max_length: How many of the latest values to keep.

    MMEngine parity:
        Pickling writes plain lists through :func:`_rebuild_history_buffer`. In a
        process that has imported MMEngine's logging package, unpickling builds
        MMEngine's ``HistoryBuffer`` instead, so a checkpoint written by mmhooks
        resumes MMEngine's message hub; :class:`~mmhooks.logging.MessageHub`
        accepts either kind when it loads.

    Example:
        >>> buffer = HistoryBuffer()
        >>> buffer.update(1.0); buffer.update(3.0)
        >>> float(buffer.mean()), float(buffer.max(1)), float(buffer.current())
        (2.0, 3.0, 3.0)
    """

    _statistics_methods: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init__(
        self, log_history: Sequence[Number] = (), count_history: Sequence[Number] = (), max_length: int = 1000000
    ) -> None:
        if len(log_history) != len(count_history):
            raise AssertedValueError(
                f"HistoryBuffer.count_history: got {len(count_history)} counts for {len(log_history)} values; "
                "expected one count per value. Fix: pass lists of equal length."
            )
        self.max_length = max_length
        logs = np.array(log_history)
        counts = np.array(count_history)
        if len(logs) > max_length:
            warnings.warn(
                f"HistoryBuffer: {len(logs)} values exceed max_length={max_length}; the oldest are dropped.",
                stacklevel=2,
            )
            logs, counts = logs[-max_length:], counts[-max_length:]
        self._set_arrays(logs, counts)

    def _set_arrays(self, logs: np.ndarray, counts: np.ndarray) -> None:
        """Store ``logs`` and ``counts`` (copied), choosing the storage that fits their shape.

        One-dimensional histories of equal length live in arrays with spare
        capacity. Anything else (an array-like history such as
        ``[[1, 2], [3, 4]]``) is kept exactly as given and grows the way
        ``np.append`` grows it, which flattens on the first update, as MMEngine's
        buffer does.
        """
        self._plain = logs.ndim != 1 or counts.ndim != 1 or len(logs) != len(counts)
        if self._plain:
            self._logs, self._counts = logs.copy(), counts.copy()
            self._start, self._end = 0, len(logs)
            return
        capacity = max(16, 2 * len(logs))
        self._logs = np.empty(capacity, dtype=logs.dtype)
        self._counts = np.empty(capacity, dtype=counts.dtype)
        self._start = 0
        self._end = len(logs)
        self._logs[: self._end] = logs
        self._counts[: self._end] = counts

    # ------------------------------------------------------------------ storage
    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, counts)`` as numpy arrays, oldest first (views: do not modify)."""
        if self._plain:
            return self._logs, self._counts
        return self._logs[self._start : self._end], self._counts[self._start : self._end]

    @property
    def _log_history(self) -> np.ndarray:
        """The values, oldest first (MMEngine's attribute name; read-only here)."""
        return self.data[0]

    @property
    def _count_history(self) -> np.ndarray:
        """The counts, oldest first (MMEngine's attribute name; read-only here)."""
        return self.data[1]

    def __len__(self) -> int:
        return len(self._logs) if self._plain else self._end - self._start

    def update(self, log_val: Number, count: Number = 1) -> None:
        """Append ``log_val`` with weight ``count``; the oldest value goes once ``max_length`` is passed."""
        if not isinstance(log_val, (int, float)) or not isinstance(count, (int, float)):
            raise TypeError(
                f"HistoryBuffer.update: got log_val={log_val!r} ({type(log_val).__name__}), count={count!r}; "
                "expected an int or float for both. Fix: convert tensors with .item() first."
            )
        if self._plain:
            self._append_plain(log_val, count)
            return
        end = self._end
        if end == len(self._logs):
            self._make_room()
            end = self._end
        logs, counts = self._logs, self._counts
        # Runs every iteration: the common dtypes are decided by identity, without numpy's type machinery.
        if logs.dtype is not _FLOAT64 and not (logs.dtype is _INT64 and type(log_val) is int):
            logs = self._logs = _widen(logs, log_val)
        if counts.dtype is not _INT64 or type(count) is not int:
            counts = self._counts = _widen(counts, count)
        logs[end] = log_val
        counts[end] = count
        end += 1
        self._end = end
        if end - self._start > self.max_length:
            self._start = end - self.max_length

    def _append_plain(self, log_val: Number, count: Number) -> None:
        """``np.append`` (which flattens) and trim; back to the fast storage once the history is 1-D."""
        logs = np.append(self._logs, log_val)[-self.max_length :]
        counts = np.append(self._counts, count)[-self.max_length :]
        self._set_arrays(logs, counts)

    def _make_room(self) -> None:
        size = self._end - self._start
        if size * 2 <= len(self._logs) and self._start > 0:  # compact in place: half the array is free
            self._logs[:size] = self._logs[self._start : self._end]
            self._counts[:size] = self._counts[self._start : self._end]
        else:
            logs = np.empty(2 * len(self._logs), dtype=self._logs.dtype)
            counts = np.empty(2 * len(self._counts), dtype=self._counts.dtype)
            logs[:size] = self._logs[self._start : self._end]
            counts[:size] = self._counts[self._start : self._end]
            self._logs, self._counts = logs, counts
        self._start, self._end = 0, size

    # --------------------------------------------------------------- statistics
    @classmethod
    def register_statistics(cls, method: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``method`` (named by its ``__name__``) for :meth:`statistics` and ``custom_cfg``."""
        name = method.__name__
        if name in cls._statistics_methods:
            raise KeyError(
                f"HistoryBuffer.register_statistics: got {name!r}; expected a name not registered yet "
                f"({sorted(cls._statistics_methods)}). Fix: rename the function."
            )
        cls._statistics_methods[name] = method
        return method

    def statistics(self, method_name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the statistic registered as ``method_name``."""
        method = self._statistics_methods.get(method_name)
        if method is None:
            raise KeyError(
                f"HistoryBuffer.statistics: got {method_name!r}; expected one of "
                f"{sorted(self._statistics_methods)}. Fix: register it with @HistoryBuffer.register_statistics."
            )
        return method(self, *args, **kwargs)

    def _window(self, window_size: int | None) -> tuple[np.ndarray, np.ndarray]:
        logs, counts = self.data
        if window_size is None:
            return logs, counts
        if not isinstance(window_size, int):
            raise TypeError(
                f"HistoryBuffer: got window_size={window_size!r}; expected an int or None. Fix: pass an int."
            )
        return logs[-window_size:], counts[-window_size:]

    def mean(self, window_size: int | None = None) -> Any:
        """Count-weighted mean of the last ``window_size`` values (all of them when None or larger)."""
        logs, counts = self._window(window_size)
        return logs.sum() / counts.sum()

    def max(self, window_size: int | None = None) -> Any:
        """Largest of the last ``window_size`` values."""
        return self._window(window_size)[0].max()

    def min(self, window_size: int | None = None) -> Any:
        """Smallest of the last ``window_size`` values."""
        return self._window(window_size)[0].min()

    def current(self) -> Any:
        """The latest value.

        Raises:
            ValueError: if nothing has been recorded.
        """
        logs = self.data[0]
        if len(logs) == 0:
            raise ValueError("HistoryBuffer.current: the buffer is empty. Fix: call update() first.")
        return logs[-1]

    # -------------------------------------------------------------- copy, pickle
    def __deepcopy__(self, memo: dict[int, Any]) -> HistoryBuffer:
        # Explicit, so that deepcopy never goes through __reduce__ (which may build MMEngine's class).
        logs, counts = self.data
        copied = type(self).__new__(type(self))
        copied.max_length = self.max_length
        copied._set_arrays(logs, counts)
        return copied

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[list[Any], list[Any], int]]:
        logs, counts = self.data
        return _rebuild_history_buffer, (logs.tolist(), counts.tolist(), self.max_length)

    def __repr__(self) -> str:
        return f"HistoryBuffer(len={len(self)}, max_length={self.max_length})"

    @classmethod
    def from_buffer(cls, buffer: Any) -> HistoryBuffer:
        """A copy of any buffer with ``.data`` and ``.max_length`` (MMEngine's ``HistoryBuffer`` included)."""
        if isinstance(buffer, cls):
            return buffer
        logs, counts = buffer.data
        copied = cls.__new__(cls)
        copied.max_length = int(getattr(buffer, "max_length", 1000000))
        copied._set_arrays(np.asarray(logs), np.asarray(counts))
        return copied


_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)


def _widen(array: np.ndarray, value: Number) -> np.ndarray:
    """``array`` with the dtype numpy gives when ``value`` is appended to it (int -> float)."""
    if array.dtype == np.float64 or (array.dtype == np.int64 and type(value) in (int, bool)):
        return array  # the common cases, decided without numpy's type machinery
    dtype = np.result_type(array.dtype, np.asarray(value).dtype)
    return array if dtype == array.dtype else array.astype(dtype)


def _rebuild_history_buffer(log_history: list[Any], count_history: list[Any], max_length: int) -> Any:
    """Unpickle a buffer: MMEngine's class in an MMEngine process, else mmhooks'."""
    mmengine_module = sys.modules.get("mmengine.logging.history_buffer")
    cls = getattr(mmengine_module, "HistoryBuffer", HistoryBuffer)
    return cls(log_history, count_history, max_length)


for _name in ("min", "max", "current", "mean"):
    HistoryBuffer._statistics_methods[_name] = getattr(HistoryBuffer, _name)
del _name


def numpy_safe_globals() -> list[Any]:
    """The numpy names a pickled array or scalar refers to (metric values in a message hub are often numpy)."""
    core = getattr(np, "_core", None) or np.core
    found: list[Any] = [np.ndarray, np.dtype, core.multiarray._reconstruct, core.multiarray.scalar]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        found.extend(
            value for value in vars(dtypes).values() if isinstance(value, type) and issubclass(value, np.dtype)
        )
    return found


def allow_in_weights_only_loads() -> None:
    """Allowlist what a message hub pickles, so that a plain ``torch.load`` reads mmhooks' checkpoints.

    ``torch.load`` defaults to ``weights_only=True`` from torch 2.6 on; it
    refuses any class or function it has not been told about. Importing this
    module (any process that builds a message hub, runs or resumes a run does)
    registers the buffer, its rebuild function and numpy's array and scalar
    constructors with :func:`torch.serialization.add_safe_globals`. The rebuild
    function only calls a ``HistoryBuffer`` constructor with lists.
    """
    try:
        from torch import serialization
    except ImportError:  # pragma: no cover - the logging package also works without torch
        return
    wanted = [HistoryBuffer, _rebuild_history_buffer, *numpy_safe_globals()]
    registered = serialization.get_safe_globals()
    missing = [item for item in wanted if item not in registered]
    if missing:
        serialization.add_safe_globals(missing)


allow_in_weights_only_loads()
