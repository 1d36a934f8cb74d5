"""Contract tests for every Lightning internal the backend reads or writes (``_internals.py``).

When a Lightning upgrade moves one of these, the failing test names the
attribute and the function in ``mmhooks.adapters.lightning._internals`` to
update.
"""

from __future__ import annotations

import warnings
from functools import reduce
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import _internals


def require(obj: Any, path: str, used_by: str) -> Any:
    """``obj.<path>``, or a failure saying which internal changed and which function depends on it."""
    try:
        return reduce(getattr, path.split("."), obj)
    except AttributeError:
        pytest.fail(f"Lightning {pl.__version__} has no trainer.{path}; update _internals.{used_by}")


class Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch[0]).pow(2).mean()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_metric", float(batch_idx + 1))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader(n: int = 8) -> DataLoader:
    return DataLoader(TensorDataset(torch.randn(n, 2)), batch_size=2)


class Probe(pl.Callback):
    def __init__(self, on_batch_end=None, on_val_end=None, on_train_start=None) -> None:
        self.on_batch_end, self.on_val_end, self.on_start = on_batch_end, on_val_end, on_train_start

    def on_train_start(self, trainer, pl_module):
        if self.on_start:
            self.on_start(trainer)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.on_batch_end:
            self.on_batch_end(trainer, batch_idx)

    def on_validation_end(self, trainer, pl_module):
        if self.on_val_end and not trainer.sanity_checking:
            self.on_val_end(trainer)


def fit(make_trainer, probe: Probe, epochs: int = 1, val: bool = False, **kwargs: Any) -> pl.Trainer:
    trainer = make_trainer(max_epochs=epochs, callbacks=[probe], **kwargs)
    trainer.fit(Tiny(), loader(), loader(4) if val else None)
    return trainer


def test_batch_progress_counters(make_trainer):
    seen = []

    def on_batch_end(trainer, batch_idx):
        require(trainer, "fit_loop.epoch_loop.batch_progress.total.ready", "batches_ready")
        require(trainer, "fit_loop.epoch_loop.batch_progress.is_last_batch", "is_last_train_batch")
        seen.append((batch_idx, _internals.batches_ready(trainer), _internals.is_last_train_batch(trainer, batch_idx)))

    fit(make_trainer, Probe(on_batch_end=on_batch_end), epochs=2)
    assert seen == [(0, 1, False), (1, 2, False), (2, 3, False), (3, 4, True),
                    (0, 5, False), (1, 6, False), (2, 7, False), (3, 8, True)]


def test_eval_loop_metrics_are_the_logged_ones_at_validation_end(make_trainer):
    found = []

    def on_val_end(trainer):
        require(trainer, "_logger_connector.metrics", "eval_loop_metrics")
        require(trainer, "_results", "eval_loop_metrics")
        found.append(_internals.eval_loop_metrics(trainer))

    fit(make_trainer, Probe(on_val_end=on_val_end), val=True)
    assert len(found) == 1 and set(found[0]) == {"val_metric"}
    assert float(found[0]["val_metric"]) == pytest.approx(1.5)  # mean of 1 and 2 over the two val batches


def test_the_val_policy_decides_after_every_batch(make_trainer):
    decisions = []
    validated = []

    def on_start(trainer):
        require(trainer, "fit_loop.epoch_loop._should_check_val_fx", "install_val_policy")

        def policy():
            decisions.append(_internals.batches_ready(trainer))
            return _internals.batches_ready(trainer) in (2, 3)

        _internals.install_val_policy(trainer, policy)

    probe = Probe(on_train_start=on_start, on_val_end=lambda trainer: validated.append(
        _internals.batches_ready(trainer)))
    fit(make_trainer, probe, val=True)
    assert decisions == [1, 2, 3, 4]
    assert validated == [2, 3]


def test_validation_can_run_at_once(make_trainer):
    validated = []

    def on_start(trainer):
        require(trainer, "fit_loop.epoch_loop.val_loop", "run_validation_now")
        _internals.run_validation_now(trainer)

    probe = Probe(on_train_start=on_start, on_val_end=lambda trainer: validated.append(trainer.training))
    trainer = fit(make_trainer, probe, val=True, limit_val_batches=1, check_val_every_n_epoch=10)
    assert validated == [False]  # validating, not training, while it ran
    assert trainer.state.finished


def test_batches_done_in_a_resumed_epoch(make_trainer, tmp_path):
    path = str(tmp_path / "mid.ckpt")

    def save_at_two(trainer, batch_idx):
        if _internals.batches_ready(trainer) == 2 and trainer.current_epoch == 0:
            trainer.save_checkpoint(path)

    fit(make_trainer, Probe(on_batch_end=save_at_two))
    done = []

    class Loader(Tiny):
        def train_dataloader(self):
            done.append(_internals.batches_done_in_resumed_epoch(self.trainer, 4))
            return loader()

    trainer = make_trainer(max_epochs=1)
    trainer.fit(Loader(), ckpt_path=path)
    assert done == [2]


def test_an_untested_lightning_version_warns_once(monkeypatch):
    monkeypatch.setattr(_internals, "_version_checked", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _internals.check_lightning_version("9.0.0") is False
        assert _internals.check_lightning_version("9.0.0") is False
    assert len(caught) == 1 and "tested with lightning" in str(caught[0].message)
    low, _ = _internals.TESTED_VERSIONS
    assert _internals.check_lightning_version(f"{low[0]}.{low[1]}.3") is True
    assert _internals.check_lightning_version(pl.__version__) is True  # the installed one is tested


def test_a_checkpoint_from_the_last_batch_marked_finished_resumes_at_the_next_epoch(make_trainer, tmp_path):
    path = str(tmp_path / "end_of_epoch.ckpt")
    done_at_save = []

    class SaveAtEpochEnd(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if trainer.current_epoch == 0 and _internals.is_last_train_batch(trainer, batch_idx):
                require(trainer, "fit_loop.epoch_loop.batch_progress.current.ready", "epoch_batches_done")
                done_at_save.append(_internals.epoch_batches_done(trainer))
                trainer.save_checkpoint(path)

        def on_save_checkpoint(self, trainer, pl_module, checkpoint):
            assert "epoch_progress" in checkpoint["loops"]["fit_loop"], "update _internals.mark_epoch_finished"
            assert _internals.mark_epoch_finished(checkpoint, trainer.current_epoch + 1)

    make_trainer(max_epochs=1, callbacks=[SaveAtEpochEnd()]).fit(Tiny(), loader())
    assert done_at_save == [True]
    seen = []
    probe = Probe(on_batch_end=lambda trainer, batch_idx: seen.append(
        (trainer.current_epoch, batch_idx, _internals.batches_ready(trainer))))
    make_trainer(max_epochs=2, callbacks=[probe]).fit(Tiny(), loader(), ckpt_path=path)
    assert seen == [(1, 0, 5), (1, 1, 6), (1, 2, 7), (1, 3, 8)]  # the next epoch, from its first batch


class LogsInTraining(Tiny):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        self.log("step_value", float(batch_idx))
        self.log("both", float(batch_idx) * 2, on_step=True, on_epoch=True)
        self.log("epoch_only", 1.0, on_step=False, on_epoch=True)
        return super().training_step(batch, batch_idx)


def test_train_step_metrics_are_this_steps_values_by_logged_name(make_trainer):
    found = []

    def on_batch_end(trainer, batch_idx):
        results = require(trainer, "_results", "train_step_metrics")
        require(results, "valid_items", "train_step_metrics")
        require(results, "_get_cache", "train_step_metrics")
        found.append({name: float(value) for name, value in _internals.train_step_metrics(trainer).items()})

    trainer = make_trainer(max_epochs=1, callbacks=[Probe(on_batch_end=on_batch_end)])
    trainer.fit(LogsInTraining(), loader())
    assert found == [{"step_value": i, "both": 2.0 * i} for i in range(4)]


def test_train_step_metrics_allocate_nothing_when_nothing_is_logged(make_trainer):
    found = []
    trainer = make_trainer(max_epochs=1, callbacks=[Probe(on_batch_end=lambda t, i: found.append(
        _internals.train_step_metrics(t)))])
    trainer.fit(Tiny(), loader())
    assert len(found) == 4 and all(metrics is found[0] for metrics in found) and not found[0]


def test_lightning_names_the_running_hook_on_the_module(make_trainer):
    """MMModelModule writes these attributes without nn.Module's lookups; Lightning must still be the one writing them."""
    written: list[str] = []

    class Recording(Tiny):
        def __setattr__(self, name: str, value: Any) -> None:
            written.append(name)
            super().__setattr__(name, value)

    trainer = make_trainer(max_epochs=1)
    trainer.fit(Recording(), loader(8))  # 4 batches
    for name in _internals.PER_HOOK_MODULE_ATTRIBUTES:
        assert written.count(name) >= 4 * 4, (
            f"Lightning {pl.__version__} no longer writes LightningModule.{name} around its hook calls; "
            "update _internals.PER_HOOK_MODULE_ATTRIBUTES")


class Logging(Tiny):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = super().training_step(batch, batch_idx)
        self.log("train_metric", float(batch_idx), on_step=True, on_epoch=False)
        return loss


def test_batch_metrics_are_skipped_only_while_nothing_is_logged(make_trainer):
    collected = []

    def on_start(trainer):
        require(trainer, "_logger_connector.on_batch_end", "skip_empty_batch_metrics")
        require(trainer, "_results", "skip_empty_batch_metrics")
        original = trainer._logger_connector.on_batch_end

        def spy():
            collected.append(trainer.global_step)
            original()

        trainer._logger_connector.on_batch_end = spy  # below the skip: counts Lightning's own collections
        _internals.skip_empty_batch_metrics(trainer)
        _internals.skip_empty_batch_metrics(trainer)  # a second call does not wrap twice

    quiet = make_trainer(max_epochs=1, callbacks=[Probe(on_train_start=on_start)])
    quiet.fit(Tiny(), loader(8))
    assert collected == []  # nothing logged: Lightning's collection never ran
    assert quiet.fit_loop.epoch_loop._results.batch is None  # the batch reference is still dropped

    logging_trainer = make_trainer(max_epochs=1, callbacks=[Probe(on_train_start=on_start)])
    logging_trainer.fit(Logging(), loader(8))
    assert len(collected) == 4  # something logged: Lightning's own method ran after every batch
    assert float(logging_trainer.callback_metrics["train_metric"]) == 3.0  # the last batch's value, as unpatched
