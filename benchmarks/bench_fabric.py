"""mmhooks' Runner on Lightning Fabric against MMEngine's Runner: per-iteration cost and start-up.

Each job runs in a fresh Python process at two lengths; per-iteration cost is
the slope between the short and the long run, start-up the intercept (the
cost of a zero-length run). Jobs are alternated and repeated; medians are
reported with their spread. Start-up is shown with and without the time to
import the framework (``mmengine.runner`` / ``mmhooks.runner`` plus the
Fabric backend); mmhooks imports most of what it needs lazily, during the
run, so "incl. import" is the comparable start-up. Both wall-clock and CPU
time (user + system of the process) are fitted: on a shared machine the CPU
time is the steadier of the two.

The job (issue 15): a tiny MLP 32-64-4 or a small CNN on 32x32 images,
batch 16, one thread, SGD + CosineAnnealingLR by iteration, LoggerHook every
10 iterations, CheckpointHook each epoch (one epoch), TensorBoard vis backend.

    python benchmarks/bench_fabric.py                     # both models, 3 rounds
    python benchmarks/bench_fabric.py --model mlp --rounds 5
    python benchmarks/bench_fabric.py --variants fabric mmengine lightning
    python benchmarks/bench_fabric.py --profile fabric    # cProfile of the per-iteration path

Importable: :func:`measure` returns the table's numbers. This is a benchmark,
not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

LENGTHS = {"mlp": (300, 3300), "cnn": (40, 240)}  # iterations of the short and the long run
VARIANTS = ("fabric", "mmengine")  # "lightning" (the Trainer backend) on request


# ----------------------------------------------------------------------------- one job, in a child process
def _net(kind: str) -> Any:
    from torch import nn

    if kind == "mlp":
        return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4))
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 8 * 8, 4))


def _model(base: type, kind: str) -> Any:
    from torch.nn import functional as F

    class Model(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.net = _net(kind)

        def forward(self, inputs: Any, labels: Any = None, mode: str = "tensor") -> Any:
            logits = self.net(inputs)
            return {"loss": F.cross_entropy(logits, labels)} if mode == "loss" else logits

    return Model()


def _loader(kind: str, iters: int) -> Any:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(0)
    n = 16 * iters
    x = torch.randn(n, 32, generator=g) if kind == "mlp" else torch.randn(n, 3, 32, 32, generator=g)
    return DataLoader(TensorDataset(x, torch.randint(0, 4, (n,), generator=g)), batch_size=16)


def _config(kind: str, iters: int, work_dir: str) -> dict[str, Any]:
    return dict(
        work_dir=work_dir,
        train_dataloader=_loader(kind, iters),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        param_scheduler=[dict(type="CosineAnnealingLR", by_epoch=False, begin=0, end=iters, T_max=iters)],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=10),
                           checkpoint=dict(type="CheckpointHook", interval=1)),
        visualizer=dict(type="Visualizer", vis_backends=[dict(type="TensorboardVisBackend")]),
        randomness=dict(seed=0),
        log_level="WARNING",
    )


def run_child(variant: str, kind: str, iters: int, work_dir: str, profile: str | None = None) -> dict[str, float]:
    """One job in this process: seconds to import the framework, and to build the Runner and train."""
    import warnings

    warnings.filterwarnings("ignore")
    start, start_cpu = time.perf_counter(), _cpu()
    import torch

    torch.set_num_threads(1)
    torch_ready, torch_ready_cpu = time.perf_counter(), _cpu()
    if variant == "mmengine":
        from mmengine.model import BaseModel
        from mmengine.runner import Runner

        extra: dict[str, Any] = {}
    else:
        from mmhooks.model import BaseModel
        from mmhooks.runner import Runner

        if variant == "fabric":
            import mmhooks.adapters.fabric  # noqa: F401  (imported by the first run anyway)
        else:
            import mmhooks.adapters.lightning  # noqa: F401
        extra = dict(backend=variant, trainer=dict(enable_progress_bar=False))
    imported, imported_cpu = time.perf_counter(), _cpu()
    runner = Runner(model=_model(BaseModel, kind), **_config(kind, iters, work_dir), **extra)
    if profile:
        import cProfile

        cProfile.runctx("runner.train()", globals(), {"runner": runner}, profile)
    else:
        runner.train()
    done, done_cpu = time.perf_counter(), _cpu()
    return dict(torch_s=torch_ready - start, import_s=imported - torch_ready, run_s=done - imported,
                torch_cpu_s=torch_ready_cpu - start_cpu, import_cpu_s=imported_cpu - torch_ready_cpu,
                run_cpu_s=done_cpu - imported_cpu)


def _cpu() -> float:
    """User + system CPU seconds of this process (all threads: the TensorBoard writer's too)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ----------------------------------------------------------------------------- orchestration
@dataclass
class Fit:
    """Per-iteration cost (slope) and start-up (intercept) of one variant on one model, over the rounds."""

    slopes: list[float]
    intercepts: list[float]
    imports: list[float]
    cpu_slopes: list[float]
    cpu_intercepts: list[float]  # CPU seconds of a zero-length run, imports (but not torch's) included

    @property
    def cpu_per_iter_us(self) -> float:
        return statistics.median(self.cpu_slopes) * 1e6

    @property
    def cpu_startup_s(self) -> float:
        return statistics.median(self.cpu_intercepts)

    @property
    def per_iter_us(self) -> float:
        return statistics.median(self.slopes) * 1e6

    @property
    def startup_s(self) -> float:
        return statistics.median(self.intercepts)

    @property
    def import_s(self) -> float:
        return statistics.median(self.imports)


def _spawn(variant: str, kind: str, iters: int) -> dict[str, float]:
    work_dir = tempfile.mkdtemp(prefix=f"bench_{variant}_")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", variant, kind, str(iters), work_dir],
                          check=True, capture_output=True, text=True, env=env)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(variants: tuple[str, ...] = VARIANTS, kinds: tuple[str, ...] = ("mlp", "cnn"), rounds: int = 3,
            lengths: dict[str, tuple[int, int]] | None = None, verbose: bool = True) -> dict[tuple[str, str], Fit]:
    """Slopes and intercepts for every (variant, model): each round runs every job short and long, alternated."""
    lengths = lengths or LENGTHS
    fits = {(v, k): Fit([], [], [], [], []) for v in variants for k in kinds}
    for round_index in range(rounds):
        for kind in kinds:
            short, long = lengths[kind]
            order = variants if round_index % 2 == 0 else tuple(reversed(variants))
            for variant in order:
                a = _spawn(variant, kind, short)
                b = _spawn(variant, kind, long)
                slope = (b["run_s"] - a["run_s"]) / (long - short)
                fit = fits[(variant, kind)]
                fit.slopes.append(slope)
                fit.intercepts.append(a["run_s"] - slope * short)
                fit.imports.append(statistics.mean([a["import_s"], b["import_s"]]))
                cpu_slope = (b["run_cpu_s"] - a["run_cpu_s"]) / (long - short)
                fit.cpu_slopes.append(cpu_slope)
                import_cpu = statistics.mean([a["import_cpu_s"], b["import_cpu_s"]])
                fit.cpu_intercepts.append(a["run_cpu_s"] - cpu_slope * short + import_cpu)
                if verbose:
                    print(f"  round {round_index + 1} {kind:3s} {variant:9s} {slope * 1e6:8.1f} us/iter  "
                          f"start-up {fit.intercepts[-1]:.3f} s (+ import {fit.imports[-1]:.3f} s)  "
                          f"cpu {cpu_slope * 1e6:8.1f} us/iter, start-up {fit.cpu_intercepts[-1]:.3f} s", flush=True)
    return fits


def _spread(values: list[float], scale: float = 1.0) -> str:
    return f"{min(values) * scale:.3g}-{max(values) * scale:.3g}"


def report(fits: dict[tuple[str, str], Fit]) -> None:
    kinds = sorted({k for _, k in fits}, key=("mlp", "cnn").index)
    variants = list(dict.fromkeys(v for v, _ in fits))
    print("\nwall clock (start-up = intercept of the run; +import = framework import before it)")
    print(f"\n{'model':5s} {'variant':9s} {'us/iter':>9s} {'(spread)':>15s} {'start-up s':>11s} {'(spread)':>13s} "
          f"{'+import s':>10s} {'/MMEngine iter':>15s} {'/MMEngine start':>16s} {'incl. import':>13s}")
    for kind in kinds:
        reference = fits.get(("mmengine", kind))
        for variant in variants:
            fit = fits[(variant, kind)]
            ratio_iter = ratio_start = ratio_total = "-"
            if reference is not None:
                ratio_iter = f"{fit.per_iter_us / reference.per_iter_us:.3f}"
                ratio_start = f"{fit.startup_s / reference.startup_s:.3f}"
                ratio_total = f"{(fit.startup_s + fit.import_s) / (reference.startup_s + reference.import_s):.3f}"
            print(f"{kind:5s} {variant:9s} {fit.per_iter_us:9.1f} {_spread(fit.slopes, 1e6):>15s} "
                  f"{fit.startup_s:11.3f} {_spread(fit.intercepts):>13s} {fit.import_s:10.3f} {ratio_iter:>15s} "
                  f"{ratio_start:>16s} {ratio_total:>13s}")
    print("\nCPU time of the process (start-up includes the framework import; torch's import is left out)")
    print(f"{'model':5s} {'variant':9s} {'us/iter':>9s} {'(spread)':>15s} {'start-up s':>11s} {'(spread)':>13s} "
          f"{'/MMEngine iter':>15s} {'/MMEngine start':>16s}")
    for kind in kinds:
        reference = fits.get(("mmengine", kind))
        for variant in variants:
            fit = fits[(variant, kind)]
            ratio_iter = ratio_start = "-"
            if reference is not None:
                ratio_iter = f"{fit.cpu_per_iter_us / reference.cpu_per_iter_us:.3f}"
                ratio_start = f"{fit.cpu_startup_s / reference.cpu_startup_s:.3f}"
            print(f"{kind:5s} {variant:9s} {fit.cpu_per_iter_us:9.1f} {_spread(fit.cpu_slopes, 1e6):>15s} "
                  f"{fit.cpu_startup_s:11.3f} {_spread(fit.cpu_intercepts):>13s} {ratio_iter:>15s} {ratio_start:>16s}")


def profile(variant: str, kind: str, iters: int, top: int = 35) -> None:
    """cProfile of one long job (the Runner's own path per iteration, sorted by internal time)."""
    import pstats

    path = os.path.join(tempfile.mkdtemp(), "train.prof")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    subprocess.run([sys.executable, os.path.abspath(__file__), "--child", variant, kind, str(iters),
                    tempfile.mkdtemp(), "--profile-to", path], check=True, capture_output=True, env=env)
    stats = pstats.Stats(path)
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=["fabric", "mmengine", "lightning"])
    parser.add_argument("--profile", choices=["fabric", "mmengine", "lightning"])
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "MODEL", "ITERS", "WORK_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, kind, iters, work_dir = args.child
        print(json.dumps(run_child(variant, kind, int(iters), work_dir, args.profile_to)))
        return
    kinds = ("mlp", "cnn") if args.model == "both" else (args.model,)
    if args.profile:
        profile(args.profile, kinds[0], LENGTHS[kinds[0]][1])
        return
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs")
    fits = measure(tuple(args.variants), kinds, args.rounds)
    report(fits)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
