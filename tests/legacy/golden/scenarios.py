"""Scenarios run on a real MMCV 1.7.2 runner (``mmcv_oracle.py``) and on :mod:`mmhooks.legacy` (the tests).

Only torch is imported here, so the same definitions serve both environments. ``RECORD`` is what a
runner-only recording hook at priority LOWEST notes at every mount point.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

RECORDED_STAGES = ("before_run", "after_run", "before_epoch", "after_epoch", "before_train_epoch",
                   "after_train_epoch", "before_val_epoch", "after_val_epoch", "before_train_iter",
                   "after_train_iter", "before_val_iter", "after_val_iter")
ROWS: list[dict[str, Any]] = []
LOGGED_LINE_STARTS = ("Epoch", "Iter", "Exp name")  # the TextLoggerHook's lines
LOADERS: list[Any] = []


def _data(n: int, offset: int) -> TensorDataset:
    x = torch.tensor([[(((i + offset) * 4 + j) % 7 - 3) / 3 for j in range(4)] for i in range(n)])
    return TensorDataset(x, x.sum(1, keepdim=True) * 0.5 + 0.1)


class MMCVNet(nn.Module):
    """MMCV's model contract: ``train_step(data_batch, optimizer)`` -> loss, log_vars, num_samples."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 1)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[0.1, -0.2, 0.3, -0.4]]))
            self.fc.bias.fill_(0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)

    def train_step(self, data_batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        x, y = data_batch
        diff = self(x) - y
        loss = diff.pow(2).mean()
        log_vars = OrderedDict(loss=loss.item(), loss_l1=diff.abs().mean().item())
        return dict(loss=loss, log_vars=log_vars, num_samples=len(x))

    def val_step(self, data_batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.train_step(data_batch, optimizer)


def make_loaders(spec: dict[str, Any]) -> list[DataLoader]:
    loaders = [DataLoader(_data(10, 0), batch_size=4)]  # batches of 4, 4, 2
    if len(spec["workflow"]) > 1:
        loaders.append(DataLoader(_data(6, 20), batch_size=4))  # 4, 2
    return loaders


def make_optimizer(model: nn.Module, spec: dict[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def hook_configs(spec: dict[str, Any]) -> dict[str, Any]:
    keys = ("lr_config", "optimizer_config", "checkpoint_config", "log_config", "momentum_config")
    return {key: (dict(spec[key]) if isinstance(spec.get(key), dict) else spec.get(key)) for key in keys}


SCENARIOS: dict[str, dict[str, Any]] = {
    "epoch_train": dict(
        runner="EpochBasedRunner", max_epochs=3, workflow=[("train", 1)], meta=dict(exp_name="oracle", seed=0),
        lr_config=dict(policy="step", step=[2], warmup="linear", warmup_iters=2, warmup_ratio=0.1),
        optimizer_config=dict(), checkpoint_config=dict(interval=1),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook")]),
    ),
    "epoch_val": dict(
        runner="EpochBasedRunner", max_epochs=2, workflow=[("train", 1), ("val", 1)],
        lr_config=dict(policy="fixed"), optimizer_config=dict(),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook", ignore_last=False)]),
    ),
    "iter_train": dict(
        runner="IterBasedRunner", max_iters=7, workflow=[("train", 1)],
        lr_config=dict(policy="poly", power=1.0, min_lr=0.001), optimizer_config=dict(),
        checkpoint_config=dict(interval=4), log_config=dict(interval=3, hooks=[dict(type="TextLoggerHook")]),
    ),
    "iter_val": dict(
        runner="IterBasedRunner", max_iters=6, workflow=[("train", 2), ("val", 1)],
        lr_config=dict(policy="fixed"), optimizer_config=dict(),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook")]),
    ),
    "epoch_tensorboard": dict(
        runner="EpochBasedRunner", max_epochs=2, workflow=[("train", 1), ("val", 1)],
        lr_config=dict(policy="step", step=[1]), momentum_config=dict(policy="step", step=[1], gamma=0.5),
        optimizer_config=dict(),
        log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook"), dict(type="TensorboardLoggerHook")]),
    ),
    "epoch_cyclic": dict(
        runner="EpochBasedRunner", max_epochs=3, workflow=[("train", 1)],
        lr_config=dict(policy="cyclic", target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4),
        momentum_config=dict(policy="cyclic", target_ratio=(0.85 / 0.95, 1), cyclic_times=1, step_ratio_up=0.4),
        optimizer_config=dict(),
    ),
    "epoch_onecycle": dict(
        runner="EpochBasedRunner", max_epochs=3, workflow=[("train", 1)],
        lr_config=dict(policy="OneCycle", max_lr=0.5), momentum_config=dict(policy="OneCycle"),
        optimizer_config=dict(),
    ),
}


def _loader_name(loader: Any) -> Any:
    for index, known in enumerate(LOADERS):
        if loader is known:
            return f"loaders[{index}]"
    inner = getattr(loader, "_dataloader", None)
    if inner is not None:
        return f"IterLoader({_loader_name(inner)}, epoch={loader.epoch})"
    return type(loader).__name__


def _rounded(value: Any) -> Any:
    return round(float(value), 10)


def RECORD(stage: str, runner: Any) -> None:  # noqa: N802 - a constant-like entry point
    """Append what MMCV hooks can read from ``runner`` at ``stage`` to ``ROWS``."""
    row: dict[str, Any] = {
        "stage": stage, "epoch": runner.epoch, "iter": runner.iter, "inner_iter": runner.inner_iter,
        "mode": runner.mode, "max_epochs": runner.max_epochs, "max_iters": runner.max_iters,
        "_max_epochs": runner._max_epochs, "_max_iters": runner._max_iters,
        "lr": _rounded(runner.current_lr()[0]), "momentum": _rounded(runner.current_momentum()[0]),
    }
    if hasattr(runner, "data_loader"):
        loader = runner.data_loader
        row["data_loader"] = None if loader is None else _loader_name(loader)
        row["len_data_loader"] = None if loader is None else len(loader)
    else:
        row["data_loader"] = "absent"
    row["data_batch"] = hasattr(runner, "data_batch")
    outputs = getattr(runner, "outputs", None)
    row["outputs"] = None if outputs is None else {
        "keys": sorted(outputs), "num_samples": outputs.get("num_samples"),
        "log_vars": {k: round(float(v), 6) for k, v in outputs.get("log_vars", {}).items()},
    }
    row["buffer_ready"] = bool(runner.log_buffer.ready)
    ROWS.append(row)


def read_scalars(log_dir: str) -> list[list[Any]]:
    """Every scalar of the TensorBoard event files in ``log_dir``: ``[tag, step, value]``, sorted."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(log_dir, size_guidance={"scalars": 0})
    events.Reload()
    return sorted([tag, e.step, round(float(e.value), 6)] for tag in events.Tags()["scalars"]
                  for e in events.Scalars(tag))
