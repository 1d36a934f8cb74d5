"""Python's cyclic garbage collector, paused while a run starts.

Starting a run imports Lightning (and torchmetrics, TensorBoard) and builds the
model, hooks and Trainer: hundreds of thousands of long-lived objects. Each
time allocations cross the collector's thresholds it walks the older
generations again, and at start-up nearly everything it walks survives:
measured, a quarter of a run's start-up CPU time (0.5 s of about 3 s on the
benchmark's tiny job, MMEngine's Runner pays the same), for almost nothing
freed. Start-up creates little cyclic garbage, so the Runner pauses the
collector from its constructor, and from ``train()`` until the first
iteration, and restores it after; the collector's state is the caller's again
once this returns, errors included. Nothing is frozen: objects of the run stay
collectable when the run ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collection_paused", "resume_collection"]

_paused_here = False  # whether the collector is off because of collection_paused (not the user's gc.disable)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the collector in this block (nested blocks and a collector the user disabled are left alone)."""
    global _paused_here
    if _paused_here or not gc.isenabled():
        yield
        return
    gc.disable()
    _paused_here = True
    try:
        yield
    finally:
        resume_collection()


def resume_collection() -> None:
    """Turn the collector back on now, before the block ends (training starts: its garbage is collected)."""
    global _paused_here
    if _paused_here:
        _paused_here = False
        gc.enable()
