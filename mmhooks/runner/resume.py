"""Resuming a run, the same under every backend: which file, what it must hold, and what it restores.

MMEngine's ``Runner.resume`` reads a checkpoint, lets hooks see it
(``after_load_checkpoint``), loads the weights, then restores the loop
counters, the seed, the message hub, the optimizer and the parameter
schedulers. A backend that runs MMEngine's loops itself (Fabric) calls
:func:`resume_from_checkpoint`; the Lightning backend restores the counters
through Lightning and shares :func:`resolve_resume` and
:func:`load_param_scheduler_states`.

A checkpoint taken in the middle of an epoch (``CheckpointHook(by_epoch=False)``)
resumes on the same data: MMEngine restarts such an epoch from its first
batch, mmhooks skips the batches the interrupted epoch already trained on
(:func:`skip_done_batches`), so an interrupted and resumed run equals an
uninterrupted one.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from torch.utils.data import DataLoader

from mmhooks.errors import ConfigError
from mmhooks.runner.checkpoint import find_latest_checkpoint, load_checkpoint_to_model, unwrap_model
from mmhooks.runner.checkpoint_content import load_hook_states, saved_hook_states

if TYPE_CHECKING:
    from mmhooks.runner.base import RunnerBase

__all__ = ["SkipFirstBatches", "batches_done_in_epoch", "check_resumable", "load_param_scheduler_states",
           "resolve_resume", "restore_training_state", "resume_from_checkpoint", "skip_done_batches"]


def resolve_resume(resume: bool | str, load_from: str | None, work_dir: str) -> str | None:
    """The checkpoint a run resumes from (MMEngine's ``load_or_resume`` rules), or None.

    ``resume=True`` takes ``load_from`` when set, else ``{work_dir}/last_checkpoint``
    (with a warning, and a fresh start, when there is none); ``resume='path'`` takes that file.
    """
    if not resume:
        return None
    if isinstance(resume, str):
        return resume
    if load_from:
        return load_from
    found = find_latest_checkpoint(work_dir)
    if found is None:
        warnings.warn(
            f"resume: got True but {work_dir}/last_checkpoint does not exist; training starts from scratch. "
            "Fix: pass resume='path/to/checkpoint.pth' to resume from a specific file.",
            stacklevel=3,
        )
    return found


# What MMEngine's Runner.resume reads unconditionally.
_REQUIRED = ("meta", "state_dict", "message_hub")


def check_resumable(checkpoint: Any, path: str) -> None:
    """Raise a located ``ConfigError`` unless ``checkpoint`` holds the training state MMEngine resumes from.

    Files written by MMEngine's Runner, by mmhooks (either backend) and by
    ``runner.save_checkpoint`` qualify; a file of weights only does not (use
    ``load_from``).
    """
    meta = checkpoint.get("meta") if isinstance(checkpoint, Mapping) else None
    complete = isinstance(checkpoint, Mapping) and all(key in checkpoint for key in _REQUIRED) and \
        isinstance(meta, Mapping) and "epoch" in meta and "iter" in meta
    if not complete:
        raise ConfigError(
            "resume", path, "a checkpoint with MMEngine's training state (meta.epoch, meta.iter, state_dict, "
            "message_hub), as MMEngine's Runner and mmhooks write them",
            "use load_from=path to start from its weights, or resume from a checkpoint of an MMEngine or mmhooks run.",
        )


def load_param_scheduler_states(schedulers: Any, states: Any) -> None:
    """Load saved scheduler states into ``schedulers`` (a list, or a dict of lists per optimizer), in order."""
    if isinstance(schedulers, Mapping):
        for name, group in schedulers.items():
            for scheduler, state in zip(group, states[name]):
                scheduler.load_state_dict(state)
    else:
        for scheduler, state in zip(schedulers, states):
            scheduler.load_state_dict(state)


def restore_training_state(runner: RunnerBase, checkpoint: Mapping[str, Any]) -> None:
    """MMEngine's ``Runner.resume`` after the weights: counters, seed, message hub, optimizer, schedulers."""
    meta = checkpoint["meta"]
    progress = runner.context.progress
    progress.epoch, progress.iter = int(meta["epoch"]), int(meta["iter"])
    _restore_seed(runner, meta.get("seed"))
    dataset = getattr(runner.train_dataloader, "dataset", None)
    if pickle.dumps(meta.get("dataset_meta")) != pickle.dumps(getattr(dataset, "metainfo", None)):
        runner.logger.warning("The dataset metainfo from the resumed checkpoint is different from the current "
                              "training dataset, please check the correctness of the checkpoint or the training "
                              "dataset.")
    runner.message_hub.load_state_dict(checkpoint["message_hub"])
    if "optimizer" in checkpoint and runner.optim_wrapper is not None:
        runner.optim_wrapper.load_state_dict(checkpoint["optimizer"])
    schedulers = runner.param_schedulers
    if not schedulers:
        runner.logger.warning("`resume_param_scheduler` is True but `self.param_schedulers` is None, so skip "
                              "resuming parameter schedulers")
    elif "param_schedulers" in checkpoint:
        load_param_scheduler_states(schedulers, checkpoint["param_schedulers"])
    runner.logger.info(f"resumed epoch: {runner.epoch}, iter: {runner.iter}")


def _restore_seed(runner: RunnerBase, resumed: Any) -> None:
    """MMEngine: a resumed run takes the checkpoint's seed (warning when the config named another)."""
    identity = runner.context.identity
    if resumed is None or resumed == identity.seed:
        return
    configured = (getattr(runner, "_cfg_values", {}).get("randomness") or {}).get("seed")
    if configured is not None:
        runner.logger.warning(f'The value of random seed in the checkpoint "{resumed}" is different from the value '
                              f'in `randomness` config "{configured}"')
    from mmhooks.runner.runner import set_random_seed

    identity.seed = set_random_seed(int(resumed), identity.deterministic)


def resume_from_checkpoint(runner: RunnerBase, checkpoint: dict[str, Any], path: str) -> None:
    """MMEngine's ``Runner.resume`` on a checkpoint already read from ``path`` (and checked).

    Hooks see the checkpoint before the weights are loaded (EMAHook swaps its
    averaged weights in), as in MMEngine's ``load_checkpoint``; hooks with a
    ``state_dict`` get theirs back first (mmhooks; either backend's checkpoint).
    """
    load_hook_states(runner.hooks, saved_hook_states(checkpoint))
    runner.call_hook("after_load_checkpoint", checkpoint=checkpoint)
    load_checkpoint_to_model(unwrap_model(runner.model), checkpoint, strict=False, logger=runner.logger, source=path)
    restore_training_state(runner, checkpoint)


# ----------------------------------------------------------------------------- mid-epoch resume
def batches_done_in_epoch(epoch: int, iteration: int, epoch_length: int | None) -> int:
    """Batches of the current epoch already trained on, from MMEngine's counters (0 at an epoch boundary).

    ``iteration`` counts every batch of the run and ``epoch`` the finished
    epochs, so the interrupted epoch had done ``iteration - epoch * length``;
    a checkpoint taken after an epoch's last batch but before its end gives the
    whole length (the epoch still has to close).
    """
    if not epoch_length:
        return 0
    done = iteration - epoch * epoch_length
    return min(done, epoch_length) if done > 0 else 0


class SkipFirstBatches:
    """A batch sampler that drops its first ``skip`` batches once, then behaves like ``batch_sampler``."""

    def __init__(self, batch_sampler: Any, skip: int) -> None:
        self.batch_sampler = batch_sampler
        self.skip = skip

    @property
    def sampler(self) -> Any:  # Lightning and DistSamplerSeedHook call sampler.set_epoch through this
        return getattr(self.batch_sampler, "sampler", None)

    def set_epoch(self, epoch: int) -> None:
        set_epoch = getattr(self.batch_sampler, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator[Any]:
        batches = iter(self.batch_sampler)
        skip, self.skip = self.skip, 0
        for _ in range(skip):  # indices only: no sample is loaded
            if next(batches, None) is None:
                return
        yield from batches


def skip_done_batches(loader: Any, done: int) -> Any:
    """``loader`` whose next pass starts after its first ``done`` batches (``loader`` itself if none).

    The sampler is shared, so its epoch (and the shuffle order) is the one the
    interrupted run used; only indices of skipped batches are drawn, no sample is loaded.
    """
    if done <= 0 or not isinstance(loader, DataLoader) or loader.batch_sampler is None:
        return loader
    options: dict[str, Any] = dict(
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        persistent_workers=loader.persistent_workers,
    )
    if loader.num_workers > 0:
        options["prefetch_factor"] = loader.prefetch_factor
    return DataLoader(loader.dataset, batch_sampler=SkipFirstBatches(loader.batch_sampler, done), **options)
