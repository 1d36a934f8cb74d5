"""One benchmark job, run in a fresh process: ``python benchmarks/jobs.py JOB MODEL ITERS WORK_DIR``.

Every job trains the same network on the same batches for ``ITERS`` iterations
over two epochs (one thread, batch 16, SGD with momentum, cosine learning rate
stepped every iteration); the jobs differ only in what drives the loop. Each
job imports only what it uses, so import time is part of its start-up.

The job writes ``WORK_DIR/bench_result.json`` with, for each stamp, the wall clock
(``time.time()``) and the CPU time of the process so far (``time.process_time()``:
user + system, every thread):

* ``imported``: the job's framework is imported;
* ``built``: the Runner / Trainer / loop objects are constructed;
* ``first``: the first forward pass starts (everything before it is start-up);
* ``trained``: training returned (``fit`` / ``runner.train()`` / the loop).

The parent adds ``exited`` (the process ended; its CPU time from ``wait4``). Nothing here prints timings.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import Any

EPOCHS = 2
BATCH = 16
POOL = 256  # distinct samples; the dataset cycles through them so its size costs nothing to build
CLASSES = 4
STAMPS: dict[str, tuple[float, float]] = {}
ON_STAMP: dict[str, Any] = {}  # stamp name -> callable run right after it (benchmarks/profile_runner.py)
ON_FORWARD: Any = None  # called with the forward count on every forward pass (benchmarks/ablation.py)
VARIANT = ""  # an ablation of the Runner / HookCallback configuration (benchmarks/ablation.py)

JOBS = ("raw", "lightning", "lightning_barebones", "hookcallback", "mmhooks", "mmengine", "mmhooks_fabric")


def stamp(name: str) -> None:
    if name not in STAMPS:
        STAMPS[name] = (time.time(), time.process_time())
        action = ON_STAMP.get(name)
        if action is not None:
            action()


# ----------------------------------------------------------------------------- model and data (torch only)
def make_net(model: str) -> Any:
    """The tiny MLP (32-64-4) or the small CNN on 32x32 images (the convolutions dominate)."""
    from torch import nn

    if model == "mlp":
        return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, CLASSES))
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, CLASSES),
    )


class Stamped:
    """Mixin for the network holder: the first forward pass marks the end of start-up."""

    first_done = False
    forwards = 0

    def mark_first(self) -> None:
        if not Stamped.first_done:
            Stamped.first_done = True
            stamp("first")
        if ON_FORWARD is not None:
            Stamped.forwards += 1
            ON_FORWARD(Stamped.forwards)


class BenchData:
    """``length`` samples ``(x, label)`` cycling through a fixed pool (map-style, default_collate-able)."""

    def __init__(self, model: str, length: int) -> None:
        import torch

        generator = torch.Generator().manual_seed(0)
        shape = (POOL, 32) if model == "mlp" else (POOL, 3, 32, 32)
        self.inputs = torch.randn(*shape, generator=generator)
        self.labels = torch.randint(0, CLASSES, (POOL,), generator=generator)
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        return self.inputs[index % POOL], self.labels[index % POOL]


def dataset_length(iters: int) -> int:
    return iters // EPOCHS * BATCH


def plain_loader(model: str, iters: int) -> Any:
    from torch.utils.data import DataLoader

    return DataLoader(BenchData(model, dataset_length(iters)), batch_size=BATCH, shuffle=False)


def torch_cosine(optimizer: Any, iters: int) -> Any:
    import torch

    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=iters)


# ----------------------------------------------------------------------------- raw PyTorch
def job_raw(model: str, iters: int, work_dir: str) -> None:
    import torch
    from torch.nn import functional as F

    stamp("imported")
    net = make_net(model)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    scheduler = torch_cosine(optimizer, iters)
    loader = plain_loader(model, iters)
    holder = Stamped()
    stamp("built")
    for _ in range(EPOCHS):
        for x, y in loader:
            holder.mark_first()
            optimizer.zero_grad()
            F.cross_entropy(net(x), y).backward()
            optimizer.step()
            scheduler.step()
    stamp("trained")


# ----------------------------------------------------------------------------- Lightning
def _lightning_module(model: str, iters: int, with_scheduler: bool) -> Any:
    import lightning.pytorch as pl
    import torch
    from torch.nn import functional as F

    class Module(pl.LightningModule, Stamped):
        def __init__(self) -> None:
            super().__init__()
            self.net = make_net(model)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            self.mark_first()
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.SGD(self.parameters(), lr=0.01, momentum=0.9)
            if not with_scheduler:
                return optimizer
            return dict(optimizer=optimizer, lr_scheduler=dict(scheduler=torch_cosine(optimizer, iters),
                                                               interval="step"))

    return Module()


def _bare_trainer_kwargs(work_dir: str) -> dict[str, Any]:
    """Everything off that a bare fit does not need: no logger, checkpoints, progress bar, summary, sanity check."""
    return dict(max_epochs=EPOCHS, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                default_root_dir=work_dir)


def job_lightning(model: str, iters: int, work_dir: str) -> None:
    import lightning.pytorch as pl

    stamp("imported")
    module = _lightning_module(model, iters, with_scheduler=True)
    trainer = pl.Trainer(**_bare_trainer_kwargs(work_dir))
    loader = plain_loader(model, iters)
    stamp("built")
    trainer.fit(module, loader)
    stamp("trained")


def job_lightning_barebones(model: str, iters: int, work_dir: str) -> None:
    """Lightning's own minimal-overhead mode (``Trainer(barebones=True)``)."""
    import lightning.pytorch as pl

    stamp("imported")
    module = _lightning_module(model, iters, with_scheduler=True)
    trainer = pl.Trainer(max_epochs=EPOCHS, accelerator="cpu", devices=1, barebones=True, default_root_dir=work_dir)
    loader = plain_loader(model, iters)
    stamp("built")
    trainer.fit(module, loader)
    stamp("trained")


def default_stack(iters: int) -> list[dict[str, Any]]:
    """MMEngine's default hooks, as the Runner jobs configure them (log every 10, checkpoint each epoch)."""
    if VARIANT == "no_hooks":  # only what steps the learning rate, as the bare fit's scheduler does
        return [dict(type="ParamSchedulerHook", param_scheduler=schedulers(iters))]
    return [
        dict(type="RuntimeInfoHook"),
        dict(type="IterTimerHook"),
        dict(type="DistSamplerSeedHook"),
        dict(type="LoggerHook", interval=logger_interval()),
        dict(type="ParamSchedulerHook", param_scheduler=schedulers(iters)),
        dict(type="CheckpointHook", interval=1),
    ]


def logger_interval() -> int:
    """Every 10 iterations; an ablation without logging sets it beyond the run (no line, no scalar written)."""
    return 10**9 if VARIANT == "no_logging" else 10


def schedulers(iters: int) -> list[dict[str, Any]]:
    return [dict(type="CosineAnnealingLR", by_epoch=False, begin=0, end=iters, T_max=iters)]


def visualizer_cfg() -> dict[str, Any]:
    backends = [] if VARIANT == "no_tensorboard" else [dict(type="TensorboardVisBackend")]
    return dict(type="Visualizer", vis_backends=backends)


def job_hookcallback(model: str, iters: int, work_dir: str) -> None:
    import lightning.pytorch as pl

    from mmhooks.adapters.lightning import HookCallback

    stamp("imported")
    module = _lightning_module(model, iters, with_scheduler=False)  # ParamSchedulerHook steps the lr
    callback = HookCallback(default_stack(iters), work_dir=work_dir, visualizer=visualizer_cfg())
    trainer = pl.Trainer(**_bare_trainer_kwargs(work_dir), callbacks=[callback])
    loader = plain_loader(model, iters)
    stamp("built")
    trainer.fit(module, loader)
    stamp("trained")


# ----------------------------------------------------------------------------- Runners (mmhooks', MMEngine's)
def runner_cfg(model: str, iters: int, work_dir: str) -> dict[str, Any]:
    """The config both Runners get (MMEngine's keys and types; classes registered by :func:`register`)."""
    return dict(
        model=dict(type="BenchModel", model=model),
        work_dir=work_dir,
        train_dataloader=dict(
            batch_size=BATCH, num_workers=0,
            dataset=dict(type="BenchData", model=model, length=dataset_length(iters)),
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="torch_default_collate"),  # the other jobs' collate: the same batches, same cost
        ),
        train_cfg=dict(by_epoch=True, max_epochs=EPOCHS),
        optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        param_scheduler=schedulers(iters),
        default_hooks=runner_default_hooks(),
        visualizer=visualizer_cfg(),
        randomness=dict(seed=0),
        # unique: MMEngine names its logger, message hub and visualizer instances after it (ablation.py runs
        # several Runners in one process)
        experiment_name=f"bench-{uuid.uuid4().hex[:8]}",
    )


def runner_default_hooks() -> dict[str, Any]:
    if VARIANT == "no_hooks":
        names = ("runtime_info", "timer", "sampler_seed", "logger", "checkpoint")  # the schedulers still step
        return {name: None for name in names}
    return dict(logger=dict(type="LoggerHook", interval=logger_interval()),
                checkpoint=dict(type="CheckpointHook", interval=1))


def register(base_model: type, models: Any, datasets: Any, functions: Any) -> None:
    """Register ``BenchModel`` (a ``base_model`` subclass), ``BenchData`` and PyTorch's collate in a framework."""
    from torch.nn import functional as F
    from torch.utils.data import default_collate

    class BenchModel(base_model, Stamped):  # type: ignore[misc, valid-type]
        def __init__(self, model: str) -> None:
            super().__init__()
            self.net = make_net(model)

        def forward(self, inputs: Any, labels: Any = None, mode: str = "tensor") -> Any:
            self.mark_first()
            logits = self.net(inputs)
            return {"loss": F.cross_entropy(logits, labels)} if mode == "loss" else logits

    models.register_module(name="BenchModel", module=BenchModel, force=True)  # force: profile_runner runs twice
    datasets.register_module(name="BenchData", module=BenchData, force=True)
    functions.register_module(name="torch_default_collate", module=default_collate, force=True)


def _mmhooks_runner(model: str, iters: int, work_dir: str, backend: str | None) -> None:
    from mmhooks.config import Config
    from mmhooks.model import BaseModel
    from mmhooks.registry import DATASETS, FUNCTIONS, MODELS
    from mmhooks.runner import Runner

    stamp("imported")
    register(BaseModel, MODELS, DATASETS, FUNCTIONS)
    cfg = runner_cfg(model, iters, work_dir)
    if backend is not None:
        cfg["backend"] = backend
    runner = Runner.from_cfg(Config(cfg))
    stamp("built")
    runner.train()
    stamp("trained")


def job_mmhooks(model: str, iters: int, work_dir: str) -> None:
    _mmhooks_runner(model, iters, work_dir, None)


def job_mmhooks_fabric(model: str, iters: int, work_dir: str) -> None:
    _mmhooks_runner(model, iters, work_dir, "fabric")


def job_mmengine(model: str, iters: int, work_dir: str) -> None:
    from mmengine.config import Config
    from mmengine.model import BaseModel
    from mmengine.registry import DATASETS, FUNCTIONS, MODELS
    from mmengine.runner import Runner

    stamp("imported")
    register(BaseModel, MODELS, DATASETS, FUNCTIONS)
    runner = Runner.from_cfg(Config(runner_cfg(model, iters, work_dir)))
    stamp("built")
    runner.train()
    stamp("trained")


def steady_allocator() -> bool:
    """Keep freed buffers in glibc's heap: no ``mmap``/``munmap`` and page faults for activations every iteration.

    By default glibc maps large blocks (the CNN's activations, about 1 MiB) fresh
    and returns them on free, or trims the heap top, depending on the heap's
    history: the same job then spends 20-60% more CPU in page faults in one
    process than in another, whichever framework runs it. Fixed thresholds
    remove that lottery from the comparison (``BENCH_DEFAULT_MALLOC=1`` keeps
    glibc's defaults). True when applied.
    """
    if os.environ.get("BENCH_DEFAULT_MALLOC") == "1" or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    return bool(libc.mallopt(m_mmap_threshold, 64 << 20)) and bool(libc.mallopt(m_trim_threshold, 256 << 20))


def main(argv: list[str]) -> None:
    job, model, iters, work_dir = argv[1], argv[2], int(argv[3]), argv[4]
    steady_allocator()
    import torch

    torch.set_num_threads(1)
    globals()[f"job_{job}"](model, iters, work_dir)
    with open(os.path.join(work_dir, "bench_result.json"), "w") as file:
        json.dump(STAMPS, file)


if __name__ == "__main__":
    main(sys.argv)
