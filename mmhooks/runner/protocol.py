"""``RunnerLike``: what a hook may read from the runner it is given.

MMEngine documents its runner's attributes but types hooks' ``runner``
argument as ``Runner``; mmhooks' hooks run under several runners (the
config-driven :class:`~mmhooks.runner.Runner`, the runner a ``HookCallback``
builds inside a user's own Lightning Trainer, and MMCV's legacy view), so
hooks are annotated against this Protocol instead, and ``mypy --strict``
checks that they read nothing else. The private names at the end are the
ones MMEngine's own hooks read (``runner._resume`` in its EMAHook,
``runner._train_loop`` and ``runner._log_dir`` in its LoggerHook); they are
part of the contract because those hooks run on mmhooks unchanged.

Test doubles are built from :class:`FakeRunner` (``mmhooks.testing``), which
implements this Protocol, never from ad-hoc objects.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

__all__ = ["EvalLoopLike", "RunnerLike", "TrainLoopLike"]


class TrainLoopLike(Protocol):
    """What hooks read from ``runner.train_loop`` (MMEngine's loop attributes)."""

    @property
    def dataloader(self) -> Any: ...

    @property
    def epoch(self) -> int: ...

    @property
    def iter(self) -> int: ...

    @property
    def max_epochs(self) -> int: ...

    @property
    def max_iters(self) -> int: ...

    @property
    def val_interval(self) -> int: ...

    @property
    def val_begin(self) -> int: ...

    stop_training: bool


class EvalLoopLike(Protocol):
    """What hooks read from ``runner.val_loop`` / ``runner.test_loop``."""

    @property
    def dataloader(self) -> Any: ...

    @property
    def evaluator(self) -> Any: ...


class RunnerLike(Protocol):
    """MMEngine's runner attributes and methods that hooks use.

    Counters follow MMEngine's loops: ``iter`` counts ``train_step`` calls,
    ``epoch`` counts finished epochs (it is already incremented when the
    validation at the end of an epoch runs).
    """

    # ---------------------------------------------------------------- identity
    @property
    def cfg(self) -> Any: ...

    @property
    def work_dir(self) -> str: ...

    @property
    def log_dir(self) -> str: ...

    @property
    def timestamp(self) -> str: ...

    @property
    def experiment_name(self) -> str: ...

    @property
    def model_name(self) -> str: ...

    @property
    def seed(self) -> Any: ...

    @property
    def deterministic(self) -> bool: ...

    @property
    def launcher(self) -> str: ...

    @property
    def distributed(self) -> bool: ...

    @property
    def rank(self) -> int: ...

    @property
    def world_size(self) -> int: ...

    # ---------------------------------------------------------------- progress
    @property
    def epoch(self) -> int: ...

    @property
    def iter(self) -> int: ...

    @property
    def max_epochs(self) -> int: ...

    @property
    def max_iters(self) -> int: ...

    # ----------------------------------------------------------- built objects
    model: Any
    optim_wrapper: Any
    param_schedulers: Any

    @property
    def train_dataloader(self) -> Any: ...

    @property
    def val_dataloader(self) -> Any: ...

    @property
    def test_dataloader(self) -> Any: ...

    @property
    def train_loop(self) -> Any: ...

    @property
    def val_loop(self) -> Any: ...

    @property
    def test_loop(self) -> Any: ...

    @property
    def val_evaluator(self) -> Any: ...

    @property
    def test_evaluator(self) -> Any: ...

    # ---------------------------------------------------------------- services
    @property
    def logger(self) -> logging.Logger: ...

    @property
    def message_hub(self) -> Any: ...

    @property
    def visualizer(self) -> Any: ...

    @property
    def log_processor(self) -> Any: ...

    @property
    def hooks(self) -> list[Any]: ...

    def call_hook(self, fn_name: str, **kwargs: Any) -> None: ...

    def register_hook(self, hook: Any, priority: Any = None) -> None: ...

    def save_checkpoint(
        self,
        out_dir: str,
        filename: str,
        file_client_args: Any = None,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        meta: dict[str, Any] | None = None,
        by_epoch: bool = True,
        backend_args: Any = None,
    ) -> None: ...

    def load_checkpoint(
        self, filename: str, map_location: Any = "cpu", strict: bool = False, revise_keys: Any = ...
    ) -> dict[str, Any]: ...

    # ---------------------------------------- names MMEngine's own hooks read
    @property
    def load_from(self) -> str | None: ...

    @property
    def _resume(self) -> bool: ...

    @property
    def _train_loop(self) -> Any: ...

    @property
    def _log_dir(self) -> str: ...
