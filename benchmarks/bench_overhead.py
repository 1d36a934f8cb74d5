"""Per-iteration overhead of mmhooks against bare Lightning, a raw PyTorch loop and MMEngine's Runner.

One run, one machine, one thread. Each variant trains the same model on the
same data; the time of an iteration is the gap between consecutive batch
starts (so it includes every hook and callback), warm-up excluded, median
over the run and then over repeats.

    python benchmarks/bench_overhead.py                 # tiny MLP and small CNN
    python benchmarks/bench_overhead.py --iters 400 --repeats 3 --model mlp
    python benchmarks/bench_overhead.py --rss-iters 0     # skip the 20k-iteration memory run

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


def _lightning_module(kind: str, log_loss: bool = False) -> Any:
    import lightning.pytorch as pl

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = make_net(kind)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss = F.cross_entropy(self.net(x), y)
            if log_loss:
                self.log("loss", loss)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return Module()


def run_lightning(kind: str, iters: int, warmup: int, callbacks: list[Any] | None = None,
                  log_every: int = 0) -> float:
    """A fit of the bare module; ``log_every`` > 0 logs the loss with ``self.log`` to a CSVLogger that often."""
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger

    stamps: list[float] = []

    class Stamp(pl.Callback):
        def on_train_batch_start(self, *args: Any) -> None:
            stamps.append(time.perf_counter())

    root = tempfile.mkdtemp()
    logger: Any = CSVLogger(root) if log_every else False
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=logger, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, log_every_n_steps=log_every or 50,
                         default_root_dir=root, callbacks=[Stamp(), *(callbacks or [])])
    trainer.fit(_lightning_module(kind, log_loss=bool(log_every)),
                DataLoader(make_data(kind, 16 * iters), batch_size=16))
    return per_iter(stamps, warmup)


def run_lightning_logging(kind: str, iters: int, warmup: int) -> float:
    """Bare Lightning at the logging cadence of the rows below it: self.log every step, written every 10."""
    return run_lightning(kind, iters, warmup, log_every=10)


def _NoOpHook() -> Any:  # noqa: N802 - a factory standing in for a class defined lazily
    from mmhooks.hooks import Hook

    class NoOp(Hook):
        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            pass

        def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
            pass

    return NoOp()


def run_noop_hooks(kind: str, iters: int, warmup: int) -> float:
    from mmhooks.adapters.lightning import HookCallback

    return run_lightning(kind, iters, warmup, [HookCallback([_NoOpHook() for _ in range(10)])])


def default_stack(interval: int) -> list[dict[str, Any]]:
    return [dict(type="RuntimeInfoHook"), dict(type="IterTimerHook"), dict(type="DistSamplerSeedHook"),
            dict(type="LoggerHook", interval=interval), dict(type="ParamSchedulerHook"),
            dict(type="CheckpointHook", interval=-1, save_last=False)]


def run_default_stack(kind: str, iters: int, warmup: int) -> float:
    from mmhooks.adapters.lightning import HookCallback

    return run_lightning(kind, iters, warmup, [HookCallback(default_stack(iters + 1), log_level="WARNING")])


def logging_stack(iters: int) -> list[dict[str, Any]]:
    """The default hooks as a real run has them: a line every 10 iterations, warm-up then cosine lr."""
    stack = default_stack(10)
    stack[4] = dict(type="ParamSchedulerHook", param_scheduler=iter_schedulers(iters))
    return stack


def iter_schedulers(iters: int) -> list[dict[str, Any]]:
    warmup = max(1, iters // 10)
    return [dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=warmup),
            dict(type="CosineAnnealingLR", by_epoch=False, begin=warmup, end=max(iters, warmup + 1))]


def run_logging_stack(kind: str, iters: int, warmup: int) -> float:
    from mmhooks.adapters.lightning import HookCallback

    return run_lightning(kind, iters, warmup, [HookCallback(logging_stack(iters), log_level="WARNING")])


def run_logging_stack_ema(kind: str, iters: int, warmup: int) -> float:
    from mmhooks.adapters.lightning import HookCallback

    hooks = [*logging_stack(iters), dict(type="EMAHook")]
    return run_lightning(kind, iters, warmup, [HookCallback(hooks, log_level="WARNING")])


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
    "bare Lightning, self.log + CSVLogger every 10": run_lightning_logging,
    "  + log every 10 iters, lr warm-up + cosine": run_logging_stack,
    "  + log every 10, schedulers, EMAHook": run_logging_stack_ema,
    "mmhooks Runner": run_mmhooks_runner,
    "MMEngine Runner": run_mmengine_runner,
}


def scheduler_step_microseconds(steps: int = 20000) -> dict[str, float]:
    """Cost of stepping a warm-up + cosine pair of iteration schedulers once (what each iteration pays)."""
    import timeit

    results = {}
    sources = [("mmhooks", "mmhooks.optim.scheduler", "mmhooks.optim")]
    try:
        import mmengine.optim  # noqa: F401

        sources.append(("MMEngine", "mmengine.optim", "mmengine.optim"))
    except ImportError:
        pass
    for name, scheduler_module, wrapper_module in sources:
        schedulers_ns = __import__(scheduler_module, fromlist=["LinearLR"])
        wrapper_ns = __import__(wrapper_module, fromlist=["OptimWrapper"])
        optimizer = wrapper_ns.OptimWrapper(torch.optim.SGD(make_net("mlp").parameters(), lr=0.01, momentum=0.9))
        pair = [schedulers_ns.LinearLR(optimizer, start_factor=0.1, by_epoch=False, begin=0, end=10**9),
                schedulers_ns.CosineAnnealingLR(optimizer, by_epoch=False, begin=0, end=10**9)]

        def step_all(pair: list[Any] = pair) -> None:
            for scheduler in pair:
                scheduler.step()

        results[name] = min(timeit.repeat(step_all, number=steps, repeat=3)) / steps * 1e6
    return results


def ema_extra_bytes() -> list[tuple[str, int, int]]:
    """(case, bytes the averaged copy adds, bytes of one copy of what it must hold) for a CNN with BatchNorm."""
    from mmhooks.model.averaged_model import ExponentialMovingAverage

    net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3), nn.BatchNorm2d(16))
    param_bytes = sum(p.numel() * p.element_size() for p in net.parameters())
    buffer_bytes = sum(b.numel() * b.element_size() for b in net.buffers())
    source = {t.untyped_storage().data_ptr() for t in [*net.parameters(), *net.buffers()]}
    rows = []
    for update_buffers in (False, True):
        ema = ExponentialMovingAverage(net, update_buffers=update_buffers)
        ema.update_parameters(net)
        held = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                for t in [*ema.module.parameters(), *ema.module.buffers()]}
        extra = sum(nbytes for ptr, nbytes in held.items() if ptr not in source)
        expected = param_bytes + (buffer_bytes if update_buffers else 0)
        rows.append((f"update_buffers={update_buffers}", extra, expected))
    return rows


RSS_SCRIPT = """
import os, sys, tempfile, time, warnings, logging
sys.path.insert(0, {bench_dir!r})
import bench_overhead as bench
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

trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, enable_checkpointing=False, default_root_dir=tempfile.mkdtemp(),
                     callbacks=[Sample(), HookCallback([*bench.logging_stack(iters), dict(type="EMAHook")],
                                                       log_level="WARNING")])
trainer.fit(bench._lightning_module("mlp"), bench.DataLoader(bench.make_data("mlp", 16 * iters), batch_size=16))
print(" ".join(f"{{s:.1f}}" for s in samples))
"""


def rss_over_run(iters: int) -> list[float]:
    """Resident memory (MiB) at every tenth of a fresh process's ``iters``-iteration fit (all hooks, EMA, logging)."""
    if not os.path.exists("/proc/self/statm"):
        return []
    script = RSS_SCRIPT.format(bench_dir=os.path.dirname(os.path.abspath(__file__)), iters=iters)
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    return [float(value) for value in done.stdout.split()[-10:]]


def help_startup_seconds(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mmhooks", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def dispatch_microseconds(kind: str, hooks: list[Any], calls: int = 20000) -> float:
    """HookCallback's own cost per training iteration (before/after_train_iter), without Lightning's noise.

    The callback is bound to a real Trainer by a short fit, then its two per-batch
    methods are timed directly, so the number does not drift with the machine's load
    the way end-to-end medians do.
    """
    import lightning.pytorch as pl

    from mmhooks.adapters.lightning import HookCallback

    callback = HookCallback(hooks, log_level="WARNING")
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, limit_train_batches=2,
                         default_root_dir=tempfile.mkdtemp(), callbacks=[callback])
    module = _lightning_module(kind)
    trainer.fit(module, DataLoader(make_data(kind, 64), batch_size=16))
    batch, outputs = next(iter(DataLoader(make_data(kind, 16), batch_size=16))), {"loss": torch.tensor(1.0)}
    start = time.perf_counter()
    for index in range(calls):
        callback.on_train_batch_start(trainer, module, batch, index)
        callback.on_train_batch_end(trainer, module, outputs, batch, index)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument("--rss-iters", type=int, default=20000, help="length of the RSS run (0 skips it)")
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
        noop = dispatch_microseconds(kind, [_NoOpHook() for _ in range(10)])
        print(f"HookCallback dispatch with 10 no-op hooks: {noop:.1f} us per iteration = "
              f"{noop / (bare * 1e6) * 100:.1f}% of a bare Lightning iteration (budget 3%)")
    steps = scheduler_step_microseconds()
    print("\nscheduler cost per iteration (LinearLR + CosineAnnealingLR, by_epoch=False): "
          + ", ".join(f"{name} {value:.2f} us" for name, value in steps.items()))
    for case, extra, expected in ema_extra_bytes():
        print(f"EMA memory ({case}): adds {extra} bytes; one copy of the parameters"
              f"{' and buffers' if 'True' in case else ''} is {expected} bytes ({extra / expected:.3f}x)")
    print(f"mmhooks --help start-up: {help_startup_seconds():.3f} s")
    if args.rss_iters:
        rss = rss_over_run(args.rss_iters)
        if rss:
            print(f"RSS over a {args.rss_iters}-iteration fit (MiB, every tenth): {' '.join(f'{v:.1f}' for v in rss)}; "
                  f"growth over the last 90%: {rss[-1] - rss[0]:+.1f} MiB")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
