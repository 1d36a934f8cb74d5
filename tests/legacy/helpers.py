"""Shared drivers for the legacy tests: a stub MMEngine-style runner and an updater trace."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch


def make_optimizer(lr: float = 0.1, momentum: float = 0.9, adam: bool = False) -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(2))]
    if adam:
        return torch.optim.Adam(params, lr=lr, betas=(momentum, 0.999))
    return torch.optim.SGD(params, lr=lr, momentum=momentum)


def stub_runner(optimizer: torch.optim.Optimizer, epochs: int, per_epoch: int) -> SimpleNamespace:
    return SimpleNamespace(
        epoch=0, iter=0, max_epochs=epochs, max_iters=epochs * per_epoch,
        optim_wrapper=SimpleNamespace(optimizer=optimizer), train_dataloader=list(range(per_epoch)),
    )


def trace(hook: Any, epochs: int, per_epoch: int, key: str = "lr", **opt: Any) -> list[float]:
    """The group-0 value of ``key`` seen by every training iteration, driving ``hook`` like MMEngine's loop."""
    optimizer = make_optimizer(**opt)
    runner = stub_runner(optimizer, epochs, per_epoch)
    hook.before_run(runner)
    seen = []
    for e in range(epochs):
        runner.epoch = e
        hook.before_train_epoch(runner)
        for i in range(per_epoch):
            hook.before_train_iter(runner, batch_idx=i)
            group = optimizer.param_groups[0]
            seen.append(group["betas"][0] if key == "betas" else group[key])
            runner.iter += 1
    return seen
