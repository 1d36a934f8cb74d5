"""DDP on two CPU processes (gloo), on the Trainer's and on Fabric's ddp strategy: rank-zero files, synced buffers,
sharded data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from backends import BACKENDS, backend  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow  # subprocesses: deselect with -m 'not slow'

JOB = os.path.join(os.path.dirname(__file__), "..", "support", "ddp_job.py")


def launch(root, backend, *flags):
    work_dir, out_dir = root / "work", root / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, JOB, str(work_dir), str(out_dir), f"--backend={backend}", *flags],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir, [json.load(open(out_dir / f"rank{r}.json")) for r in (0, 1)]


@pytest.fixture(scope="module", params=BACKENDS)
def ddp_run(request, tmp_path_factory):
    return launch(tmp_path_factory.mktemp(f"ddp_{request.param}"), request.param)


def test_rank_and_world_size_from_before_run(ddp_run):
    _, ranks = ddp_run
    assert [(r["rank"], r["world_size"], r["distributed"]) for r in ranks] == [(0, 2, True), (1, 2, True)]


def test_ranks_agree_on_timestamp_and_work_dir(ddp_run):
    _, ranks = ddp_run
    assert ranks[0]["timestamp"] == ranks[1]["timestamp"]
    assert ranks[0]["work_dir"] == ranks[1]["work_dir"]


def test_files_written_once_by_rank_zero(ddp_run):
    work_dir, ranks = ddp_run
    assert sorted(os.listdir(work_dir)) == sorted(["epoch_1.pth", "epoch_2.pth", "last_checkpoint",
                                                   ranks[0]["timestamp"], f"{ranks[0]['timestamp']}.py"])
    log_dir = work_dir / ranks[0]["timestamp"]
    assert sorted(os.listdir(log_dir)) == [f"{ranks[0]['timestamp']}.log", "vis_data"]
    lines = open(log_dir / f"{ranks[0]['timestamp']}.log").read().splitlines()
    train_lines = [line for line in lines if "Epoch(train) [1][2/4]" in line]
    assert len(train_lines) == 1  # one writer, not one per rank


def test_each_rank_sees_its_own_shard_every_epoch(ddp_run):
    _, ranks = ddp_run
    per_epoch = 12  # 24 samples / 2 ranks
    for epoch in range(2):
        shards = [set(r["seen"][epoch * per_epoch:(epoch + 1) * per_epoch]) for r in ranks]
        assert shards[0].isdisjoint(shards[1])
        assert shards[0] | shards[1] == set(range(24))
    assert ranks[0]["seen"][:per_epoch] != ranks[0]["seen"][per_epoch:]  # DistSamplerSeedHook reshuffles


def test_metrics_collected_across_ranks(ddp_run):
    _, ranks = ddp_run
    assert [m["count"] for m in ranks[0]["metrics"]] == [24.0, 24.0]
    assert ranks[0]["metrics"] == ranks[1]["metrics"]


def test_buffers_and_weights_equal_across_ranks(ddp_run):
    _, ranks = ddp_run
    assert ranks[0]["bn_mean"] == ranks[1]["bn_mean"]
    assert ranks[0]["bn_var"] == ranks[1]["bn_var"]
    assert ranks[0]["weight"] == ranks[1]["weight"]


def test_without_sync_buffers_hook_buffers_drift(tmp_path, backend):
    """The control for the test above: DDP does not broadcast buffers (as MMEngine wraps models)."""
    _, ranks = launch(tmp_path, backend, "--no-sync-buffers")
    assert ranks[0]["bn_mean"] != ranks[1]["bn_mean"]
    assert ranks[0]["weight"] == ranks[1]["weight"]


FLAG_SETS = {
    "accumulate": (("--accumulate",), ["Toy", "OptimWrapper", 3]),
    "accumulate-own-train-step": (("--accumulate", "--own-train-step"), ["OwnStep", "OptimWrapper", 3]),
    "accumulate-amp-bf16": (("--accumulate", "--amp"), ["Toy", "AmpOptimWrapper", 3]),
}


@pytest.mark.parametrize("flags, setup", list(FLAG_SETS.values()), ids=list(FLAG_SETS))
def test_both_backends_train_alike_with_accumulation_amp_and_a_models_own_train_step(tmp_path, flags, setup):
    """Accumulation windows (no all-reduce inside, one at the window's end, a last window cut by the epoch's
    end), a model's own train_step inside DDP's forward, bf16 autocast with clipping: the Trainer's DDP and
    Fabric's DDP agree, and every rank ends with the same weights."""
    for name in BACKENDS:
        (tmp_path / name).mkdir()
    results = {name: launch(tmp_path / name, name, *flags)[1] for name in BACKENDS}
    for name, ranks in results.items():
        assert ranks[0]["weight"] == ranks[1]["weight"], name
        assert ranks[0]["setup"] == setup, name  # the flags reached the run
    lightning, fabric = results["lightning"][0], results["fabric"][0]
    assert fabric["weight"] == pytest.approx(lightning["weight"], abs=1e-6)
    assert fabric["bn_mean"] == pytest.approx(lightning["bn_mean"], abs=1e-6)


def test_a_stop_requested_on_one_rank_stops_every_rank(tmp_path, backend):
    work_dir, ranks = launch(tmp_path, backend, "--stop-on-rank-zero")
    assert [len(r["seen"]) for r in ranks] == [12, 12]  # one epoch of 12 samples each, then both stopped
    assert [len(r["metrics"]) for r in ranks] == [1, 1]
    assert "epoch_2.pth" not in os.listdir(work_dir)
