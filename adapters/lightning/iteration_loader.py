"""An iteration-based run's train data for Lightning: epochs cut from the loop's one iterator.

MMEngine's ``IterBasedTrainLoop`` keeps one iterator over the train
dataloader for the whole run (restarting a finite sampler with the next
epoch number), while Lightning asks for a new iterator every epoch. A new
iterator per epoch restarts an ``InfiniteSampler``'s stream and, with
workers, drops the indices they had prefetched. :class:`IterationEpochs`
hands Lightning ``len(loader)`` batches at a time from the core loop's
iterator instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["IterationEpochs"]


class IterationEpochs:
    """Looks like the train dataloader to Lightning; iterating yields the next ``len(loader)`` batches.

    Args:
        loader: The run's train dataloader (its attributes stay visible: ``dataset``, ``sampler``...).
        iterator: The loop's run-long iterator (:meth:`IterBasedTrainLoop.prepare`).
    """

    def __init__(self, loader: Any, iterator: Iterator[Any]) -> None:
        self.loader = loader
        self.iterator = iterator

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:
        if name in ("loader", "iterator"):  # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __iter__(self) -> Iterator[Any]:
        for _ in range(len(self.loader)):
            yield next(self.iterator)
