"""``FakeRunner``: a small runner for driving hooks by hand in tests and bug reports.

It implements :class:`~mmhooks.runner.protocol.RunnerLike` (``mypy`` checks
that below), with plain attributes a test sets as it goes (``runner.epoch =
3``), a real :class:`~mmhooks.logging.MessageHub`, train/val/test loops that
read the runner's counters, a visualizer that records what hooks draw, and a
``save_checkpoint`` that writes MMEngine's checkpoint layout. The same object
also drives MMEngine's own hooks, so one scenario can run both for a
differential test.

Example:
    >>> from mmhooks.hooks import Hook
    >>> class CountIters(Hook):
    ...     def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
    ...         runner.message_hub.update_info("seen", runner.iter)
    >>> runner = FakeRunner(max_iters=4)
    >>> runner.register_hook(CountIters())
    >>> for runner.iter in range(2):
    ...     runner.call_hook("after_train_iter", batch_idx=runner.iter)
    >>> runner.message_hub.get_info("seen"), runner.train_loop.iter
    (1, 1)
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from torch import nn

from mmhooks.errors import check_keys

__all__ = ["FakeEvalLoop", "FakeRunner", "FakeTrainLoop", "RecordingVisualizer"]

_ids = itertools.count()


class FakeTrainLoop:
    """``runner.train_loop``: the runner's counters and limits, a dataloader and MMEngine's stop flag."""

    def __init__(self, runner: FakeRunner, dataloader: Any = None, val_interval: int = 1, val_begin: int = 1) -> None:
        self._runner = runner
        self.dataloader = dataloader
        self.val_interval = val_interval
        self.val_begin = val_begin
        self.stop_training = False

    @property
    def epoch(self) -> int:
        return self._runner.epoch

    @property
    def iter(self) -> int:
        return self._runner.iter

    @property
    def max_epochs(self) -> int:
        return self._runner.max_epochs

    @property
    def max_iters(self) -> int:
        return self._runner.max_iters


class FakeEvalLoop:
    """``runner.val_loop`` / ``runner.test_loop``: the runner's dataloader and evaluator for one stage."""

    def __init__(self, runner: FakeRunner, stage: str) -> None:
        self._runner = runner
        self._stage = stage

    @property
    def dataloader(self) -> Any:
        return getattr(self._runner, f"{self._stage}_dataloader")

    @property
    def evaluator(self) -> Any:
        return getattr(self._runner, f"{self._stage}_evaluator")


class RecordingVisualizer:
    """Accepts any visualizer call (``add_scalars``, ``add_datasample``, ``close``...) and records it.

    ``calls`` holds ``(method, args, kwargs)`` in order; :meth:`called` lists one method's calls.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return record

    def called(self, method: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(args, kwargs) for name, args, kwargs in self.calls if name == method]


# Every attribute a test may set through the constructor (RunnerLike's names).
_ATTRIBUTES = (
    "_resume", "_log_dir", "_train_loop", "cfg", "deterministic", "distributed", "epoch", "experiment_name", "hooks",
    "iter", "launcher", "load_from", "log_dir", "log_processor", "logger", "max_epochs", "max_iters", "message_hub",
    "model", "optim_wrapper", "param_schedulers", "rank", "seed", "test_dataloader", "test_evaluator", "test_loop",
    "timestamp", "train_dataloader", "train_loop", "val_dataloader", "val_evaluator", "val_loop", "visualizer",
    "work_dir", "world_size",
)


class FakeRunner:
    """The runner hooks see, without training: every :class:`RunnerLike` member, set by the test.

    Args:
        **attributes: Any of RunnerLike's names, e.g. ``epoch=2, model=net,
            train_dataloader=loader``. A name that is not one of them raises
            :class:`~mmhooks.errors.ConfigError` (so a typo cannot pass silently).
            ``log_dir`` defaults to ``work_dir/timestamp``; ``train_loop`` to a
            :class:`FakeTrainLoop` over ``train_dataloader``.

    Attributes:
        saved: The file names :meth:`save_checkpoint` wrote, in order.
    """

    def __init__(self, **attributes: Any) -> None:
        check_keys("FakeRunner", attributes, _ATTRIBUTES, what="a RunnerLike attribute")
        self.cfg: Any = _empty_config()
        self.work_dir = ""
        self.timestamp = "20240101_000000"
        self.experiment_name = f"fake_{self.timestamp}"
        self.seed: Any = 0
        self.deterministic = False
        self.launcher = "none"
        self.distributed = False
        self.rank = 0
        self.world_size = 1
        self.epoch = 0
        self.iter = 0
        self.max_epochs = 0
        self.max_iters = 0
        self.model: Any = None
        self.optim_wrapper: Any = None
        self.param_schedulers: Any = None
        self.train_dataloader: Any = None
        self.val_dataloader: Any = None
        self.test_dataloader: Any = None
        self.val_evaluator: Any = None
        self.test_evaluator: Any = None
        self.logger: logging.Logger = logging.getLogger("mmhooks_fake_runner")
        from mmhooks.logging.message_hub import MessageHub

        self.message_hub: Any = MessageHub(f"fake_runner_{next(_ids)}")
        self.visualizer: Any = RecordingVisualizer()
        self.log_processor: Any = None
        self.hooks: list[Any] = []
        self.load_from: Optional[str] = None
        self._resume = False
        self._log_dir_value: Optional[str] = None
        self.saved: list[str] = []
        given = dict(attributes)
        self.train_loop: Any = given.pop("train_loop", FakeTrainLoop(self, given.get("train_dataloader")))
        self._train_loop: Any = given.pop("_train_loop", self.train_loop)
        self.val_loop: Any = given.pop("val_loop", FakeEvalLoop(self, "val"))
        self.test_loop: Any = given.pop("test_loop", FakeEvalLoop(self, "test"))
        for name, value in given.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ paths
    @property
    def log_dir(self) -> str:
        """``work_dir/timestamp`` unless a test set it."""
        return self._log_dir_value or os.path.join(self.work_dir, self.timestamp)

    @log_dir.setter
    def log_dir(self, value: str) -> None:
        self._log_dir_value = value

    @property
    def _log_dir(self) -> str:
        return self.log_dir

    @_log_dir.setter
    def _log_dir(self, value: str) -> None:
        self._log_dir_value = value

    @property
    def model_name(self) -> str:
        return type(self.model).__name__

    # ------------------------------------------------------------------ hooks
    def register_hook(self, hook: Any, priority: Any = None) -> None:
        """Insert ``hook`` (or a config dict) by priority, after hooks of equal priority, as MMEngine does."""
        from mmhooks.runner.priority import get_priority

        if isinstance(hook, Mapping):
            from mmhooks.registry import HOOKS

            cfg = dict(hook)
            priority = cfg.pop("priority", priority)
            hook = HOOKS.build(cfg)
        if priority is not None:
            hook.priority = priority
        rank = get_priority(getattr(hook, "priority", "NORMAL"))
        index = len(self.hooks)
        while index > 0 and get_priority(getattr(self.hooks[index - 1], "priority", "NORMAL")) > rank:
            index -= 1
        self.hooks.insert(index, hook)

    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        """Call ``fn_name`` on every registered hook, in order."""
        for hook in self.hooks:
            getattr(hook, fn_name)(self, **kwargs)

    # ------------------------------------------------------------ checkpoints
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
    ) -> None:
        """Write ``out_dir/filename`` in MMEngine's layout (meta, state_dict, message_hub, optimizer...).

        ``meta`` defaults to MMEngine's counters; ``before_save_checkpoint``
        runs on the registered hooks before the file is written.
        """
        from mmhooks.runner.checkpoint import atomic_save, get_state_dict, to_cpu, weights_to_cpu

        checkpoint_meta = dict(meta or {})
        checkpoint_meta.setdefault("epoch", self.epoch + 1 if by_epoch else self.epoch)
        checkpoint_meta.setdefault("iter", self.iter if by_epoch else self.iter + 1)
        checkpoint: dict[str, Any] = {"meta": checkpoint_meta}
        if isinstance(self.model, nn.Module):
            checkpoint["state_dict"] = weights_to_cpu(get_state_dict(self.model))
        if hasattr(self.message_hub, "state_dict"):
            checkpoint["message_hub"] = self.message_hub.state_dict()
        if save_optimizer and self.optim_wrapper is not None:
            checkpoint["optimizer"] = to_cpu(self.optim_wrapper.state_dict())
        if save_param_scheduler and self.param_schedulers:
            schedulers = self.param_schedulers
            checkpoint["param_schedulers"] = (
                {key: [s.state_dict() for s in group] for key, group in schedulers.items()}
                if isinstance(schedulers, Mapping) else [s.state_dict() for s in schedulers]
            )
        self.call_hook("before_save_checkpoint", checkpoint=checkpoint)
        atomic_save(checkpoint, os.path.join(out_dir, filename))
        self.saved.append(filename)

    def load_checkpoint(
        self, filename: str, map_location: Any = "cpu", strict: bool = False, revise_keys: Any = ((r"^module\.", ""),)
    ) -> dict[str, Any]:
        """Read ``filename``, run ``after_load_checkpoint``, then load its weights into ``model`` (MMEngine's order)."""
        from mmhooks.runner.checkpoint import load_checkpoint_file, load_checkpoint_to_model

        checkpoint: dict[str, Any] = load_checkpoint_file(filename, map_location)
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        if isinstance(self.model, nn.Module):
            load_checkpoint_to_model(self.model, checkpoint, strict, self.logger, revise_keys, source=filename)
        return checkpoint


def _empty_config() -> Any:
    from mmhooks.config import Config

    return Config()


if TYPE_CHECKING:  # mypy: FakeRunner provides every member hooks may read
    from mmhooks.runner.protocol import RunnerLike

    _runner_like: RunnerLike = FakeRunner()
