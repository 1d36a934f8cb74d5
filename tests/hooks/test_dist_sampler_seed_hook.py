"""DistSamplerSeedHook: which objects get ``set_epoch``, compared with MMEngine's hook."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, SequentialSampler

from mmhooks.hooks import DistSamplerSeedHook
from mmhooks.testing import tiny_dataset
from mmhooks.testing import FakeRunner


class RecordingSampler(DistributedSampler):
    """A DistributedSampler that remembers every epoch it was given."""

    def __init__(self, dataset: Any) -> None:
        super().__init__(dataset, num_replicas=1, rank=0, shuffle=True, seed=0)
        self.calls: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.calls.append(epoch)
        super().set_epoch(epoch)


class EpochBatchSampler(BatchSampler):
    """A batch sampler that shuffles batches itself, so it needs the epoch too."""

    def __init__(self, sampler: Any) -> None:
        super().__init__(sampler, batch_size=4, drop_last=False)
        self.calls: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.calls.append(epoch)


class BucketBatchSampler:
    """A custom batch sampler with ``set_epoch`` but no ``.sampler`` attribute."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __iter__(self) -> Any:
        return iter([[0, 1], [2, 3]])

    def __len__(self) -> int:
        return 2

    def set_epoch(self, epoch: int) -> None:
        self.calls.append(epoch)


def _run_epochs(hook: Any, loader: Any, epochs: range) -> None:
    for epoch in epochs:
        hook.before_train_epoch(FakeRunner(train_dataloader=loader, epoch=epoch))


def _sampler_loader() -> tuple[DataLoader, RecordingSampler]:
    sampler = RecordingSampler(tiny_dataset(8))
    return DataLoader(tiny_dataset(8), batch_size=4, sampler=sampler), sampler


def _batch_sampler_loader() -> tuple[DataLoader, RecordingSampler]:
    sampler = RecordingSampler(tiny_dataset(8))
    return DataLoader(tiny_dataset(8), batch_sampler=BatchSampler(sampler, 4, False)), sampler


@pytest.mark.parametrize("make", [_sampler_loader, _batch_sampler_loader], ids=["sampler", "batch_sampler.sampler"])
def test_set_epoch_calls_match_mmengine(make: Any) -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")
    ours_loader, ours = make()
    theirs_loader, theirs = make()
    _run_epochs(DistSamplerSeedHook(), ours_loader, range(2, 5))
    _run_epochs(mmengine_hooks.DistSamplerSeedHook(), theirs_loader, range(2, 5))
    assert ours.calls == theirs.calls == [2, 3, 4]


def test_epoch_changes_the_shuffle_order() -> None:
    loader, sampler = _sampler_loader()
    orders = []
    for epoch in (0, 1):
        _run_epochs(DistSamplerSeedHook(), loader, range(epoch, epoch + 1))
        orders.append(list(sampler))
    generator = torch.Generator()
    expected = []
    for epoch in (0, 1):
        generator.manual_seed(0 + epoch)  # DistributedSampler seeds with seed + epoch
        expected.append(torch.randperm(8, generator=generator).tolist())
    assert orders == expected


def test_batch_sampler_with_set_epoch_and_its_sampler_are_both_told() -> None:
    inner = RecordingSampler(tiny_dataset(8))
    batch_sampler = EpochBatchSampler(inner)
    loader = DataLoader(tiny_dataset(8), batch_sampler=batch_sampler)
    _run_epochs(DistSamplerSeedHook(), loader, range(3))
    assert (batch_sampler.calls, inner.calls) == ([0, 1, 2], [0, 1, 2])


def test_custom_batch_sampler_without_inner_sampler() -> None:
    batch_sampler = BucketBatchSampler()
    loader = DataLoader(tiny_dataset(8), batch_sampler=batch_sampler)
    _run_epochs(DistSamplerSeedHook(), loader, range(2))
    assert batch_sampler.calls == [0, 1]


def test_sampler_shared_by_loader_and_batch_sampler_is_told_once() -> None:
    loader, sampler = _sampler_loader()  # loader.batch_sampler.sampler is the same object
    assert loader.batch_sampler.sampler is sampler
    _run_epochs(DistSamplerSeedHook(), loader, range(1))
    assert sampler.calls == [0]


def test_loader_without_epoch_aware_parts_is_left_alone() -> None:
    loader = DataLoader(tiny_dataset(8), batch_size=4)
    assert isinstance(loader.sampler, SequentialSampler)
    _run_epochs(DistSamplerSeedHook(), loader, range(1))
    _run_epochs(DistSamplerSeedHook(), [[1, 2]], range(1))  # any iterable, no sampler at all
    assert list(loader.sampler) == list(range(8))
