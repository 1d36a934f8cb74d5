"""Resume mid-epoch on the same data: skip the batches the interrupted epoch already used.

Lightning restores its counters from a checkpoint taken mid-epoch but starts
a fresh iterator over the dataloader, so it would train on the epoch's first
batches again. The Runner's train dataloader is wrapped so that its first
pass skips the batches already done; the sampler's epoch (and therefore the
shuffle order) is set as usual, so the remaining batches are exactly those
the uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader

__all__ = ["SkipFirstBatches", "skip_done_batches"]


class SkipFirstBatches:
    """A batch sampler that drops its first ``skip`` batches once, then behaves like ``batch_sampler``."""

    def __init__(self, batch_sampler: Any, skip: int) -> None:
        self.batch_sampler = batch_sampler
        self.skip = skip

    @property
    def sampler(self) -> Any:  # Lightning and DistSamplerSeedHook call sampler.set_epoch through this
        return getattr(self.batch_sampler, "sampler", None)

    def set_epoch(self, epoch: int) -> None:
        set_epoch = getattr(self.batch_sampler, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator[Any]:
        batches = iter(self.batch_sampler)
        skip, self.skip = self.skip, 0
        for _ in range(skip):  # indices only: no sample is loaded
            if next(batches, None) is None:
                return
        yield from batches


def skip_done_batches(loader: Any, done: int) -> Any:
    """``loader`` whose next pass starts after its first ``done`` batches (``loader`` itself if none)."""
    if done <= 0 or not isinstance(loader, DataLoader) or loader.batch_sampler is None:
        return loader
    options: dict[str, Any] = dict(
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        persistent_workers=loader.persistent_workers,
    )
    if loader.num_workers > 0:
        options["prefetch_factor"] = loader.prefetch_factor
    return DataLoader(loader.dataset, batch_sampler=SkipFirstBatches(loader.batch_sampler, done), **options)
