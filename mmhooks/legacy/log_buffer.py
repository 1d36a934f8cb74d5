"""MMCV's ``LogBuffer``: per-key value histories and their count-weighted averages for the loggers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

__all__ = ["LogBuffer"]


class LogBuffer:
    """Histories of logged scalars and the averages the loggers print.

    ``update(vars, count)`` appends each value with its weight; ``average(n)`` writes the
    ``count``-weighted mean of the last ``n`` entries (all when ``n == 0``) into ``output``.

    Example:
        >>> buf = LogBuffer()
        >>> buf.update({"loss": 1.0}, count=1); buf.update({"loss": 4.0}, count=3)
        >>> buf.average(); buf.output["loss"], buf.ready
        (3.25, True)
    """

    def __init__(self) -> None:
        self.val_history: OrderedDict[str, list[float]] = OrderedDict()
        self.n_history: OrderedDict[str, list[int]] = OrderedDict()
        self.output: OrderedDict[str, float] = OrderedDict()
        self.ready = False

    def clear(self) -> None:
        self.val_history.clear()
        self.n_history.clear()
        self.clear_output()

    def clear_output(self) -> None:
        self.output.clear()
        self.ready = False

    def update(self, vars: Mapping[str, float], count: int = 1) -> None:  # noqa: A002 - MMCV's name
        if not isinstance(vars, Mapping):
            raise TypeError(f"LogBuffer.update: got {type(vars).__name__}; expected a dict of scalars.")
        for key, value in vars.items():
            self.val_history.setdefault(key, []).append(float(value))
            self.n_history.setdefault(key, []).append(count)

    def average(self, n: int = 0) -> None:
        if n < 0:
            raise ValueError(f"LogBuffer.average.n: got {n!r}; expected an int >= 0. Fix: use 0 for all entries.")
        for key, values in self.val_history.items():
            counts = self.n_history[key]
            values, counts = (values[-n:], counts[-n:]) if n else (values, counts)
            total = sum(counts)
            self.output[key] = sum(v * c for v, c in zip(values, counts)) / total if total else 0.0
        self.ready = True
