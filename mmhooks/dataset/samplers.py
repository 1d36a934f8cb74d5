"""MMEngine's rank-aware samplers: ``DefaultSampler`` (epochs) and ``InfiniteSampler`` (iterations).

Both yield the same indices as MMEngine for a given seed, epoch, rank and
world size, so a run can move between MMEngine and mmhooks (or resume across
them) and see the same data order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sized

import numpy as np
import torch
import torch.distributed as torch_dist
from torch.utils.data import Sampler

from mmhooks.dist import get_rank, get_world_size, is_distributed
from mmhooks.registry import DATA_SAMPLERS

__all__ = ["DefaultSampler", "InfiniteSampler", "sync_random_seed"]


def sync_random_seed() -> int:
    """A random seed drawn on rank zero and shared with every rank (so shuffles agree)."""
    seed = int(np.random.randint(2**31))
    if not is_distributed() or get_world_size() == 1:
        return seed
    shared = [seed]
    torch_dist.broadcast_object_list(shared, src=0)
    return int(shared[0])


def _rank_and_world_size(rank: int | None, world_size: int | None) -> tuple[int, int]:
    return (get_rank() if rank is None else rank, get_world_size() if world_size is None else world_size)


@DATA_SAMPLERS.register_module()
class DefaultSampler(Sampler[int]):
    """Each rank's share of a (shuffled) epoch, for epoch-based training and evaluation.

    Rank ``r`` of ``W`` takes every ``W``-th index from position ``r`` of one
    permutation seeded with ``seed + epoch``.

    Args:
        dataset: The dataset (only its length is used).
        shuffle: Permute the indices, differently in each epoch (see :meth:`set_epoch`).
        seed: Shuffle seed, equal on every rank; ``None`` draws one on rank zero and shares it.
        round_up: Repeat indices from the start so that every rank gets
            ``ceil(len(dataset) / W)`` of them; ``False`` neither adds nor drops any.
        rank: This process's rank; ``None`` reads it from ``torch.distributed``.
        world_size: Number of ranks; ``None`` reads it from ``torch.distributed``.

    MMEngine parity:
        ``rank`` and ``world_size`` are extra keyword arguments, so samplers can
        be built before the process group exists.

    Example:
        >>> list(DefaultSampler(range(5), shuffle=False, rank=1, world_size=2))
        [1, 3, 0]
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int | None = None, round_up: bool = True,
                 *, rank: int | None = None, world_size: int | None = None) -> None:
        self.rank, self.world_size = _rank_and_world_size(rank, world_size)
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.round_up = round_up
        if round_up:
            self.num_samples = math.ceil(len(dataset) / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((len(dataset) - self.rank) / self.world_size)
            self.total_size = len(dataset)

    def __iter__(self) -> Iterator[int]:
        size = len(self.dataset)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            indices = torch.randperm(size, generator=generator).tolist()
        else:
            indices = list(range(size))
        if self.round_up:
            indices = (indices * (self.total_size // size + 1))[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.world_size])

    def __len__(self) -> int:
        """Indices this rank yields per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch`` (called before each epoch by ``DistSamplerSeedHook``)."""
        self.epoch = epoch


@DATA_SAMPLERS.register_module()
class InfiniteSampler(Sampler[int]):
    """An endless index stream for iteration-based training.

    One generator seeded with ``seed`` yields permutation after permutation;
    rank ``r`` of ``W`` takes every ``W``-th index of that stream from position ``r``.
    The stream belongs to the sampler, not to an iterator: iterating the
    sampler again (a new ``DataLoader`` iterator, as Lightning makes at each of
    its epochs) continues where the previous iterator stopped, and closing an
    iterator leaves the stream open.

    Args:
        dataset: The dataset (only its length is used).
        shuffle: Permute each pass over the dataset.
        seed: Shuffle seed, equal on every rank; ``None`` draws one on rank zero and shares it.
        rank: This process's rank; ``None`` reads it from ``torch.distributed``.
        world_size: Number of ranks; ``None`` reads it from ``torch.distributed``.

    MMEngine parity:
        MMEngine's loop iterates the sampler once for the whole run, so its
        ``__iter__`` can hand out the stream itself, which Python closes with
        the first iterator; the second ``iter()`` is then empty. Here every
        ``iter()`` draws from the one stream, so the indices a run sees are
        MMEngine's however often the loader is iterated, as long as no iterator
        is discarded with indices it fetched but did not deliver (DataLoader
        workers prefetch; with ``num_workers=0`` nothing is lost).
        :meth:`set_epoch` does nothing, as in MMEngine.

    Example:
        >>> import itertools
        >>> sampler = InfiniteSampler(range(3), shuffle=False, rank=0, world_size=2)
        >>> list(itertools.islice(sampler, 4)), list(itertools.islice(sampler, 2))
        ([0, 2, 1, 0], [2, 1])
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int | None = None,
                 *, rank: int | None = None, world_size: int | None = None) -> None:
        self.rank, self.world_size = _rank_and_world_size(rank, world_size)
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.size = len(dataset)
        self.indices = self._indices_of_rank()

    def _infinite_indices(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            if self.shuffle:
                yield from torch.randperm(self.size, generator=generator).tolist()
            else:
                yield from range(self.size)

    def _indices_of_rank(self) -> Iterator[int]:
        yield from itertools.islice(self._infinite_indices(), self.rank, None, self.world_size)

    def __iter__(self) -> Iterator[int]:
        # ``next`` rather than ``yield from``: closing this iterator must not close the shared stream.
        stream = self.indices
        while True:
            yield next(stream)

    def __len__(self) -> int:
        """Length of the dataset (the stream itself never ends)."""
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """No effect, as in MMEngine: the stream does not restart or reshuffle by epoch."""
