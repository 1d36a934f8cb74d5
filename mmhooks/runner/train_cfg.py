"""``train_cfg`` parsing: MMEngine's two loop forms, validated up front."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mmhooks.errors import ConfigError, check_keys, closest

__all__ = ["TrainSchedule", "parse_train_cfg"]

_EPOCH_KEYS = ("by_epoch", "max_epochs", "val_begin", "val_interval", "dynamic_intervals", "type")
_ITER_KEYS = ("by_epoch", "max_iters", "val_begin", "val_interval", "dynamic_intervals", "type")
_LOOP_TYPES = {"EpochBasedTrainLoop": True, "IterBasedTrainLoop": False}


@dataclass
class TrainSchedule:
    """The training length and validation schedule of an MMEngine ``train_cfg``."""

    by_epoch: bool
    max_epochs: int = 0
    max_iters: int = 0
    val_begin: int = 1
    val_interval: int = 1
    milestones: list[int] = field(default_factory=lambda: [0])
    intervals: list[int] = field(default_factory=lambda: [1])

    def interval_after(self, done: int) -> int:
        """The validation interval in force after ``done`` epochs/iterations (MMEngine bisects ``done + 1``)."""
        return self.intervals[bisect.bisect(self.milestones, done + 1) - 1]

    def validation_due(self, done: int) -> bool:
        """MMEngine's check after ``done`` completed epochs (or iterations)."""
        self.val_interval = self.interval_after(done)
        last = self.max_epochs if self.by_epoch else self.max_iters
        return done >= self.val_begin and (done % self.val_interval == 0 or done == last)


def _positive_int(cfg: Mapping[str, Any], key: str, path: str, default: int | None = None) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "val_begin" else 1):
        raise ConfigError(key, value, "a positive int", f"set {key} to a whole number such as 1.", path)
    return value


def parse_train_cfg(cfg: Mapping[str, Any], path: str = "train_cfg") -> TrainSchedule:
    """Validate ``train_cfg`` and return its schedule.

    Raises:
        ConfigError: both or neither of ``max_epochs``/``max_iters``, ``type`` together
            with ``by_epoch``, an unknown key or loop type, or a non-positive length.
    """
    if not isinstance(cfg, Mapping):
        raise ConfigError(path, cfg, "a dict such as dict(by_epoch=True, max_epochs=12)", "write train_cfg as a dict.")
    cfg = dict(cfg)
    if "type" in cfg and "by_epoch" in cfg:
        raise ConfigError("by_epoch", cfg["by_epoch"], "either 'type' or 'by_epoch', not both",
                          "delete by_epoch (the loop type decides it).", path)
    if "type" in cfg:
        loop_type = cfg.pop("type")
        if loop_type not in _LOOP_TYPES:
            near = closest(loop_type, _LOOP_TYPES)
            fix = f"did you mean {near!r}?" if near else "use by_epoch=True or by_epoch=False instead."
            raise ConfigError("type", loop_type, f"one of {sorted(_LOOP_TYPES)}", fix, path)
        cfg["by_epoch"] = _LOOP_TYPES[loop_type]
    # a misspelt max_epochs must not read as "neither was set"
    check_keys(path, cfg, set(_EPOCH_KEYS) | set(_ITER_KEYS), "a key of train_cfg")
    has_epochs, has_iters = "max_epochs" in cfg, "max_iters" in cfg
    if has_epochs == has_iters:
        got = {k: cfg[k] for k in ("max_epochs", "max_iters") if k in cfg}
        raise ConfigError("max_epochs", got or None, "exactly one of max_epochs or max_iters",
                          "set max_epochs=N for epoch-based or max_iters=N for iteration-based training.", path)
    by_epoch = bool(cfg.get("by_epoch", has_epochs))
    if by_epoch and not has_epochs:
        raise ConfigError("max_iters", cfg["max_iters"], "max_epochs when by_epoch=True",
                          "use max_epochs, or set by_epoch=False.", path)
    if not by_epoch and not has_iters:
        raise ConfigError("max_epochs", cfg["max_epochs"], "max_iters when by_epoch=False",
                          "use max_iters, or set by_epoch=True.", path)
    check_keys(path, cfg, _EPOCH_KEYS if by_epoch else _ITER_KEYS,
               f"a key of {'epoch' if by_epoch else 'iteration'}-based train_cfg")
    val_interval = _positive_int(cfg, "val_interval", path, 1 if by_epoch else 1000)
    schedule = TrainSchedule(
        by_epoch=by_epoch,
        max_epochs=_positive_int(cfg, "max_epochs", path) if by_epoch else 1,
        max_iters=_positive_int(cfg, "max_iters", path) if not by_epoch else 0,
        val_begin=_positive_int(cfg, "val_begin", path, 1),
        val_interval=val_interval,
        milestones=[0],
        intervals=[val_interval],
    )
    dynamic = cfg.get("dynamic_intervals")
    if dynamic is not None:
        if not isinstance(dynamic, Sequence) or not all(isinstance(d, (list, tuple)) and len(d) == 2 for d in dynamic):
            raise ConfigError("dynamic_intervals", dynamic, "a list of (milestone, interval) pairs",
                              "write e.g. dynamic_intervals=[(10, 1)].", path)
        pairs = sorted((int(m), int(i)) for m, i in dynamic)
        schedule.milestones += [m for m, _ in pairs]
        schedule.intervals += [i for _, i in pairs]
    return schedule
