"""Profile one benchmark job in this process: its per-iteration path or its start-up.

    python benchmarks/profile_runner.py mmhooks --what iter      # first forward -> end of training
    python benchmarks/profile_runner.py mmhooks --what startup   # process start -> first forward
    python benchmarks/profile_runner.py lightning --what iter --iters 3000 --model mlp

``iter`` prints, per iteration, the time of every function in mmhooks and the
adapters (cumulative), then the top functions by own time; ``startup`` prints
the cumulative view of construction and the imports that dominate it. cProfile
slows every Python call by a similar factor, so compare jobs with each other,
and read absolute times from ``bench_overhead.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job")
    parser.add_argument("--what", choices=["iter", "startup"], default="iter")
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--filter", default=r"mmhooks|adapters|jobs\.py", help="regex for the cumulative view")
    parser.add_argument("--out", help="also write the raw profile here (for snakeviz, pstats)")
    args = parser.parse_args()

    profiler = cProfile.Profile()
    if args.what == "startup":
        profiler.enable()
    import torch

    import jobs

    torch.set_num_threads(1)
    if args.what == "iter":
        jobs.ON_STAMP["first"] = profiler.enable
        jobs.ON_STAMP["trained"] = profiler.disable
    else:
        jobs.ON_STAMP["first"] = profiler.disable
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # the runners' log lines
        getattr(jobs, f"job_{args.job}")(args.model, args.iters, tempfile.mkdtemp(prefix="profile-"))
    profiler.disable()
    if args.out:
        profiler.dump_stats(args.out)
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    if args.what == "iter":
        print(f"# {args.job}: per-iteration path ({args.iters} iterations); times are totals, divide by iterations")
    else:
        print(f"# {args.job}: start-up (process start to the first forward pass)")
    stats.sort_stats("cumulative").print_stats(args.filter, args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(stream.getvalue())


if __name__ == "__main__":
    main()
