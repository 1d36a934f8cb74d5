"""The run's state in one place: who the run is, how far it got, and what it was built from.

A :class:`RunContext` is owned by one runner (the config-driven
:class:`~mmhooks.runner.Runner`, or the runner a ``HookCallback`` makes in a
user's own Trainer). Backends and hooks read it through the runner; nothing
keeps a second copy. Counters follow MMEngine's loops: ``iter`` counts
``train_step`` calls, ``epoch`` counts finished epochs.
"""

from __future__ import annotations

import os.path as osp
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmhooks.errors import ConfigError, check_keys
from mmhooks.runner.train_cfg import TrainSchedule, parse_train_cfg

__all__ = ["RANDOMNESS_KEYS", "BuiltObjects", "RunContext", "RunIdentity", "RunProgress", "context_from_config",
           "experiment_name", "new_timestamp"]

RANDOMNESS_KEYS = ("deterministic", "diff_rank_seed", "seed")


def new_timestamp() -> str:
    """MMEngine's run timestamp, ``YYYYmmdd_HHMMSS`` in local time."""
    return time.strftime("%Y%m%d_%H%M%S", time.localtime())


def experiment_name(given: str | None, cfg_filename: str | None, timestamp: str) -> str:
    """MMEngine's rule: ``{given}_{timestamp}``, else ``{config file stem}_{timestamp}``, else the timestamp."""
    if given:
        return f"{given}_{timestamp}"
    if cfg_filename:
        return f"{osp.splitext(osp.basename(cfg_filename))[0]}_{timestamp}"
    return timestamp


@dataclass
class RunIdentity:
    """Names and paths of a run. Ranks agree on them (rank zero's win) before any file is written."""

    work_dir: str
    timestamp: str
    given_name: str | None = None
    cfg_filename: str | None = None
    seed: int | None = None
    deterministic: bool = False
    diff_rank_seed: bool = False
    launcher: str = "none"
    default_scope: str = "mmengine"
    log_level: str | int = "INFO"

    @property
    def experiment_name(self) -> str:
        return experiment_name(self.given_name, self.cfg_filename, self.timestamp)

    @property
    def log_dir(self) -> str:
        """``{work_dir}/{timestamp}``: the log, ``vis_data`` and event files of this run."""
        return osp.join(self.work_dir, self.timestamp)


@dataclass
class RunProgress:
    """MMEngine's loop counters and limits.

    ``max_iters`` of an epoch-based run is known once the train dataloader
    exists (``max_epochs * len(loader)``).
    """

    by_epoch: bool = True
    epoch: int = 0
    iter: int = 0
    max_epochs: int = 0
    max_iters: int = 0
    val_begin: int = 1
    val_interval: int = 1
    stop_training: bool = False


@dataclass
class BuiltObjects:
    """What the run trains and evaluates with: configs until a backend builds them, then the objects."""

    model: Any = None
    optim_wrapper: Any = None
    param_schedulers: Any = None
    train_dataloader: Any = None
    val_dataloader: Any = None
    test_dataloader: Any = None
    val_evaluator: Any = None
    test_evaluator: Any = None


@dataclass
class RunContext:
    """Identity, schedule, progress and built objects of one run."""

    identity: RunIdentity
    progress: RunProgress = field(default_factory=RunProgress)
    schedule: TrainSchedule | None = None
    objects: BuiltObjects = field(default_factory=BuiltObjects)
    cfg: Any = None
    load_from: str | None = None
    resume: bool | str = False
    resumed_from: str | None = None

    def apply_schedule(self, schedule: TrainSchedule | None) -> None:
        """Take the training length and validation schedule of ``train_cfg``."""
        self.schedule = schedule
        if schedule is None:
            return
        progress = self.progress
        progress.by_epoch = schedule.by_epoch
        progress.val_begin = schedule.val_begin
        progress.val_interval = schedule.val_interval
        if schedule.by_epoch:
            progress.max_epochs = schedule.max_epochs
        else:
            progress.max_epochs = 1
            progress.max_iters = schedule.max_iters

    def set_epoch_length(self, length: int | None) -> None:
        """An epoch-based run knows ``max_iters`` once its train dataloader has a length."""
        if self.progress.by_epoch and length:
            self.progress.max_iters = self.progress.max_epochs * int(length)


def context_from_config(values: Mapping[str, Any], cfg: Any = None, timestamp: str | None = None,
                        seed: int | None = None) -> RunContext:
    """The context of a run described by MMEngine's config keys (``values``); validated, nothing written.

    Reads ``work_dir``, ``experiment_name``, ``randomness``, ``launcher``,
    ``default_scope``, ``log_level``, ``load_from``, ``resume`` and
    ``train_cfg``; ``seed`` is the seed actually used (the config's if None).
    """
    randomness = values.get("randomness") or {}
    if not isinstance(randomness, Mapping):
        raise ConfigError("randomness", randomness, "a dict such as dict(seed=0)", "write randomness=dict(seed=0).")
    check_keys("randomness", randomness, RANDOMNESS_KEYS)
    timestamp = timestamp or new_timestamp()
    filename = getattr(cfg, "filename", None)
    work_dir = values.get("work_dir")
    identity = RunIdentity(
        work_dir=osp.abspath(work_dir) if work_dir else "",
        timestamp=timestamp,
        given_name=values.get("experiment_name"),
        cfg_filename=filename,
        seed=seed if seed is not None else randomness.get("seed"),
        deterministic=bool(randomness.get("deterministic", False)),
        diff_rank_seed=bool(randomness.get("diff_rank_seed", False)),
        launcher=values.get("launcher") or "none",
        default_scope=values.get("default_scope") or "mmengine",
        log_level=values.get("log_level") or "INFO",
    )
    train_cfg = values.get("train_cfg")
    context = RunContext(identity=identity, cfg=cfg, load_from=values.get("load_from"),
                         resume=values.get("resume") or False)
    context.apply_schedule(parse_train_cfg(train_cfg) if train_cfg is not None else None)
    return context
