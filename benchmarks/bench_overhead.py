"""Per-iteration overhead of mmhooks against bare Lightning, a raw PyTorch loop and MMEngine's Runner.

One run, one machine, one thread. Each variant trains the same model on the
same data; the time of an iteration is the gap between consecutive batch
starts (so it includes every hook and callback), warm-up excluded, median
over the run and then over repeats.

    python benchmarks/bench_overhead.py                 # tiny MLP and small CNN
    python benchmarks/bench_overhead.py --iters 400 --repeats 3 --model mlp

This is a benchmark, not a test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.set_num_threads(1)
warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


# ----------------------------------------------------------------------------- models and data
def make_net(kind: str) -> nn.Module:
    if kind == "mlp":
        return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4))
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


def make_data(kind: str, n: int) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 32, generator=g) if kind == "mlp" else torch.randn(n, 3, 16, 16, generator=g)
    return TensorDataset(x, torch.randint(0, 4, (n,), generator=g))


def per_iter(stamps: list[float], warmup: int) -> float:
    gaps = [b - a for a, b in zip(stamps, stamps[1:])][warmup:]
    return statistics.median(gaps)


# ----------------------------------------------------------------------------- variants
def run_raw(kind: str, iters: int, warmup: int) -> float:
    net = make_net(kind)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loader = DataLoader(make_data(kind, 16 * iters), batch_size=16)
    stamps = []
    for x, y in loader:
        stamps.append(time.perf_counter())
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return per_iter(stamps, warmup)


def _lightning_module(kind: str) -> Any:
    import lightning.pytorch as pl

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = make_net(kind)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return Module()


def run_lightning(kind: str, iters: int, warmup: int, callbacks: list[Any] | None = None) -> float:
    import lightning.pytorch as pl

    stamps: list[float] = []

    class Stamp(pl.Callback):
        def on_train_batch_start(self, *args: Any) -> None:
            stamps.append(time.perf_counter())

    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False,
                         default_root_dir=tempfile.mkdtemp(), callbacks=[Stamp(), *(callbacks or [])])
    trainer.fit(_lightning_module(kind), DataLoader(make_data(kind, 16 * iters), batch_size=16))
    return per_iter(stamps, warmup)


def run_noop_hooks(kind: str, iters: int, warmup: int) -> float:
    from mmhooks.adapters.lightning import HookCallback
    from mmhooks.hooks import Hook

    class NoOp(Hook):
        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            pass

        def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
            pass

    return run_lightning(kind, iters, warmup, [HookCallback([NoOp() for _ in range(10)])])


def default_stack(interval: int) -> list[dict[str, Any]]:
    return [dict(type="RuntimeInfoHook"), dict(type="IterTimerHook"), dict(type="DistSamplerSeedHook"),
            dict(type="LoggerHook", interval=interval), dict(type="ParamSchedulerHook"),
            dict(type="CheckpointHook", interval=-1, save_last=False)]


def run_default_stack(kind: str, iters: int, warmup: int) -> float:
    from mmhooks.adapters.lightning import HookCallback

    return run_lightning(kind, iters, warmup, [HookCallback(default_stack(iters + 1), log_level="WARNING")])


def _runner_kwargs(kind: str, iters: int) -> dict[str, Any]:
    return dict(
        work_dir=tempfile.mkdtemp(),
        train_dataloader=DataLoader(make_data(kind, 16 * iters), batch_size=16),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=iters + 1),
                           checkpoint=dict(type="CheckpointHook", interval=-1, save_last=False)),
        log_level="WARNING",
    )


def _base_model(base: type, kind: str) -> nn.Module:
    class Model(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.net = make_net(kind)

        def forward(self, inputs: Any, labels: Any = None, mode: str = "tensor") -> Any:
            logits = self.net(inputs)
            return {"loss": F.cross_entropy(logits, labels)} if mode == "loss" else logits

    return Model()


def run_mmhooks_runner(kind: str, iters: int, warmup: int) -> float:
    from mmhooks.hooks import Hook
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    stamps: list[float] = []

    class Stamp(Hook):
        priority = "HIGHEST"

        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            stamps.append(time.perf_counter())

    runner = Runner(model=_base_model(BaseModel, kind), custom_hooks=[Stamp()],
                    trainer=dict(enable_progress_bar=False), **_runner_kwargs(kind, iters))
    runner.train()
    return per_iter(stamps, warmup)


def run_mmengine_runner(kind: str, iters: int, warmup: int) -> float | None:
    try:
        from mmengine.hooks import Hook
        from mmengine.model import BaseModel
        from mmengine.runner import Runner
    except ImportError:
        return None
    stamps: list[float] = []

    class Stamp(Hook):
        priority = "HIGHEST"

        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            stamps.append(time.perf_counter())

    runner = Runner(model=_base_model(BaseModel, kind), custom_hooks=[Stamp()], **_runner_kwargs(kind, iters))
    runner.train()
    return per_iter(stamps, warmup)


VARIANTS: dict[str, Callable[[str, int, int], float | None]] = {
    "raw PyTorch loop": run_raw,
    "bare Lightning": run_lightning,
    "Lightning + HookCallback(10 no-op hooks)": run_noop_hooks,
    "Lightning + HookCallback(default hooks)": run_default_stack,
    "mmhooks Runner": run_mmhooks_runner,
    "MMEngine Runner": run_mmengine_runner,
}


def help_startup_seconds(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mmhooks", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    args = parser.parse_args()
    kinds = ["mlp", "cnn"] if args.model == "both" else [args.model]
    for kind in kinds:
        results: dict[str, float | None] = {}
        for name, variant in VARIANTS.items():
            samples = [variant(kind, args.iters, args.warmup) for _ in range(args.repeats)]
            results[name] = None if samples[0] is None else statistics.median(s for s in samples if s is not None)
        bare, mmengine = results["bare Lightning"], results["MMEngine Runner"]
        print(f"\n{kind}: median seconds per iteration ({args.iters} iterations, {args.repeats} repeats)")
        print(f"{'variant':45s} {'s/iter':>10s} {'/ bare Lightning':>17s} {'/ MMEngine Runner':>18s}")
        for name, value in results.items():
            if value is None:
                print(f"{name:45s} {'(not installed)':>10s}")
                continue
            vs_bare = f"{value / bare:.3f}" if bare else "-"
            vs_mm = f"{value / mmengine:.3f}" if mmengine else "-"
            print(f"{name:45s} {value:10.6f} {vs_bare:>17s} {vs_mm:>18s}")
    print(f"\nmmhooks --help start-up: {help_startup_seconds():.3f} s")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
