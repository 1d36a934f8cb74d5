"""SyncBuffersHook: buffers averaged over two gloo ranks, compared with MMEngine's hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

try:  # imported here so that the forked workers inherit it
    import mmengine.hooks as mmengine_hooks
except ImportError:
    mmengine_hooks = None

from mmhooks.hooks import SyncBuffersHook
from mmhooks.testing import FakeRunner

WORLD_SIZE = 2


def _rank_model(rank: int) -> torch.nn.Module:
    """A BatchNorm whose buffers differ by rank: running_mean = rank + 1, num_batches_tracked = rank + 1."""
    model = torch.nn.BatchNorm1d(2)
    model.running_mean.fill_(rank + 1.0)
    model.running_var.fill_(2.0 * rank + 1.0)
    model.num_batches_tracked.fill_(rank + 1)
    return model


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: buffer.clone() for name, buffer in model.named_buffers()}


def _trace(hook: Any, rank: int) -> list[dict[str, torch.Tensor]]:
    """Buffers after: after_train_epoch, then before_val_epoch twice (rank-specific values reset each time)."""
    snapshots = []
    for stage in ("after_train_epoch", "before_val_epoch", "before_val_epoch"):
        model = _rank_model(rank)
        getattr(hook, stage)(FakeRunner(model=model))
        snapshots.append(_snapshot(model))
    return snapshots


def _worker(rank: int, store: str, out_dir: str) -> None:
    torch_dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD_SIZE)
    try:
        ours = _trace(SyncBuffersHook(), rank)
        theirs = None if mmengine_hooks is None else _trace(mmengine_hooks.SyncBuffersHook(), rank)
        torch.save({"ours": ours, "theirs": theirs}, Path(out_dir) / f"rank{rank}.pt")
    finally:
        torch_dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_rank_traces(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("sync_buffers")
    # fork: the workers inherit the imported torch and mmengine instead of importing them again.
    mp.start_processes(_worker, args=(str(tmp / "store"), str(tmp)), nprocs=WORLD_SIZE, start_method="fork")
    return [torch.load(tmp / f"rank{rank}.pt", weights_only=False) for rank in range(WORLD_SIZE)]


def test_matches_mmengine_on_two_ranks(two_rank_traces: list[dict[str, Any]]) -> None:
    pytest.importorskip("mmengine")
    for rank_trace in two_rank_traces:
        assert rank_trace["theirs"] is not None
        for ours, theirs in zip(rank_trace["ours"], rank_trace["theirs"], strict=True):
            for name in theirs:
                torch.testing.assert_close(ours[name], theirs[name], rtol=0, atol=0)


def test_averages_after_epoch_then_skips_the_next_val_only(two_rank_traces: list[dict[str, Any]]) -> None:
    mean = {"running_mean": 1.5, "running_var": 2.0, "num_batches_tracked": 1}  # int mean 1.5 truncates
    for rank, rank_trace in enumerate(two_rank_traces):
        after_epoch, first_val, second_val = rank_trace["ours"]
        own = _snapshot(_rank_model(rank))
        for name, value in mean.items():
            assert after_epoch[name].tolist() == torch.full_like(own[name], value).tolist()
            assert first_val[name].tolist() == own[name].tolist()  # already synced at the epoch end
            assert second_val[name].tolist() == after_epoch[name].tolist()


def test_single_process_is_a_no_op() -> None:
    hook = SyncBuffersHook()
    model = _rank_model(1)
    hook.after_train_epoch(FakeRunner(model=model))
    hook.before_val_epoch(FakeRunner(model=model))
    assert (hook.distributed, hook.called_in_train, model.running_mean.tolist()) == (False, False, [2.0, 2.0])
