"""Every read or write of Lightning's private attributes lives here, so an upgrade touches one file.

Each function has a contract test in ``tests/adapters/lightning/test_lightning_contract.py``
that fails with a message naming the attribute when Lightning changes it.
:data:`TESTED_VERSIONS` is the range those tests ran against; importing the
backend under another version warns once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import lightning
import lightning.pytorch as pl

__all__ = [
    "PER_HOOK_MODULE_ATTRIBUTES",
    "TESTED_VERSIONS",
    "batches_done_in_resumed_epoch",
    "batches_ready",
    "check_lightning_version",
    "epoch_batches_done",
    "eval_loop_metrics",
    "install_val_policy",
    "is_last_train_batch",
    "mark_epoch_finished",
    "run_validation_now",
    "skip_empty_batch_metrics",
    "train_step_metrics",
]

TESTED_VERSIONS = ((2, 5), (2, 7))  # [lowest tested minor, first untested minor)

# What Lightning writes on the LightningModule around every hook call (``trainer/call.py``: the name of the
# hook running), about 25 times a batch. Plain values, never a parameter, submodule or buffer.
PER_HOOK_MODULE_ATTRIBUTES = frozenset({"_current_fx_name"})

_version_checked = False


def _minor(version: str) -> tuple[int, int]:
    parts = (version.split("+")[0].split(".") + ["0", "0"])[:2]
    return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)


def check_lightning_version(version: str | None = None) -> bool:
    """Warn once when Lightning's version is outside :data:`TESTED_VERSIONS`; True when inside."""
    global _version_checked
    version = version or lightning.__version__
    low, high = TESTED_VERSIONS
    inside = low <= _minor(version) < high
    if not inside and not _version_checked:
        warnings.warn(
            f"mmhooks' Lightning backend was tested with lightning {low[0]}.{low[1]} to {high[0]}.{high[1] - 1}.x; "
            f"this is {version}. It reads a few Lightning internals (see mmhooks.adapters.lightning._internals), "
            f"so check the results, or install a tested version: pip install 'lightning>={low[0]}.{low[1]},"
            f"<{high[0]}.{high[1]}'.",
            RuntimeWarning, stacklevel=2,
        )
    _version_checked = True
    return inside


def batches_ready(trainer: pl.Trainer) -> int:
    """Training batches fetched so far over the whole fit (``batch_progress.total.ready``).

    Unlike ``completed`` it is right straight after a resume from a checkpoint
    taken inside ``on_train_batch_end`` (Lightning issue #18060).
    """
    return int(trainer.fit_loop.epoch_loop.batch_progress.total.ready)


def batches_done_in_resumed_epoch(trainer: pl.Trainer, epoch_length: int) -> int:
    """Batches of the current epoch that a resumed fit has already trained on (0 at an epoch boundary).

    Valid when Lightning requests the train dataloader: loop counters are
    restored by then, and not yet reset for the restart.
    """
    if trainer.ckpt_path is None:
        return 0
    done = int(trainer.fit_loop.epoch_loop.batch_progress.current.ready)
    return done if 0 < done < epoch_length else 0


def is_last_train_batch(trainer: pl.Trainer, batch_idx: int) -> bool:
    """True on the last batch of the current training epoch (also for limit_train_batches)."""
    if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
        return True
    return batch_idx + 1 >= trainer.num_training_batches


def epoch_batches_done(trainer: pl.Trainer) -> bool:
    """True once the running training epoch has fetched its last batch (until the next epoch starts)."""
    progress = trainer.fit_loop.epoch_loop.batch_progress
    return bool(progress.is_last_batch) or progress.current.ready >= trainer.num_training_batches


def mark_epoch_finished(checkpoint: dict[str, Any], epochs_done: int) -> bool:
    """Rewrite the fit loop's state in ``checkpoint`` as saved at the start of epoch ``epochs_done``.

    MMEngine saves an epoch's checkpoint in ``after_train_epoch`` (and its best
    checkpoint after that epoch's validation), while Lightning still counts the
    epoch as running; resuming from that state makes Lightning close the epoch
    again and leaves its epoch counter one behind. MMEngine resumes such a file
    at the next epoch, so its loop state is made that of the next epoch's start:
    epoch progress ``epochs_done`` everywhere, this epoch's batch progress at 0
    (the running totals are kept). Returns False when ``checkpoint`` has no
    fit-loop state to rewrite.
    """
    fit_loop = checkpoint.get("loops", {}).get("fit_loop")
    if not fit_loop or "epoch_progress" not in fit_loop or "epoch_loop.batch_progress" not in fit_loop:
        return False
    for tracker in fit_loop["epoch_progress"].values():
        for field in tracker:
            tracker[field] = epochs_done
    batch_progress = fit_loop["epoch_loop.batch_progress"]
    for field in batch_progress["current"]:
        batch_progress["current"][field] = 0
    batch_progress["is_last_batch"] = False
    return True


def eval_loop_metrics(trainer: pl.Trainer) -> dict[str, Any]:
    """Metrics logged during the running validation/test loop, under the keys they were logged with.

    Valid inside ``on_validation_end`` / ``on_test_end``: the loop's results are
    reduced but not yet reset.
    """
    connector = trainer._logger_connector
    if trainer._results is None:
        return {}
    return dict(connector.metrics["callback"])


_NO_METRICS: Mapping[str, Any] = MappingProxyType({})


def train_step_metrics(trainer: pl.Trainer) -> Mapping[str, Any]:
    """Values logged with ``self.log(..., on_step=True)`` in the running training step, by their logged name.

    Valid inside ``on_train_batch_end``. Unlike ``trainer.callback_metrics``
    it holds neither the last validation's values nor the ``*_step`` copies.
    A value logged in an earlier step of the epoch and not since is still
    there, as Lightning's loggers see it. Nothing is allocated when nothing
    was logged.
    """
    results = trainer._results
    if not results:
        return _NO_METRICS
    found: dict[str, Any] = {}
    for _, result_metric in results.valid_items():
        if result_metric.meta.on_step:
            value = results._get_cache(result_metric, True)
            if value is not None:
                found[result_metric.meta.name] = value
    return found


def install_val_policy(trainer: pl.Trainer, should_validate: Callable[[], bool]) -> None:
    """Let ``should_validate()`` decide, after every training batch, whether validation runs now.

    MMEngine's ``val_begin``/``val_interval``/``dynamic_intervals`` rules have no
    Trainer argument; this replaces the epoch loop's decision for this trainer only.
    """
    epoch_loop = trainer.fit_loop.epoch_loop

    def decide(data_fetcher: Any) -> bool:
        # The policy first: it is False on most batches, and ``enable_validation`` inspects the module's class.
        return should_validate() and bool(trainer.enable_validation)

    epoch_loop._should_check_val_fx = decide  # type: ignore[method-assign]  # patch this loop instance's Lightning method


def skip_empty_batch_metrics(trainer: pl.Trainer) -> None:
    """Skip the per-batch metric collection of this trainer's logger connector while nothing is logged.

    After every training batch ``_LoggerConnector.on_batch_end`` rebuilds the
    logged, progress-bar and callback metrics from the loop's result collection.
    When nothing was logged through ``LightningModule.log`` the collection is
    empty and the rebuild changes nothing; only the batch reference is dropped.
    As soon as anything is logged, Lightning's own method runs.
    """
    connector = trainer._logger_connector
    if getattr(connector, "_mmhooks_skips_empty", False):
        return
    collect = connector.on_batch_end

    def on_batch_end() -> None:
        results = trainer._results
        if results is not None and len(results) == 0:
            results.batch = None
            results.batch_size = None
        else:
            collect()

    connector.on_batch_end = on_batch_end  # type: ignore[method-assign]  # this connector instance only
    setattr(connector, "_mmhooks_skips_empty", True)


def run_validation_now(trainer: pl.Trainer) -> None:
    """Run the fit's validation loop immediately (as the epoch loop does at an epoch's end)."""
    epoch_loop = trainer.fit_loop.epoch_loop
    trainer.validating = True
    epoch_loop.val_loop.run()
    trainer.training = True


check_lightning_version()
