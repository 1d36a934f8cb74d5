"""The ``Hook`` base class: MMEngine's 22 mount points and its helper predicates.

A runner calls every mount point with keyword arguments
(``hook.after_train_iter(runner, batch_idx=..., data_batch=..., outputs=...)``).
The per-mode epoch and iteration mount points route to ``_before_epoch``,
``_after_epoch``, ``_before_iter`` and ``_after_iter`` with a ``mode`` of
``"train"``, ``"val"`` or ``"test"``, so a hook can override one routing
helper to act in all three loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional, Union

from mmhooks.runner.protocol import RunnerLike

__all__ = ["DATA_BATCH", "Hook"]

DATA_BATCH = Optional[Union[dict[str, Any], tuple[Any, ...], list[Any]]]


class Hook:
    """Base class of every mmhooks (and MMEngine-style) hook.

    ``priority`` may be an int in ``[0, 100]``, a :class:`~mmhooks.runner.Priority`
    or its name; lower runs earlier. The runner stores the priority it was
    registered with on the instance.
    """

    priority: Any = "NORMAL"
    stages = (
        "before_run",
        "after_load_checkpoint",
        "before_train",
        "before_train_epoch",
        "before_train_iter",
        "after_train_iter",
        "after_train_epoch",
        "before_val",
        "before_val_epoch",
        "before_val_iter",
        "after_val_iter",
        "after_val_epoch",
        "after_val",
        "before_save_checkpoint",
        "after_train",
        "before_test",
        "before_test_epoch",
        "before_test_iter",
        "after_test_iter",
        "after_test_epoch",
        "after_test",
        "after_run",
    )

    # ---------------------------------------------------------------- run-level
    def before_run(self, runner: RunnerLike) -> None:
        """Before anything else, before checkpoints are loaded."""

    def after_run(self, runner: RunnerLike) -> None:
        """After everything, the last mount point of a run."""

    def before_train(self, runner: RunnerLike) -> None:
        """Before the first training epoch (after checkpoints are loaded)."""

    def after_train(self, runner: RunnerLike) -> None:
        """After the training loop ends."""

    def before_val(self, runner: RunnerLike) -> None:
        """Before a validation round."""

    def after_val(self, runner: RunnerLike) -> None:
        """After a validation round."""

    def before_test(self, runner: RunnerLike) -> None:
        """Before testing."""

    def after_test(self, runner: RunnerLike) -> None:
        """After testing."""

    def before_save_checkpoint(self, runner: RunnerLike, checkpoint: dict[str, Any]) -> None:
        """Edit the checkpoint dict before it is written (rank zero only)."""

    def after_load_checkpoint(self, runner: RunnerLike, checkpoint: dict[str, Any]) -> None:
        """Read or edit a loaded checkpoint dict before the model and counters take it."""

    # ------------------------------------------------------------------ epochs
    def before_train_epoch(self, runner: RunnerLike) -> None:
        self._before_epoch(runner, mode="train")

    def before_val_epoch(self, runner: RunnerLike) -> None:
        self._before_epoch(runner, mode="val")

    def before_test_epoch(self, runner: RunnerLike) -> None:
        self._before_epoch(runner, mode="test")

    def after_train_epoch(self, runner: RunnerLike) -> None:
        self._after_epoch(runner, mode="train")

    def after_val_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        self._after_epoch(runner, mode="val")

    def after_test_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        self._after_epoch(runner, mode="test")

    # -------------------------------------------------------------- iterations
    def before_train_iter(self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="train")

    def before_val_iter(self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="val")

    def before_test_iter(self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="test")

    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="train")

    def after_val_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[Sequence[Any]] = None
    ) -> None:
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="val")

    def after_test_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[Sequence[Any]] = None
    ) -> None:
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="test")

    # ------------------------------------------------------- routing helpers
    def _before_epoch(self, runner: RunnerLike, mode: str = "train") -> None:
        """Shared body of the three ``before_*_epoch`` mount points."""

    def _after_epoch(self, runner: RunnerLike, mode: str = "train") -> None:
        """Shared body of the three ``after_*_epoch`` mount points."""

    def _before_iter(self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, mode: str = "train") -> None:
        """Shared body of the three ``before_*_iter`` mount points."""

    def _after_iter(
        self,
        runner: RunnerLike,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Optional[Union[Sequence[Any], dict[str, Any]]] = None,
        mode: str = "train",
    ) -> None:
        """Shared body of the three ``after_*_iter`` mount points."""

    # -------------------------------------------------------------- predicates
    def every_n_epochs(self, runner: RunnerLike, n: int, start: int = 0) -> bool:
        """True on every ``n``-th epoch counted from ``start`` (``epoch + 1 == start`` counts)."""
        done = runner.epoch + 1 - start
        return done % n == 0 if done >= 0 and n > 0 else False

    def every_n_inner_iters(self, batch_idx: int, n: int) -> bool:
        """True on every ``n``-th iteration of the current epoch."""
        return (batch_idx + 1) % n == 0 if n > 0 else False

    def every_n_train_iters(self, runner: RunnerLike, n: int, start: int = 0) -> bool:
        """True on every ``n``-th training iteration counted from ``start``."""
        done = runner.iter + 1 - start
        return done % n == 0 if done >= 0 and n > 0 else False

    def end_of_epoch(self, dataloader: Any, batch_idx: int) -> bool:
        """True on the last batch of ``dataloader``."""
        return batch_idx + 1 == len(dataloader)

    def is_last_train_epoch(self, runner: RunnerLike) -> bool:
        return runner.epoch + 1 == runner.max_epochs

    def is_last_train_iter(self, runner: RunnerLike) -> bool:
        return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self) -> list[str]:
        """The mount points this hook's class overrides (for the hook-order printout)."""
        cls = type(self)
        stages = {stage for stage in Hook.stages if getattr(cls, stage, None) is not getattr(Hook, stage)}
        routed = {
            "_before_epoch": ("before_train_epoch", "before_val_epoch", "before_test_epoch"),
            "_after_epoch": ("after_train_epoch", "after_val_epoch", "after_test_epoch"),
            "_before_iter": ("before_train_iter", "before_val_iter", "before_test_iter"),
            "_after_iter": ("after_train_iter", "after_val_iter", "after_test_iter"),
        }
        for helper, names in routed.items():
            if getattr(cls, helper, None) is not getattr(Hook, helper):
                stages.update(names)
        return list(stages)
