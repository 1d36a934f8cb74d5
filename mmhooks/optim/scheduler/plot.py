"""Preview a ``param_scheduler`` config without training: per-iteration values, as a plot or a table.

The simulation builds the real schedulers on a one-parameter SGD optimizer and
steps them the way MMEngine's loops and ``ParamSchedulerHook`` do, so the curve
is exactly what a run would use. ReduceOnPlateau never acts here (there are no
validation metrics).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from mmhooks.errors import ConfigError
from mmhooks.optim.scheduler.builder import build_param_schedulers

__all__ = ["plot_schedule", "schedule_table", "simulate_schedule"]

log = logging.getLogger(__name__)


def simulate_schedule(
    cfg_list: Any,
    *,
    base_lr: float,
    momentum: float | None = None,
    epoch_length: int,
    max_epochs: int | None = None,
    max_iters: int | None = None,
) -> dict[str, Any]:
    """The value of ``lr`` (and ``momentum``) that every training iteration would use.

    Args:
        cfg_list: A ``param_scheduler`` config (list or single dict).
        base_lr: The optimizer's ``lr``.
        momentum: The optimizer's momentum (``betas[0]`` for Adam); ``None``
            leaves momentum out of the result.
        epoch_length: Batches per epoch.
        max_epochs: Length of an epoch-based run.
        max_iters: Length of an iteration-based run (used when ``max_epochs`` is ``None``).

    Returns:
        ``lr`` and ``momentum`` (lists, one entry per iteration; ``momentum`` is
        ``None`` when not simulated), ``epoch_starts`` (iteration index of each
        epoch), ``epoch_length``, ``max_iters`` and ``by_epoch`` (the loop type).

    Raises:
        ConfigError: no run length, a non-positive ``epoch_length``, or a bad scheduler config.

    Example:
        >>> out = simulate_schedule([dict(type="StepLR", step_size=1, gamma=0.5)], base_lr=1.0, epoch_length=2,
        ...                         max_epochs=3)
        >>> out["lr"], out["epoch_starts"]
        ([1.0, 1.0, 0.5, 0.5, 0.25, 0.25], [0, 2, 4])
    """
    if isinstance(epoch_length, bool) or not isinstance(epoch_length, int) or epoch_length <= 0:
        raise ConfigError("epoch_length", epoch_length, "a positive int (batches per epoch)",
                          "pass the number of batches in one training epoch.")
    if max_epochs is None and max_iters is None:
        raise ConfigError("train_cfg", None, "max_epochs or max_iters", "set train_cfg.max_epochs or max_iters.")
    by_epoch = max_epochs is not None
    total = max_epochs * epoch_length if max_epochs is not None else int(max_iters)  # type: ignore[arg-type]
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr, momentum=momentum or 0.0)
    built = build_param_schedulers(
        cfg_list, optimizer, epoch_length=epoch_length, max_epochs=max_epochs, max_iters=None if by_epoch else total
    )
    schedulers = built if isinstance(built, list) else []
    group = optimizer.param_groups[0]
    lrs: list[float] = []
    momenta: list[float] = []
    for index in range(total):
        lrs.append(float(group["lr"]))
        momenta.append(float(group["momentum"]))
        optimizer.step()  # no gradient, so nothing moves; the schedulers see the order a run has
        for scheduler in schedulers:
            if not scheduler.by_epoch:
                scheduler.step()
        if by_epoch and (index + 1) % epoch_length == 0:
            for scheduler in schedulers:
                if scheduler.by_epoch:
                    scheduler.step()
    return {
        "lr": lrs,
        "momentum": momenta if momentum is not None else None,
        "epoch_starts": list(range(0, total, epoch_length)),
        "epoch_length": epoch_length,
        "max_iters": total,
        "by_epoch": by_epoch,
    }


def _get(node: Any, key: str, default: Any = None) -> Any:
    """``node[key]`` for a mapping or ``node.key`` for an object; ``default`` when absent."""
    if isinstance(node, Mapping):
        return node.get(key, default)
    return getattr(node, key, default)


def _epoch_length_of(loader: Any) -> int | None:
    """Batches per epoch of a built DataLoader, or of a loader config with ``num_batches`` or a sized dataset."""
    if loader is None:
        return None
    if not isinstance(loader, Mapping):
        try:
            return len(loader)
        except TypeError:
            return None
    if isinstance(loader.get("num_batches"), int):
        return int(loader["num_batches"])
    dataset = loader.get("dataset")
    if isinstance(dataset, Mapping):
        dataset = _build_dataset(dataset)
    if dataset is None:
        return None
    try:
        size = len(dataset)
    except TypeError:
        return None
    batch_size = int(loader.get("batch_size", 1))
    return size // batch_size if loader.get("drop_last", False) else math.ceil(size / batch_size)


def _build_dataset(cfg: Mapping[str, Any]) -> Any:
    """The dataset a config describes (its length gives the epoch length), or None if it cannot be built here.

    Any failure (a type registered only on the training machine, data files
    missing here) just means the epoch length must be given explicitly.
    """
    from mmhooks.registry import DATASETS

    try:
        return DATASETS.build(dict(cfg), path="train_dataloader.dataset")
    except Exception as err:  # noqa: BLE001 - the caller asks for the length instead
        log.debug("plot_schedule: cannot build train_dataloader.dataset (%s); epoch length unknown.", err)
        return None


def _momentum_of(optimizer_cfg: Any) -> float | None:
    if _get(optimizer_cfg, "momentum") is not None:
        return float(_get(optimizer_cfg, "momentum"))
    betas = _get(optimizer_cfg, "betas")
    return float(betas[0]) if isinstance(betas, Sequence) and betas else None


def _simulate_config(config: Any, epoch_length: int | None) -> dict[str, Any]:
    optimizer_cfg = _get(_get(config, "optim_wrapper", {}), "optimizer", {})
    base_lr = _get(optimizer_cfg, "lr")
    if not isinstance(base_lr, (int, float)) or isinstance(base_lr, bool):
        raise ConfigError("optim_wrapper.optimizer.lr", base_lr, "a number", "set the optimizer's lr.")
    train_cfg = _get(config, "train_cfg", {}) or {}
    iter_based = (
        _get(train_cfg, "type") == "IterBasedTrainLoop"
        or _get(train_cfg, "by_epoch") is False
        or (_get(train_cfg, "max_iters") is not None and _get(train_cfg, "max_epochs") is None)
    )
    max_epochs = None if iter_based else _get(train_cfg, "max_epochs")
    max_iters = _get(train_cfg, "max_iters") if iter_based else None
    if max_epochs is None and max_iters is None:
        raise ConfigError("train_cfg", train_cfg, "max_epochs (epoch-based) or max_iters (iteration-based)",
                          "set train_cfg.max_epochs or train_cfg.max_iters.")
    length = epoch_length or _epoch_length_of(_get(config, "train_dataloader"))
    if length is None and iter_based:
        assert max_iters is not None  # max_epochs is None here, so the check above saw max_iters
        length = int(max_iters)  # only convert_to_iter_based would need the real one
    if length is None:
        raise ConfigError("train_dataloader", _get(config, "train_dataloader"),
                          "a DataLoader, num_batches or a dataset with a length",
                          "pass the epoch length explicitly (epoch_length=...).")
    return simulate_schedule(_get(config, "param_scheduler"), base_lr=float(base_lr),
                             momentum=_momentum_of(optimizer_cfg), epoch_length=length, max_epochs=max_epochs,
                             max_iters=max_iters)


def schedule_table(trace: dict[str, Any], max_rows: int = 20) -> str:
    """A compact text table of a :func:`simulate_schedule` result: every epoch start (or evenly spaced rows)."""
    total = len(trace["lr"])
    if total <= max_rows:
        rows = list(range(total))
    else:
        starts = trace["epoch_starts"]
        picked = starts if len(starts) < max_rows else [i * (total - 1) // (max_rows - 1) for i in range(max_rows)]
        rows = sorted(set(picked) | {total - 1})
    with_momentum = trace["momentum"] is not None
    header = f"{'iter':>8} {'epoch':>6} {'lr':>12}" + (f" {'momentum':>10}" if with_momentum else "")
    lines = [header]
    for index in rows:
        line = f"{index:>8} {index // trace['epoch_length']:>6} {trace['lr'][index]:>12.6g}"
        if with_momentum:
            line += f" {trace['momentum'][index]:>10.6g}"
        lines.append(line)
    return "\n".join(lines)


def plot_schedule(config_dict: Any, out_path: str | None = None, *, epoch_length: int | None = None) -> str:
    """Plot the schedule an MMEngine config would run, or describe it as a table.

    Args:
        config_dict: A config (dict or ``Config``) with ``param_scheduler``,
            ``optim_wrapper.optimizer.lr``, ``train_cfg`` and ``train_dataloader``.
        out_path: Image file to write; ``None`` returns the table.
        epoch_length: Batches per epoch when ``train_dataloader`` does not tell.

    Returns:
        ``out_path`` once the image is written, or the text table when no path
        is given or matplotlib is not installed.

    Raises:
        ConfigError: a value the schedule cannot be derived from.
    """
    trace = _simulate_config(config_dict, epoch_length)
    if out_path is None:
        return schedule_table(trace)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        log.warning("plot_schedule: matplotlib is not installed, so %s was not written; pip install matplotlib.",
                    out_path)
        return schedule_table(trace)
    figure = Figure(figsize=(8, 4))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(trace["lr"], color="tab:blue", drawstyle="steps-post", label="lr")
    axes.set_xlabel("iteration")
    axes.set_ylabel("lr")
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
