"""Python's cyclic garbage collector, paused while a run starts.

Starting a run imports Lightning (and torchmetrics, TensorBoard) and builds the
model, hooks and Trainer: hundreds of thousands of long-lived objects. Each
time allocations cross the collector's thresholds it walks the older
generations again, and at start-up nearly everything it walks survives:
measured, a quarter of a run's start-up CPU time (0.5 s of about 3 s on the
benchmark's tiny job; MMEngine's Runner pays the same), for almost nothing
freed. Start-up creates little cyclic garbage, so the Runner pauses the
collector in its constructor and in ``train()`` until the first iteration.

Turned back on, the collector would walk everything the pause let accumulate,
once in the youngest generation and again in the middle one: 0.2-0.3 s in the
first few hundred iterations. So when training starts, what exists then is
frozen (``gc.freeze``: kept out of collections) until ``train()`` returns, when
it is unfrozen and collectable again. The collector's state is the caller's
again once a block ends, errors included; a collector the user disabled, or
objects the user froze, are left alone.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collection_paused", "training_starts"]


class _State:
    paused = False  # the collector is off because of collection_paused (not the user's gc.disable)
    freeze_at_training = False  # the open block is a run's train(): freeze what exists when training starts
    frozen = False  # this module froze objects; unfreeze them when the block ends


@contextmanager
def collection_paused(until_training: bool = False) -> Iterator[None]:
    """Pause the collector in this block; with ``until_training``, only until :func:`training_starts`.

    Nested blocks and a collector the user disabled are left alone.
    """
    if _State.paused or not gc.isenabled():
        yield
        return
    gc.disable()
    _State.paused, _State.freeze_at_training = True, until_training
    try:
        yield
    finally:
        _resume()
        if _State.frozen:
            _State.frozen = False
            gc.unfreeze()


def training_starts() -> None:
    """The first iteration is next: turn the collector on, and keep start-up's objects out of its walks."""
    if not _State.paused:
        return
    if _State.freeze_at_training and gc.get_freeze_count() == 0:
        gc.freeze()
        _State.frozen = True
    _resume()


def _resume() -> None:
    if _State.paused:
        _State.paused = _State.freeze_at_training = False
        gc.enable()
