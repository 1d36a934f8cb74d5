"""MMEngine's loops: ``EpochBasedTrainLoop``, ``IterBasedTrainLoop``, ``ValLoop`` and ``TestLoop``.

``runner.train_loop`` (and ``val_loop`` / ``test_loop``) is one of these under
every backend, so downstream hooks that test ``isinstance(runner.train_loop,
EpochBasedTrainLoop)`` and read ``dataloader``, ``max_epochs`` or
``stop_training`` behave as under MMEngine. A backend that owns its loop
(Lightning's Trainer) only moves the counters; a backend that leaves the loop
to mmhooks (Lightning Fabric) calls :meth:`run`, which keeps MMEngine's order
of mount points exactly.

The counters are the runner's (``runner.context.progress``): a loop holds no
second copy. ``dataloader`` is the runner's built loader.

Where mmhooks goes beyond MMEngine's loops: an epoch resumed from a
checkpoint taken mid-epoch continues after the batches it had already
trained on (MMEngine restarts the epoch), ``train_step_fn`` lets a backend
say how a step is carried out, and a backend with several processes makes
every rank agree on ``stop_training`` where the loop checks it.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch

from mmhooks.registry import LOOPS
from mmhooks.runner.resume import batches_done_in_epoch, skip_done_batches

if TYPE_CHECKING:
    from mmhooks.runner.base import RunnerBase

__all__ = ["BaseLoop", "EpochBasedTrainLoop", "InfiniteDataloaderIterator", "IterBasedTrainLoop", "TestLoop",
           "ValLoop"]

log = logging.getLogger(__name__)


class BaseLoop:
    """A loop of ``runner``; ``dataloader`` is the runner's (read and written through it)."""

    _stage = "train"

    def __init__(self, runner: RunnerBase, dataloader: Any = None) -> None:
        self._runner = runner
        if dataloader is not None:
            self.dataloader = dataloader

    @property
    def runner(self) -> RunnerBase:
        return self._runner

    @property
    def dataloader(self) -> Any:
        return getattr(self._runner, f"{self._stage}_dataloader")

    @dataloader.setter
    def dataloader(self, value: Any) -> None:
        setattr(self._runner, f"{self._stage}_dataloader", value)

    def run(self) -> Any:
        raise NotImplementedError


class _TrainLoop(BaseLoop):
    """Counters, limits, the stop flag and the validation schedule shared by both train loops."""

    #: How one training step is carried out: ``None`` calls ``model.train_step(data_batch, optim_wrapper)``;
    #: a backend that runs the model through its strategy (DDP's forward, a precision plugin) sets a callable.
    train_step_fn: Callable[[Any], Any] | None = None

    def __init__(self, runner: RunnerBase, dataloader: Any = None, val_begin: int | None = None,
                 val_interval: int | None = None, dynamic_intervals: Sequence[tuple[int, int]] | None = None) -> None:
        super().__init__(runner, dataloader)
        progress = runner.context.progress
        if val_begin is not None:
            progress.val_begin = int(val_begin)
        if val_interval is not None:
            progress.val_interval = int(val_interval)
        schedule = runner.context.schedule
        if dynamic_intervals is not None or schedule is None:
            pairs = sorted((int(m), int(i)) for m, i in (dynamic_intervals or ()))
            self.dynamic_milestones = [0, *(m for m, _ in pairs)]
            self.dynamic_intervals = [progress.val_interval, *(i for _, i in pairs)]
        else:
            self.dynamic_milestones = list(schedule.milestones)
            self.dynamic_intervals = list(schedule.intervals)

    # MMEngine's counters, read by hooks as runner.train_loop.<name> (and the private aliases some read)
    @property
    def epoch(self) -> int:
        return self._runner.context.progress.epoch

    @property
    def iter(self) -> int:
        return self._runner.context.progress.iter

    @property
    def max_epochs(self) -> int:
        return self._runner.context.progress.max_epochs

    @property
    def max_iters(self) -> int:
        return self._runner.context.progress.max_iters

    # MMEngine's private names, which downstream code and MMEngine's tests read and write: the same counters.
    @property
    def _epoch(self) -> int:
        return self._runner.context.progress.epoch

    @_epoch.setter
    def _epoch(self, value: int) -> None:
        self._runner.context.progress.epoch = int(value)

    @property
    def _iter(self) -> int:
        return self._runner.context.progress.iter

    @_iter.setter
    def _iter(self, value: int) -> None:
        self._runner.context.progress.iter = int(value)

    _max_epochs = max_epochs
    _max_iters = max_iters

    @property
    def val_begin(self) -> int:
        return self._runner.context.progress.val_begin

    @val_begin.setter
    def val_begin(self, value: int) -> None:
        self._runner.context.progress.val_begin = int(value)

    @property
    def val_interval(self) -> int:
        return self._runner.context.progress.val_interval

    @val_interval.setter
    def val_interval(self, value: int) -> None:
        self._runner.context.progress.val_interval = int(value)

    @property
    def stop_training(self) -> bool:
        """Set by a hook (EarlyStoppingHook) to end training where MMEngine's loop would look next."""
        return self._runner.stop_requested()

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self._runner.request_stop(bool(value))

    def _decide_current_val_interval(self) -> None:
        """MMEngine's dynamic interval: the one in force after ``done + 1`` (bisected)."""
        done = self.epoch if self._stage_counts_epochs else self.iter
        self.val_interval = self.dynamic_intervals[bisect.bisect(self.dynamic_milestones, done + 1) - 1]

    _stage_counts_epochs = True

    def validation_due(self) -> bool:
        """MMEngine's check after an epoch (or iteration): a val loop exists and the schedule says so."""
        self._decide_current_val_interval()
        done = self.epoch if self._stage_counts_epochs else self.iter
        last = self.max_epochs if self._stage_counts_epochs else self.max_iters
        return done >= self.val_begin and (done % self.val_interval == 0 or done == last)

    def _advance(self, by_epoch: bool) -> None:
        if by_epoch:
            self._runner.context.progress.epoch += 1
        else:
            self._runner.context.progress.iter += 1

    def _train_step(self, data_batch: Any) -> Any:
        step = self.train_step_fn
        if step is not None:
            return step(data_batch)
        runner = self._runner
        return runner.model.train_step(data_batch, optim_wrapper=runner.optim_wrapper)

    def _stop_agreed(self) -> bool:
        """``stop_training`` where MMEngine's loop checks it; with several processes every rank agrees.

        A hook that asks to stop on one rank only (a decision from rank-local
        metrics) stops all of them, instead of leaving the others waiting in
        the next collective. The backend's ``agree_on_stop`` decides.
        """
        runner = self._runner
        stop = runner.stop_requested()
        agree = getattr(runner.backend, "agree_on_stop", None)
        if agree is not None:
            stop = bool(agree(stop))
            runner.request_stop(stop)
        return stop


@LOOPS.register_module()
class EpochBasedTrainLoop(_TrainLoop):
    """MMEngine's epoch-based training loop (``train_cfg=dict(by_epoch=True, max_epochs=...)``)."""

    def __init__(self, runner: RunnerBase, dataloader: Any = None, max_epochs: int | None = None,
                 val_begin: int | None = None, val_interval: int | None = None,
                 dynamic_intervals: Sequence[tuple[int, int]] | None = None) -> None:
        super().__init__(runner, dataloader, val_begin, val_interval, dynamic_intervals)
        if max_epochs is not None:
            runner.context.progress.max_epochs = int(max_epochs)
        self._resumed_batches = 0

    def run(self) -> Any:
        """Train until ``max_epochs`` or a stop request; validate when the schedule says so."""
        runner = self._runner
        runner.call_hook("before_train")
        self._resumed_batches = batches_done_in_epoch(self.epoch, self.iter, _length(self.dataloader))
        while self.epoch < self.max_epochs and not self._stop_agreed():
            self.run_epoch()
            if runner.val_loop is not None and self.validation_due():
                runner.val_loop.run()
        runner.call_hook("after_train")
        return runner.model

    def run_epoch(self) -> None:
        runner = self._runner
        runner.call_hook("before_train_epoch")
        runner.model.train()
        done, self._resumed_batches = self._resumed_batches, 0
        for index, data_batch in enumerate(self.batches(done), done):
            self.run_iter(index, data_batch)
        runner.call_hook("after_train_epoch")
        self._advance(by_epoch=True)

    def batches(self, skip: int = 0) -> Any:
        """The batches of the current epoch after its first ``skip`` (those a resumed epoch already trained on).

        The sampler is the dataloader's own, so ``set_epoch`` (DistSamplerSeedHook)
        gives the order the interrupted run had.
        """
        return skip_done_batches(self.dataloader, skip) if skip else self.dataloader

    def run_iter(self, idx: int, data_batch: Any) -> None:
        runner = self._runner
        runner.call_hook("before_train_iter", batch_idx=idx, data_batch=data_batch)
        outputs = self._train_step(data_batch)
        runner.call_hook("after_train_iter", batch_idx=idx, data_batch=data_batch, outputs=outputs)
        self._advance(by_epoch=False)


@LOOPS.register_module()
class IterBasedTrainLoop(_TrainLoop):
    """MMEngine's iteration-based training loop: the whole run is one "epoch" of ``max_iters`` batches."""

    _stage_counts_epochs = False

    def __init__(self, runner: RunnerBase, dataloader: Any = None, max_iters: int | None = None,
                 val_begin: int | None = None, val_interval: int | None = None,
                 dynamic_intervals: Sequence[tuple[int, int]] | None = None) -> None:
        super().__init__(runner, dataloader, val_begin, val_interval, dynamic_intervals)
        if max_iters is not None:
            runner.context.progress.max_iters = int(max_iters)
        runner.context.progress.max_epochs = 1
        self.dataloader_iterator: InfiniteDataloaderIterator | None = None

    def prepare(self) -> InfiniteDataloaderIterator:
        """Start the run's one iterator over the train dataloader, where MMEngine's loop constructor does.

        Backends call this before ``before_run``: starting a DataLoader
        iterator draws its base seed from torch's global generator, which
        ``init_weights`` draws from next.
        """
        if self.dataloader_iterator is None:
            self.dataloader_iterator = InfiniteDataloaderIterator(self.dataloader)
        return self.dataloader_iterator

    def skip_trained_batches(self, announce: bool = True) -> None:
        """A resumed run continues on the data it had reached (MMEngine advances ``iter`` batches).

        ``announce=False``: a backend that skips before ``before_train`` (Lightning asks for its
        dataloader then) calls :meth:`announce_skip` where MMEngine's loop logs it.
        """
        if self.iter > 0:
            if announce:
                self.announce_skip()
            self.prepare().skip(self.iter)

    def announce_skip(self) -> None:
        """MMEngine's warning, logged after ``before_train_epoch`` of a resumed run."""
        self._runner.logger.warning(f"Advance dataloader {self.iter} steps to skip data that has already been trained")

    def run(self) -> Any:
        runner = self._runner
        runner.call_hook("before_train")
        runner.call_hook("before_train_epoch")
        iterator = self.prepare()
        self.skip_trained_batches()
        while self.iter < self.max_iters and not self._stop_agreed():
            runner.model.train()
            self.run_iter(next(iterator))
            if runner.val_loop is not None and self.validation_due():
                runner.val_loop.run()
        runner.call_hook("after_train_epoch")
        runner.call_hook("after_train")
        return runner.model

    def run_iter(self, data_batch: Any) -> None:
        runner = self._runner
        index = self.iter
        runner.call_hook("before_train_iter", batch_idx=index, data_batch=data_batch)
        outputs = self._train_step(data_batch)
        runner.call_hook("after_train_iter", batch_idx=index, data_batch=data_batch, outputs=outputs)
        self._advance(by_epoch=False)


class InfiniteDataloaderIterator:
    """Batches forever: a new pass (with the sampler's epoch moved on) whenever the loader is exhausted."""

    def __init__(self, dataloader: Any) -> None:
        self._dataloader = dataloader
        self._epoch = 0
        self._iterator: Iterator[Any] = iter(dataloader)

    def __iter__(self) -> InfiniteDataloaderIterator:
        return self

    def skip(self, count: int) -> None:
        """Advance ``count`` batches (a resumed run continues on the data it had reached)."""
        for _ in range(count):
            next(self)

    def __next__(self) -> Any:
        try:
            return next(self._iterator)
        except StopIteration:
            from mmhooks.logging.logger import print_log

            print_log("Reach the end of the dataloader, it will be restarted and continue to iterate. It is "
                      "recommended to use `mmengine.dataset.InfiniteSampler` to enable the dataloader to iterate "
                      "infinitely.", logger="current", level=logging.WARNING)
            self._epoch += 1
            for owner in (self._dataloader, getattr(self._dataloader, "batch_sampler", None)):
                set_epoch = getattr(getattr(owner, "sampler", None), "set_epoch", None)
                if callable(set_epoch):
                    set_epoch(self._epoch)
                    break
            self._iterator = iter(self._dataloader)
            return next(self._iterator)


class _EvalLoop(BaseLoop):
    """MMEngine's ``ValLoop``/``TestLoop``: hooks, ``val_step``/``test_step``, the evaluator, and losses."""

    def __init__(self, runner: RunnerBase, dataloader: Any = None, evaluator: Any = None, fp16: bool = False) -> None:
        super().__init__(runner, dataloader)
        if evaluator is not None:
            self.evaluator = evaluator
        self.fp16 = fp16
        self.losses: dict[str, Any] = {}

    @property
    def evaluator(self) -> Any:
        return getattr(self._runner, f"{self._stage}_evaluator")

    @evaluator.setter
    def evaluator(self, value: Any) -> None:
        setattr(self._runner, f"{self._stage}_evaluator", value)

    def run(self) -> dict[str, Any]:
        runner, stage = self._runner, self._stage
        runner.call_hook(f"before_{stage}")
        runner.call_hook(f"before_{stage}_epoch")
        runner.model.eval()
        self.losses.clear()
        for index, data_batch in enumerate(self.dataloader):
            self.run_iter(index, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if self.losses:
            metrics.update(mean_losses(self.losses, stage))
        runner.call_hook(f"after_{stage}_epoch", metrics=metrics)
        runner.call_hook(f"after_{stage}")
        return dict(metrics)

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Any) -> None:
        runner, stage = self._runner, self._stage
        runner.call_hook(f"before_{stage}_iter", batch_idx=idx, data_batch=data_batch)
        with torch.autocast(device_type=_device_type(runner.model), enabled=self.fp16):
            outputs = getattr(runner.model, f"{stage}_step")(data_batch)
        outputs = collect_losses(outputs, self.losses)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        runner.call_hook(f"after_{stage}_iter", batch_idx=idx, data_batch=data_batch, outputs=outputs)


@LOOPS.register_module()
class ValLoop(_EvalLoop):
    """MMEngine's validation loop."""

    _stage = "val"

    @property
    def val_loss(self) -> dict[str, Any]:
        return self.losses


@LOOPS.register_module()
class TestLoop(_EvalLoop):
    """MMEngine's test loop."""

    _stage = "test"

    @property
    def test_loss(self) -> dict[str, Any]:
        return self.losses


def _length(dataloader: Any) -> int | None:
    try:
        return len(dataloader)
    except TypeError:  # an iterable dataset without a length
        return None


def _device_type(model: Any) -> str:
    parameter = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    return parameter.device.type if parameter is not None else "cpu"


def collect_losses(outputs: Any, losses: dict[str, Any]) -> Any:
    """MMEngine 0.10: a last output element holding only ``loss`` is a val/test loss, not a prediction.

    Its values are added to ``losses`` (one history buffer per name) and the
    element is dropped from what the evaluator sees.
    """
    if not isinstance(outputs, Sequence) or not outputs:
        return outputs
    last = outputs[-1]
    keys = getattr(last, "keys", None)
    if keys is None or not callable(keys) or list(keys()) != ["loss"] or isinstance(last, dict):
        return outputs
    from mmhooks.logging import HistoryBuffer

    for name, value in last.loss.items():
        buffer = losses.setdefault(name, HistoryBuffer())
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, torch.Tensor):
                buffer.update(item.item())
    return outputs[:-1]


def mean_losses(losses: dict[str, Any], stage: str) -> dict[str, float]:
    """Each loss's mean, plus ``{stage}_loss``: the sum of those whose name contains ``loss``."""
    means: dict[str, float] = {}
    total: float = 0
    for name, buffer in losses.items():
        means[name] = buffer.mean()
        if "loss" in name:
            total += means[name]
    means[f"{stage}_loss"] = total
    return means
