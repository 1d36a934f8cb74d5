"""Resume mid-epoch on the same data: skip the batches the interrupted epoch already used.

Lightning restores its counters from a checkpoint taken mid-epoch but starts
a fresh iterator over the dataloader, so it would train on the epoch's first
batches again. The Runner's train dataloader is wrapped so that its first
pass skips the batches already done (the core's
:func:`mmhooks.runner.resume.skip_done_batches`, shared with the Fabric backend).
"""

from __future__ import annotations

from mmhooks.runner.resume import SkipFirstBatches, skip_done_batches

__all__ = ["SkipFirstBatches", "skip_done_batches"]
