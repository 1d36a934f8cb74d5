"""The Runner's cost per iteration and at start-up, against bare Lightning, a raw loop and MMEngine's Runner.

    python benchmarks/bench_overhead.py                    # the README tables (about 25 minutes on 2 cores)
    python benchmarks/bench_overhead.py --rounds 5         # more rounds, tighter medians
    python benchmarks/bench_overhead.py --quick            # a smoke run: short runs, one round
    python benchmarks/bench_overhead.py --models mlp --jobs lightning,mmhooks

Method. Every job (see ``benchmarks/jobs.py``) runs in a fresh Python process, so
imports count, at two lengths (a short and a long run of the same two epochs).
Per-iteration cost is the slope between them of the training window (first
forward pass to the end of training: every hook, callback, scheduler step,
log line and TensorBoard write of every iteration). Start-up is the intercept:
the whole process (spawn to exit) minus slope x iterations, i.e. imports,
config handling, hook and Trainer construction, dumps, TensorBoard writer,
the two end-of-epoch checkpoints and the exit. Jobs run alternated (rotated
each round, short and long swapped each round); the table gives medians over
rounds with the [min - max] spread, and each ratio is the median of the
per-round ratios (jobs of one round ran minutes apart on the same load).

Then ``ablation.py`` (the same MLP job with TensorBoard, logging or hooks
switched off, in one process) shows where the per-iteration time goes; and
peak RSS over a 20k-iteration fit, ``mmhooks --help`` start-up, and
HookCallback's own dispatch cost timed in-process.

This is a benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import ablation  # noqa: E402  (benchmarks/ is not a package)
import jobs  # noqa: E402

LABELS = {
    "raw": "raw PyTorch loop",
    "lightning": "bare Lightning fit (no logging, no callbacks)",
    "lightning_barebones": "bare Lightning, Trainer(barebones=True)",
    "hookcallback": "Lightning + HookCallback (MMEngine's default stack)",
    "mmhooks": "mmhooks Runner (Lightning backend)",
    "mmengine": "MMEngine Runner (mmengine-lite 0.10.7)",
    "mmhooks_fabric": "mmhooks Runner, backend='fabric'",
}
MODELS = {"mlp": "tiny MLP 32-64-4", "cnn": "small CNN on 3x32x32 (16-32-64 channels)"}
LENGTHS = {"mlp": (400, 4000), "cnn": (60, 360)}
QUICK_LENGTHS = {"mlp": (40, 200), "cnn": (10, 30)}

# (numerator job, denominator job, model, "per_iter" or "startup", target or None)
RATIOS: list[tuple[str, str, str, str, float | None]] = [
    ("mmhooks", "lightning", "mlp", "per_iter", 1.05),
    ("mmhooks", "mmengine", "mlp", "startup", 1.00),
    ("hookcallback", "lightning", "mlp", "per_iter", 1.03),
    ("mmhooks", "mmengine", "cnn", "per_iter", 1.02),
    ("lightning", "mmengine", "mlp", "per_iter", None),
    ("lightning_barebones", "lightning", "mlp", "per_iter", None),
    ("mmhooks", "mmengine", "mlp", "per_iter", None),
    ("mmhooks", "lightning", "cnn", "per_iter", None),
    ("mmhooks_fabric", "mmengine", "mlp", "per_iter", None),
    ("mmhooks_fabric", "mmengine", "mlp", "startup", None),
    ("mmhooks_fabric", "mmengine", "cnn", "per_iter", None),
]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def available(job: str) -> str | None:
    """None when the job can run here, else why not."""
    if job == "mmengine" and importlib.util.find_spec("mmengine") is None:
        return "mmengine is not installed"
    if job == "mmhooks_fabric":
        try:
            found = importlib.util.find_spec("mmhooks.adapters.fabric")
        except ModuleNotFoundError:
            found = None
        if found is None:
            return "skipped: mmhooks.adapters.fabric is not importable here (the fabric backend is not merged yet)"
    return None


# ----------------------------------------------------------------------------- one run
CLOCKS = ("cpu", "wall")
CLOCK_NAMES = {"cpu": "CPU time of the job's process (user + system)", "wall": "wall clock"}


def run_job(job: str, model: str, iters: int) -> dict[str, dict[str, float]]:
    """Run one job in a fresh process; per clock, its stamps in seconds since the spawn, plus ``exited``."""
    work_dir = tempfile.mkdtemp(prefix=f"bench-{job}-")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore",
               PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    try:
        with tempfile.TemporaryFile("w+") as errors:
            start = time.time()
            child = subprocess.Popen([sys.executable, os.path.join(HERE, "jobs.py"), job, model, str(iters), work_dir],
                                     env=env, stdout=subprocess.DEVNULL, stderr=errors, text=True, cwd=work_dir)
            _, status, usage = os.wait4(child.pid, 0)
            exited = time.time()
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                errors.seek(0)
                raise RuntimeError(f"{job} {model} {iters}: exit {child.returncode}\n{errors.read()[-3000:]}")
        with open(os.path.join(work_dir, "bench_result.json")) as file:
            raw = json.load(file)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    wall = {key: value[0] - start for key, value in raw.items()}
    wall["exited"] = exited - start
    cpu = {key: value[1] for key, value in raw.items()}
    cpu["exited"] = usage.ru_utime + usage.ru_stime
    return {"wall": wall, "cpu": cpu}


def fit_pair(short: dict[str, float], long: dict[str, float], lengths: tuple[int, int]) -> dict[str, float]:
    """Slope and intercept of one (short, long) pair, and the start-up's parts."""
    n_short, n_long = lengths
    window = {name: run["trained"] - run["first"] for name, run in (("short", short), ("long", long))}
    slope = (window["long"] - window["short"]) / (n_long - n_short)
    return {
        "per_iter": slope,
        "startup": short["exited"] - slope * n_short,
        "imports": short["imported"],
        "build": short["built"] - short["imported"],
        "fit_start": short["first"] - short["built"],
        "fixed_in_run": window["short"] - slope * n_short,
        "exit": short["exited"] - short["trained"],
        "process_slope": (long["exited"] - short["exited"]) / (n_long - n_short),
    }


Results = dict[str, dict[str, list[dict[str, float]]]]  # clock -> job -> one fitted pair per round


def measure(model: str, job_names: Sequence[str], rounds: int, lengths: tuple[int, int], log: Any) -> Results:
    """Per clock and job, one fitted pair per round (jobs rotated each round, short/long swapped each round)."""
    results: Results = {clock: {job: [] for job in job_names} for clock in CLOCKS}
    for index in range(rounds):
        order = list(job_names[index % len(job_names):]) + list(job_names[:index % len(job_names)])
        for job in order:
            runs = {}
            for iters in (lengths if index % 2 == 0 else lengths[::-1]):
                runs[iters] = run_job(job, model, iters)
            for clock in CLOCKS:
                results[clock][job].append(fit_pair(runs[lengths[0]][clock], runs[lengths[1]][clock], lengths))
            cpu, wall = results["cpu"][job][-1], results["wall"][job][-1]
            log(f"  round {index + 1} {job:20s} cpu {cpu['per_iter'] * 1e6:7.1f} us/iter, start-up {cpu['startup']:.2f} s"
                f" | wall {wall['per_iter'] * 1e6:7.1f} us/iter, start-up {wall['startup']:.2f} s  (load {load()})")
    return results


# ----------------------------------------------------------------------------- tables
def spread(values: Sequence[float], scale: float, fmt: str) -> str:
    middle = statistics.median(values)
    if len(values) == 1:
        return format(middle * scale, fmt)
    return f"{format(middle * scale, fmt)} [{format(min(values) * scale, fmt)}-{format(max(values) * scale, fmt)}]"


def print_table(model: str, results: dict[str, list[dict[str, float]]], skipped: dict[str, str]) -> None:
    print(f"| job ({MODELS[model]}) | per iteration (us) | start-up (s) | / bare Lightning, per iteration | "
          "/ MMEngine Runner, per iteration |")
    print("|---|---|---|---|---|")
    for job, label in LABELS.items():
        if job in skipped:
            print(f"| {label} | {skipped[job]} | | | |")
            continue
        if job not in results:
            continue
        pairs = results[job]
        cells = [spread([p["per_iter"] for p in pairs], 1e6, ".0f"), spread([p["startup"] for p in pairs], 1, ".2f")]
        for base in ("lightning", "mmengine"):
            cells.append(ratio_cell(results, job, base, "per_iter") if base in results else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")


def per_round_ratios(results: dict[str, list[dict[str, float]]], job: str, base: str, key: str) -> list[float]:
    return [a[key] / b[key] for a, b in zip(results[job], results[base])]


def ratio_cell(results: dict[str, list[dict[str, float]]], job: str, base: str, key: str) -> str:
    return spread(per_round_ratios(results, job, base, key), 1, ".3f")


def print_startup_parts(model: str, results: dict[str, list[dict[str, float]]]) -> None:
    print(f"\nStart-up, its parts ({MODELS[model]}; medians, s): interpreter + imports | construction "
          "(config, hooks, Trainer) | fit start to first forward (dumps, writers, setup) | fixed cost inside the "
          "run (epoch ends: 2 checkpoints) | after training to exit")
    print("| job | imports | construction | to first forward | epoch ends | exit | = start-up |")
    print("|---|---|---|---|---|---|---|")
    for job, pairs in results.items():
        parts = [statistics.median(p[key] for p in pairs)
                 for key in ("imports", "build", "fit_start", "fixed_in_run", "exit", "startup")]
        print(f"| {LABELS[job]} | " + " | ".join(f"{value:.2f}" for value in parts) + " |")


def print_ratios(all_results: dict[str, Results]) -> None:
    print("| ratio | CPU time: median [min-max] over rounds | wall clock: median [min-max] | target (CPU time) |")
    print("|---|---|---|---|")
    for job, base, model, key, target in RATIOS:
        by_clock = all_results.get(model, {})
        if job not in by_clock.get("cpu", {}) or base not in by_clock.get("cpu", {}):
            continue
        cells = []
        for clock in CLOCKS:
            cells.append(spread(per_round_ratios(by_clock[clock], job, base, key), 1, ".3f"))
        what = "per iteration" if key == "per_iter" else "start-up"
        middle = statistics.median(per_round_ratios(by_clock["cpu"], job, base, key))
        verdict = "-" if target is None else f"<= {target:.2f}: {'met' if middle <= target else 'NOT met'}"
        print(f"| {model.upper()} {what}: {LABELS[job]} / {LABELS[base]} | {cells[0]} | {cells[1]} | {verdict} |")


# ----------------------------------------------------------------------------- other measurements
RSS_SCRIPT = """
import os, resource, sys, tempfile
sys.path.insert(0, {here!r})
import torch
torch.set_num_threads(1)
import jobs
import lightning.pytorch as pl
from mmhooks.adapters.lightning import HookCallback
iters = {iters}
samples = []
page = os.sysconf("SC_PAGE_SIZE")

class Sample(pl.Callback):
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if (batch_idx + 1) % (iters // 10) == 0:
            with open("/proc/self/statm") as f:
                samples.append(int(f.read().split()[1]) * page / 2**20)

root = tempfile.mkdtemp()
hooks = [*jobs.default_stack(iters)[:-1], dict(type="EMAHook")]  # no checkpoint: one epoch of {iters}
trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, enable_checkpointing=False, default_root_dir=root,
                     callbacks=[Sample(), HookCallback(hooks, work_dir=root, log_level="WARNING")])
loader = torch.utils.data.DataLoader(jobs.BenchData("mlp", 16 * iters), batch_size=16)
trainer.fit(jobs._lightning_module("mlp", iters, with_scheduler=False), loader)
print(" ".join(f"{{s:.1f}}" for s in samples), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def rss_over_run(iters: int) -> tuple[list[float], float]:
    """RSS (MiB) at every tenth of a fresh process's fit (default hooks logging every 10, EMAHook), and its peak."""
    script = RSS_SCRIPT.format(here=HERE, iters=iters)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore",
               PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env)
    *samples, peak = done.stdout.split()[-11:]
    return [float(value) for value in samples], float(peak)


def help_startup_seconds(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mmhooks", "--help"], check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def dispatch_microseconds(hooks: list[Any], calls: int = 20000) -> float:
    """HookCallback's own cost per training iteration (before/after_train_iter), timed in-process.

    The callback is bound to a real Trainer by a short fit, then its two
    per-batch methods are called directly, so the number does not drift with
    the machine's load the way end-to-end slopes do.
    """
    import lightning.pytorch as pl
    import torch

    from mmhooks.adapters.lightning import HookCallback

    torch.set_num_threads(1)
    root = tempfile.mkdtemp()
    callback = HookCallback(hooks, work_dir=root, log_level="WARNING")
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, limit_train_batches=2,
                         default_root_dir=root, callbacks=[callback])
    module = jobs._lightning_module("mlp", 4, with_scheduler=False)
    trainer.fit(module, jobs.plain_loader("mlp", 8))
    batch = next(iter(jobs.plain_loader("mlp", 2)))
    outputs = {"loss": torch.tensor(1.0)}
    callback._epoch_open = True  # mid-epoch: batch 0 of 2, not the last one
    trainer.fit_loop.epoch_loop.batch_progress.is_last_batch = False
    start = time.perf_counter()
    for _ in range(calls):
        callback.on_train_batch_start(trainer, module, batch, 0)
        callback.on_train_batch_end(trainer, module, outputs, batch, 0)
    shutil.rmtree(root, ignore_errors=True)
    return (time.perf_counter() - start) / calls * 1e6


def noop_hooks(count: int) -> list[Any]:
    from mmhooks.hooks import Hook

    class NoOp(Hook):
        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            pass

        def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
            pass

    return [NoOp() for _ in range(count)]


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--jobs", default=",".join(LABELS))
    parser.add_argument("--quick", action="store_true", help="short runs, one round (a smoke test, not a measurement)")
    parser.add_argument("--rss-iters", type=int, default=20000, help="length of the RSS run (0 skips it)")
    parser.add_argument("--quiet", action="store_true", help="no per-round lines")
    parser.add_argument("--ablation-rounds", type=int, default=6, help="rounds of ablation.py (0 skips it)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="keep glibc's malloc thresholds (see jobs.steady_allocator; the CNN then varies 20-60%%)")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    lengths = QUICK_LENGTHS if args.quick else LENGTHS
    if args.default_malloc:
        os.environ["BENCH_DEFAULT_MALLOC"] = "1"  # the job processes and this one (ablation.py)

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    print(f"# mmhooks Runner benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, one torch thread, "
          f"load average {load()} at start)")
    print(f"python {sys.version.split()[0]}, " + ", ".join(_versions()))
    print("Per iteration: slope of the training window (first forward to end of training) between a short and a "
          "long run.\nStart-up: intercept = whole fresh process (spawn to exit) - slope x iterations: imports, "
          "config, hooks, Trainer, dumps, TensorBoard writer, 2 epoch-end checkpoints, exit.\n"
          f"{rounds} alternated rounds; median [min-max] over rounds; ratios are medians of per-round ratios.\n"
          "Both clocks are shown; the targets are judged on CPU time, which the other processes on a shared "
          "machine inflate far less than the wall clock.\n"
          + ("glibc's default malloc thresholds (page faults per iteration vary from process to process)."
             if args.default_malloc else
             "Every job fixes glibc's mmap/trim thresholds (jobs.steady_allocator): otherwise large activation "
             "buffers are page-faulted in every iteration or not, by heap history, and the CNN varies 20-60%."))
    job_names = [job for job in args.jobs.split(",") if job]
    skipped = {job: why for job in job_names if (why := available(job))}
    runnable = [job for job in job_names if job not in skipped]
    all_results = {}
    for model in args.models.split(","):
        before = load()
        log(f"{model}: lengths {lengths[model]}")
        results = measure(model, runnable, rounds, lengths[model], log)
        all_results[model] = results
        short, long = lengths[model]
        print(f"\n## {MODELS[model]}, batch 16: {short} and {long} iterations over 2 epochs "
              f"(load average {before} before, {load()} after)")
        for clock in CLOCKS:
            print(f"\n### {CLOCK_NAMES[clock]}\n")
            print_table(model, results[clock], skipped)
            print_startup_parts(model, results[clock])
    print("\n## Ratios\n")
    print_ratios(all_results)
    for job, why in skipped.items():
        print(f"\n{LABELS[job]}: {why}")
    if args.ablation_rounds:
        import torch

        torch.set_num_threads(1)
        rounds = 1 if args.quick else args.ablation_rounds
        print("\n## In one process, jobs alternated (benchmarks/ablation.py)")
        print("Where the MLP's per-iteration time goes (parts switched off), and the CNN's Runners paired; CPU time.")
        for rows, model, iters in ((ablation.ABLATION, "mlp", 2000), (ablation.PAIRED, "cnn", 240)):
            if model in args.models.split(","):
                iters = max(iters // 4, 40) if args.quick else iters
                times = ablation.run(rows, model, iters, rounds, log)
                ablation.print_table(rows, times, model, iters, rounds)
    print("\n## Other measurements")
    if "hookcallback" in job_names:
        noop = dispatch_microseconds(noop_hooks(10))
        stack = dispatch_microseconds(jobs.default_stack(10**6)[:-1])
        print(f"HookCallback dispatch, in-process: {noop:.1f} us per iteration with 10 no-op hooks, "
              f"{stack:.1f} us with the default stack (LoggerHook every 10, no checkpoint)")
    print(f"mmhooks --help start-up: {help_startup_seconds():.3f} s")
    if args.rss_iters and os.path.exists("/proc/self/statm"):
        samples, peak = rss_over_run(args.rss_iters)
        print(f"RSS over a {args.rss_iters}-iteration fit (HookCallback, default hooks + EMAHook; MiB every tenth): "
              f"{' '.join(f'{v:.1f}' for v in samples)}; growth over the last 90%: {samples[-1] - samples[0]:+.1f} MiB;"
              f" peak RSS {peak:.0f} MiB")
    print(f"\nload average at the end: {load()}")


def _versions() -> list[str]:
    from importlib import metadata

    found = []
    for name in ("torch", "lightning", "mmengine-lite"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return found


if __name__ == "__main__":
    main()
