"""DefaultSampler and InfiniteSampler yield MMEngine's indices for every rank."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mmhooks.dataset import DefaultSampler, InfiniteSampler

mmengine = pytest.importorskip("mmengine")
import mmengine.dataset.sampler as mm_sampler  # noqa: E402


def _mm(monkeypatch: pytest.MonkeyPatch, cls: type, rank: int, world_size: int, **kwargs: object) -> object:
    monkeypatch.setattr(mm_sampler, "get_dist_info", lambda: (rank, world_size))
    return cls(**kwargs)


@pytest.mark.parametrize("world_size", [1, 3], ids=lambda w: f"W={w}")
@pytest.mark.parametrize("length", [7, 9], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffle", "ordered"])
@pytest.mark.parametrize("round_up", [True, False], ids=["round_up", "no_round_up"])
@pytest.mark.parametrize("seed", [0, 42], ids=lambda s: f"seed={s}")
def test_default_sampler_matches_mmengine(monkeypatch: pytest.MonkeyPatch, world_size: int, length: int,
                                          shuffle: bool, round_up: bool, seed: int) -> None:
    dataset = list(range(length))
    for rank in range(world_size):
        ours = DefaultSampler(dataset, shuffle=shuffle, seed=seed, round_up=round_up, rank=rank, world_size=world_size)
        theirs = _mm(monkeypatch, mm_sampler.DefaultSampler, rank, world_size,
                     dataset=dataset, shuffle=shuffle, seed=seed, round_up=round_up)
        for epoch in (0, 1, 3):
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs)
            assert len(ours) == len(theirs)


@pytest.mark.parametrize("world_size", [1, 2, 4], ids=lambda w: f"W={w}")
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffle", "ordered"])
@pytest.mark.parametrize("seed", [1, 9], ids=lambda s: f"seed={s}")
def test_infinite_sampler_matches_mmengine(monkeypatch: pytest.MonkeyPatch, world_size: int, shuffle: bool,
                                           seed: int) -> None:
    dataset = list(range(5))
    for rank in range(world_size):
        ours = InfiniteSampler(dataset, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size)
        theirs = _mm(monkeypatch, mm_sampler.InfiniteSampler, rank, world_size, dataset=dataset, shuffle=shuffle,
                     seed=seed)
        stream = iter(theirs)  # MMEngine's loop iterates its sampler once for the whole run
        assert list(itertools.islice(ours, 23)) == list(itertools.islice(stream, 23))
        ours.set_epoch(5)
        theirs.set_epoch(5)
        # A second iteration (Lightning makes one per epoch) continues MMEngine's stream.
        assert list(itertools.islice(ours, 7)) == list(itertools.islice(stream, 7))
        assert len(ours) == len(theirs) == 5


def test_infinite_sampler_continues_across_dataloader_iterators(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each epoch's new DataLoader iterator continues the stream (it used to be empty after the first)."""
    from torch.utils.data import DataLoader

    dataset = list(range(10))
    ours = DataLoader(dataset, batch_size=4, sampler=InfiniteSampler(dataset, seed=3, rank=0, world_size=1))
    theirs = DataLoader(dataset, batch_size=4,
                        sampler=_mm(monkeypatch, mm_sampler.InfiniteSampler, 0, 1, dataset=dataset, seed=3))
    expected = [batch.tolist() for batch in itertools.islice(theirs, 4 * len(theirs))]
    seen = []
    for _ in range(4):
        seen.extend(batch.tolist() for batch in itertools.islice(ours, len(ours)))
    assert seen == expected


def test_rank_defaults_to_torch_distributed_state() -> None:
    sampler = DefaultSampler(list(range(4)), seed=0)
    assert (sampler.rank, sampler.world_size) == (0, 1)


@pytest.mark.parametrize("cls", [DefaultSampler, InfiniteSampler], ids=["default", "infinite"])
def test_missing_seed_is_drawn_like_mmengine(monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
    np.random.seed(123)
    ours = cls(list(range(4)), rank=0, world_size=1)
    np.random.seed(123)
    theirs = _mm(monkeypatch, getattr(mm_sampler, cls.__name__), 0, 1, dataset=list(range(4)))
    assert ours.seed == theirs.seed
