"""Where the Runner's per-iteration time goes: the same job with parts switched off, in one process.

    python benchmarks/ablation.py                  # tiny MLP, 6 alternated rounds
    python benchmarks/ablation.py --rounds 10 --iters 3000

Every variant trains in this process, alternated round by round, and is timed
in CPU seconds over a window inside the first epoch (from the 50th forward pass
to the last one of the epoch: no start-up, no epoch end). Switching a part off
and comparing with the full job, in the same round, gives that part's cost
without the start-up noise of fresh processes. ``bench_overhead.py`` runs this
after its table.
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

SKIP = 50  # forward passes before the window opens (warm-up)

# (label, job, variant)
VARIANTS: list[tuple[str, str, str]] = [
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


def time_variant(job: str, variant: str, model: str, iters: int) -> float:
    """CPU seconds per iteration of one in-process run, over the window inside the first epoch."""
    last = iters // jobs.EPOCHS - 1  # the last forward pass of the first epoch
    window: dict[str, float] = {}

    def on_forward(count: int) -> None:
        if count == SKIP:
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
    return (window["end"] - window["start"]) / (last - SKIP)


def run(model: str, iters: int, rounds: int, log: Any = None) -> dict[int, list[float]]:
    """Per variant index, one time per round; the order of variants is reversed every other round."""
    times: dict[int, list[float]] = {index: [] for index in range(len(VARIANTS))}
    order = list(range(len(VARIANTS)))
    for round_index in range(rounds):
        for index in (order if round_index % 2 == 0 else order[::-1]):
            label, job, variant = VARIANTS[index]
            times[index].append(time_variant(job, variant, model, iters))
        if log is not None:
            log(f"  ablation round {round_index + 1}: " + " ".join(f"{times[i][-1] * 1e6:.0f}" for i in order))
    return times


def print_table(times: dict[int, list[float]], model: str, iters: int, rounds: int) -> None:
    print(f"\n| variant ({model}, in one process, CPU time, {rounds} rounds, window {SKIP}-{iters // jobs.EPOCHS - 1}) "
          "| per iteration (us): median [min-max] | / bare Lightning (per-round median) | / the full job |")
    print("|---|---|---|---|")
    bare = times[0]
    full = bare
    for index, (label, job, variant) in enumerate(VARIANTS):
        values = times[index]
        if not variant:
            full = values
        cells = [f"{statistics.median(values) * 1e6:.0f} [{min(values) * 1e6:.0f}-{max(values) * 1e6:.0f}]",
                 f"{statistics.median(a / b for a, b in zip(values, bare)):.3f}",
                 f"{statistics.median(a / b for a, b in zip(values, full)):.3f}" if variant else "-"]
        print(f"| {label} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    times = run(args.model, args.iters, args.rounds, log=lambda line: print(line, file=sys.stderr, flush=True))
    print_table(times, args.model, args.iters, args.rounds)


if __name__ == "__main__":
    main()
