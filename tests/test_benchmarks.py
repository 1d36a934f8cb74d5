"""The benchmark's method: slope and intercept recover known costs, and every job runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_overhead  # noqa: E402  (benchmarks/ is not a package)


def stamps(iters: int, per_iter: float, imports: float, build: float, fit_start: float, epoch_ends: float,
           exit_: float) -> dict[str, float]:
    """The stamps of a process whose every part takes the given time."""
    first = imports + build + fit_start
    trained = first + iters * per_iter + epoch_ends
    return {"imported": imports, "built": imports + build, "first": first, "trained": trained,
            "exited": trained + exit_}


def test_a_pair_of_runs_gives_back_the_per_iteration_cost_and_the_start_up():
    parts = dict(imports=1.5, build=0.4, fit_start=0.2, epoch_ends=0.05, exit_=0.9)
    fitted = bench_overhead.fit_pair(stamps(400, 6e-4, **parts), stamps(4000, 6e-4, **parts), (400, 4000))
    assert fitted["per_iter"] == pytest.approx(6e-4)
    assert fitted["process_slope"] == pytest.approx(6e-4)
    assert fitted["startup"] == pytest.approx(sum(parts.values()))
    assert (fitted["imports"], fitted["build"], fitted["fit_start"]) == pytest.approx((1.5, 0.4, 0.2))
    assert (fitted["fixed_in_run"], fitted["exit"]) == pytest.approx((0.05, 0.9))


def test_ratios_are_taken_round_by_round():
    results = {"a": [{"per_iter": 2.0}, {"per_iter": 3.0}], "b": [{"per_iter": 1.0}, {"per_iter": 2.0}]}
    assert bench_overhead.per_round_ratios(results, "a", "b", "per_iter") == [2.0, 1.5]
    assert bench_overhead.spread([2.0, 1.5, 1.8], 1, ".2f") == "1.80 [1.50-2.00]"


@pytest.mark.slow
def test_the_benchmark_runs_every_job(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_overhead.py"), "--quick", "--models", "mlp", "--rss-iters", "0",
         "--ablation-rounds", "0", "--quiet"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for job, label in bench_overhead.LABELS.items():
        if bench_overhead.available(job) is None:
            assert f"| {label} | " in done.stdout
    assert "MLP per iteration: mmhooks Runner (Lightning backend) / bare Lightning fit" in done.stdout
