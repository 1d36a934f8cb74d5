"""MMCV's ``IterLoader`` for the val phases of an ``IterBasedRunner`` workflow.

``[('train', n), ('val', m)]`` in an IterBasedRunner runs ``m`` val *iterations* per cycle, each from an
endless pass over the val loader that continues where the previous phase stopped (its ``epoch`` counts
the wrap-arounds, and the sampler's ``set_epoch`` is called at each, as in MMCV). Handed to Lightning as
the val loader, one validation run is exactly one such phase.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["PhaseLoader"]


class PhaseLoader:
    """``count`` batches per iteration over it, taken in turn from an endless cycle over ``loader``.

    Example:
        >>> phases = PhaseLoader([1, 2, 3], count=2)
        >>> [list(phases) for _ in range(3)], phases.epoch
        ([[1, 2], [3, 1], [2, 3]], 1)
    """

    def __init__(self, loader: Any, count: int) -> None:
        self.loader = loader
        self.count = count
        self.epoch = 0
        self._iterator: Iterator[Any] | None = None

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        for _ in range(self.count):
            yield self._next()

    def _next(self) -> Any:
        if self._iterator is None:
            self._iterator = iter(self.loader)
        try:
            return next(self._iterator)
        except StopIteration:
            self.epoch += 1
            set_epoch = getattr(getattr(self.loader, "sampler", None), "set_epoch", None)
            if callable(set_epoch):
                set_epoch(self.epoch)
            self._iterator = iter(self.loader)
            return next(self._iterator)
