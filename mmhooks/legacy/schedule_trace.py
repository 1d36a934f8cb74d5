"""The lr / momentum every iteration would use under MMCV's formulas, for ``mmhooks plot-schedule``.

A config converted with ``--exact`` keeps lossy schedules as ``LegacyLrUpdaterHook`` /
``LegacyMomentumUpdaterHook`` custom hooks; an MMCV 1.x config has ``lr_config`` / ``momentum_config``.
:func:`simulate_config` runs those updaters the way the runner calls them (``before_run``, then
``before_train_epoch`` and ``before_train_iter``), together with any MMEngine ``param_scheduler`` of the
same config (stepped after every iteration or epoch), and returns the trace in the form of
:func:`mmhooks.optim.scheduler.plot.simulate_schedule`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import torch

from mmhooks.errors import ConfigError

__all__ = ["draw_trace", "legacy_updaters", "simulate_config"]

LEGACY_TYPES = ("LegacyLrUpdaterHook", "LegacyMomentumUpdaterHook")
INSTALL_PLOT = "pip install 'mmhooks[plot]'"


def legacy_updaters(config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(key path, MMCV config)`` of every MMCV-formula updater in ``config``.

    Raises:
        ConfigError: a custom hook that is a project's own updater (``*LrUpdaterHook`` that is not
            mmhooks'), which cannot be run here.
    """
    found: list[tuple[str, dict[str, Any]]] = []
    for key in ("lr_config", "momentum_config"):
        if isinstance(config.get(key), Mapping):
            found.append((key, {"kind": key, **dict(config[key])}))
    for i, hook in enumerate(config.get("custom_hooks") or []):
        kind = hook.get("type") if isinstance(hook, Mapping) else None
        if kind in LEGACY_TYPES:
            entry = {k: v for k, v in hook.items() if k not in ("type", "priority")}
            found.append((f"custom_hooks[{i}]", {"kind": "lr_config" if "Lr" in kind else "momentum_config", **entry}))
        elif isinstance(kind, str) and kind.endswith(("LrUpdaterHook", "MomentumUpdaterHook")):
            raise ConfigError(f"custom_hooks[{i}].type", kind, "a schedule mmhooks can run (param_scheduler, "
                              "LegacyLrUpdaterHook, LegacyMomentumUpdaterHook)",
                              "port that updater to an MMEngine ParamScheduler; plot-schedule cannot run a "
                              "project's own updater class.")
    return found


def _optimizer_cfg(config: Mapping[str, Any]) -> dict[str, Any]:
    wrapper = config.get("optim_wrapper")
    if isinstance(wrapper, Mapping) and isinstance(wrapper.get("optimizer"), Mapping):
        return dict(wrapper["optimizer"])
    optimizer = config.get("optimizer")
    return dict(optimizer) if isinstance(optimizer, Mapping) else {}


def _run_length(config: Mapping[str, Any]) -> tuple[bool, int | None, int | None]:
    """``(by_epoch, max_epochs, max_iters)`` from ``train_cfg`` (MMEngine) or ``runner`` (MMCV)."""
    train_cfg = config.get("train_cfg")
    if isinstance(train_cfg, Mapping) and ("max_epochs" in train_cfg or "max_iters" in train_cfg):
        if train_cfg.get("by_epoch") is False or "max_epochs" not in train_cfg:
            return False, None, train_cfg.get("max_iters")
        return True, train_cfg.get("max_epochs"), None
    runner = config.get("runner")
    if isinstance(runner, Mapping):
        if runner.get("type") == "IterBasedRunner":
            return False, None, runner.get("max_iters")
        return True, runner.get("max_epochs", config.get("total_epochs")), None
    if config.get("total_epochs"):
        return True, config["total_epochs"], None
    raise ConfigError("train_cfg", train_cfg, "max_epochs or max_iters (or MMCV's runner)",
                      "set train_cfg.max_epochs / max_iters.")


def simulate_config(config: Mapping[str, Any], epoch_length: int | None) -> dict[str, Any]:
    """The per-iteration lr (and momentum) of ``config``, MMCV-formula updaters included.

    Raises:
        ConfigError: no run length, no optimizer lr, an unknown epoch length for an epoch-based run, or an
            updater that cannot run here.
    """
    from mmhooks.legacy.lr_updater import build_lr_updater
    from mmhooks.legacy.momentum_updater import build_momentum_updater
    from mmhooks.optim.scheduler.builder import build_param_schedulers

    updaters = legacy_updaters(config)
    by_epoch, max_epochs, max_iters = _run_length(config)
    optimizer_cfg = _optimizer_cfg(config)
    base_lr = optimizer_cfg.get("lr")
    if isinstance(base_lr, bool) or not isinstance(base_lr, (int, float)):
        raise ConfigError("optim_wrapper.optimizer.lr", base_lr, "a number", "set the optimizer's lr.")
    if epoch_length is None:
        if by_epoch:
            raise ConfigError("--epoch-length", None, "the number of batches per epoch",
                              "pass --epoch-length N (the dataset is not built for an MMCV-formula schedule).")
        epoch_length = int(max_iters or 1)
    momentum = optimizer_cfg.get("momentum")
    betas = optimizer_cfg.get("betas")
    if momentum is None and isinstance(betas, Sequence) and betas:
        momentum = betas[0]
    length_of_run = max_epochs if by_epoch else max_iters
    if isinstance(length_of_run, bool) or not isinstance(length_of_run, int) or length_of_run <= 0:
        raise ConfigError("train_cfg.max_epochs" if by_epoch else "train_cfg.max_iters", length_of_run,
                          "a positive int", "set the run length.")
    total = length_of_run * epoch_length if by_epoch else length_of_run
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=float(base_lr), momentum=float(momentum or 0.0))
    hooks = []
    for path, entry in updaters:
        cfg = {k: v for k, v in entry.items() if k != "kind"}
        if entry["kind"] == "lr_config":
            hooks.append(build_lr_updater(cfg, path, by_epoch_default=by_epoch))
        else:
            hooks.append(build_momentum_updater(cfg, path))
    schedulers = build_param_schedulers(config.get("param_scheduler"), optimizer, epoch_length=epoch_length,
                                        max_epochs=max_epochs if by_epoch else None,
                                        max_iters=None if by_epoch else total)
    steppers = schedulers if isinstance(schedulers, list) else []
    runner = SimpleNamespace(epoch=0, iter=0, max_epochs=max_epochs if by_epoch else None, max_iters=total,
                             optimizer=optimizer, data_loader=range(epoch_length))
    for hook in hooks:
        hook.before_run(runner)
    group = optimizer.param_groups[0]
    lrs: list[float] = []
    momenta: list[float] = []
    for index in range(total):
        if index % epoch_length == 0:
            runner.epoch = index // epoch_length if by_epoch else 0
            if by_epoch or index == 0:
                for hook in hooks:
                    hook.before_train_epoch(runner)
        runner.iter = index
        for hook in hooks:
            hook.before_train_iter(runner, batch_idx=index % epoch_length)
        lrs.append(float(group["lr"]))
        momenta.append(float(group["momentum"]))
        for scheduler in steppers:
            if not scheduler.by_epoch:
                scheduler.step()
        if by_epoch and (index + 1) % epoch_length == 0:
            for scheduler in steppers:
                if scheduler.by_epoch:
                    scheduler.step()
    return {"lr": lrs, "momentum": momenta if momentum is not None else None,
            "epoch_starts": list(range(0, total, epoch_length)), "epoch_length": epoch_length,
            "max_iters": total, "by_epoch": by_epoch}


def draw_trace(trace: Mapping[str, Any], out_path: str, title: str = "") -> str:
    """Write the lr (and momentum) curve of ``trace`` to ``out_path``.

    Raises:
        ConfigError: matplotlib is not installed (the message gives the install command).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("--output", out_path, "matplotlib to draw the image",
                          f"install it with {INSTALL_PLOT}, or leave out -o for a table.") from None
    figure = Figure(figsize=(8, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(trace["lr"], color="tab:blue", drawstyle="steps-post", label="lr")
    axes.set_xlabel("iteration")
    axes.set_ylabel("lr")
    if title:
        axes.set_title(title)
    if len(trace["epoch_starts"]) <= 50:
        for start in trace["epoch_starts"][1:]:
            axes.axvline(start, color="0.85", linewidth=0.8, zorder=0)
    if trace["momentum"] is not None:
        twin = axes.twinx()
        twin.plot(trace["momentum"], color="tab:orange", drawstyle="steps-post", label="momentum")
        twin.set_ylabel("momentum")
    figure.tight_layout()
    figure.savefig(out_path)
    return str(out_path)
