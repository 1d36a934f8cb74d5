"""``DistSamplerSeedHook``: tell the training sampler which epoch starts, so each epoch shuffles anew."""

from __future__ import annotations

from typing import Any

from mmhooks.hooks.hook import Hook
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["DistSamplerSeedHook"]


def _epoch_aware_parts(dataloader: Any) -> list[Any]:
    """The distinct sampling objects of ``dataloader`` that expose ``set_epoch``.

    Looks at ``dataloader.sampler``, ``dataloader.batch_sampler`` and
    ``dataloader.batch_sampler.sampler``; a missing attribute is skipped, so
    loaders without a sampler, and batch samplers without an inner sampler,
    are fine.
    """
    batch_sampler = getattr(dataloader, "batch_sampler", None)
    candidates = (
        getattr(dataloader, "sampler", None),
        batch_sampler,
        getattr(batch_sampler, "sampler", None),
    )
    found: list[Any] = []
    for part in candidates:
        if callable(getattr(part, "set_epoch", None)) and all(part is not seen for seen in found):
            found.append(part)
    return found


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Call ``set_epoch(runner.epoch)`` on the training sampler before every training epoch.

    A ``DistributedSampler`` (or MMEngine's ``DefaultSampler``) seeds its shuffle
    with the epoch; without this call every epoch would see the same order.

    MMEngine parity:
        MMEngine calls ``set_epoch`` on ``dataloader.sampler`` or, failing that,
        on ``dataloader.batch_sampler.sampler``, and fails when a custom batch
        sampler has no ``sampler`` attribute. This hook calls it once on each
        distinct object among the sampler, the batch sampler and the batch
        sampler's inner sampler that has ``set_epoch``, so a custom batch
        sampler that keys its own shuffle on the epoch is told too.

    Example:
        >>> from types import SimpleNamespace
        >>> class Sampler:
        ...     def set_epoch(self, epoch):
        ...         self.epoch = epoch
        >>> sampler = Sampler()
        >>> loop = SimpleNamespace(dataloader=SimpleNamespace(sampler=sampler))
        >>> DistSamplerSeedHook().before_train_epoch(SimpleNamespace(train_loop=loop, epoch=3))
        >>> sampler.epoch
        3
    """

    priority = "NORMAL"

    def before_train_epoch(self, runner: RunnerLike) -> None:
        for part in _epoch_aware_parts(runner.train_loop.dataloader):
            part.set_epoch(runner.epoch)
