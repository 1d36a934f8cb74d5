"""Per-iteration costs measured in one process, jobs alternated: parts switched off, and paired jobs.

    python benchmarks/ablation.py                          # tiny MLP: the Runner with parts switched off
    python benchmarks/ablation.py --set paired --model cnn # small CNN: MMEngine's Runner, mmhooks', Lightning
    python benchmarks/ablation.py --rounds 10 --iters 3000

Every variant trains in this process, alternated round by round, and is timed
in CPU seconds over a window inside the first epoch (from a few warm-up forward
passes to the last one of the epoch: no start-up, no epoch end). Runs of one
round are seconds apart, so their ratio is free of the load drift that
separates fresh processes; switching a part off and comparing with the full
job gives that part's cost. ``bench_overhead.py`` runs both sets after its
table. In the paired set MMEngine is imported into the same process, as it
is in every OpenMMLab user's process (mmhooks then hands out MMEngine-compatible
objects).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import jobs  # noqa: E402  (benchmarks/ is not a package)

# (label, job, variant); the first row is the reference of the ratios
ABLATION: list[tuple[str, str, str]] = [
    ("bare Lightning fit", "lightning", ""),
    ("mmhooks Runner", "mmhooks", ""),
    ("  without TensorBoard (no vis backend)", "mmhooks", "no_tensorboard"),
    ("  without logging (LoggerHook never logs)", "mmhooks", "no_logging"),
    ("  without hooks (only ParamSchedulerHook)", "mmhooks", "no_hooks"),
    ("Lightning + HookCallback", "hookcallback", ""),
    ("  without TensorBoard (no vis backend)", "hookcallback", "no_tensorboard"),
    ("  without logging (LoggerHook never logs)", "hookcallback", "no_logging"),
    ("  without hooks (only ParamSchedulerHook)", "hookcallback", "no_hooks"),
]
PAIRED: list[tuple[str, str, str]] = [
    ("MMEngine Runner", "mmengine", ""),
    ("mmhooks Runner", "mmhooks", ""),
    ("bare Lightning fit", "lightning", ""),
    ("raw PyTorch loop", "raw", ""),
]
SETS = {"ablation": ABLATION, "paired": PAIRED}


def warmup(iters: int) -> int:
    """Forward passes before the window opens."""
    return min(50, iters // 10)


def time_variant(job: str, variant: str, model: str, iters: int) -> float:
    """CPU seconds per iteration of one in-process run, over the window inside the first epoch."""
    last = iters // jobs.EPOCHS - 1  # the last forward pass of the first epoch
    skip = warmup(iters)
    window: dict[str, float] = {}

    def on_forward(count: int) -> None:
        if count == skip:
            window["start"] = time.process_time()
        elif count == last:
            window["end"] = time.process_time()

    jobs.VARIANT, jobs.ON_FORWARD, jobs.Stamped.forwards = variant, on_forward, 0
    work_dir = tempfile.mkdtemp(prefix="ablation-")
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            getattr(jobs, f"job_{job}")(model, iters, work_dir)
    finally:
        jobs.VARIANT, jobs.ON_FORWARD = "", None
        shutil.rmtree(work_dir, ignore_errors=True)
    return (window["end"] - window["start"]) / (last - skip)


def run(rows: list[tuple[str, str, str]], model: str, iters: int, rounds: int,
        log: Any = None) -> dict[int, list[float]]:
    """Per row index, one time per round; the order of rows is reversed every other round."""
    jobs.steady_allocator()  # as in every fresh job process
    times: dict[int, list[float]] = {index: [] for index in range(len(rows))}
    order = list(range(len(rows)))
    for round_index in range(rounds):
        for index in (order if round_index % 2 == 0 else order[::-1]):
            label, job, variant = rows[index]
            times[index].append(time_variant(job, variant, model, iters))
        if log is not None:
            log(f"  {model} round {round_index + 1}: " + " ".join(f"{times[i][-1] * 1e6:.0f}" for i in order))
    return times


def ratios(values: list[float], reference: list[float]) -> str:
    per_round = [a / b for a, b in zip(values, reference)]
    return f"{statistics.median(per_round):.3f} [{min(per_round):.3f}-{max(per_round):.3f}]"


def print_table(rows: list[tuple[str, str, str]], times: dict[int, list[float]], model: str, iters: int,
                rounds: int) -> None:
    reference = rows[0][0]
    print(f"\n| {model}: in one process, CPU time, {rounds} rounds, iterations {warmup(iters)}-{iters // jobs.EPOCHS - 1} "
          f"| per iteration (us): median [min-max] | / {reference}: per-round median [min-max] | / the full job |")
    print("|---|---|---|---|")
    full = times[0]
    for index, (label, job, variant) in enumerate(rows):
        values = times[index]
        if not variant:
            full = values
        cells = [f"{statistics.median(values) * 1e6:.0f} [{min(values) * 1e6:.0f}-{max(values) * 1e6:.0f}]",
                 ratios(values, times[0]) if index else "1", ratios(values, full) if variant else "-"]
        print(f"| {label} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="ablation")
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    rows = SETS[args.set]
    times = run(rows, args.model, args.iters, args.rounds, log=lambda line: print(line, file=sys.stderr, flush=True))
    print_table(rows, times, args.model, args.iters, args.rounds)


if __name__ == "__main__":
    main()
