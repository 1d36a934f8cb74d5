"""IterTimerHook records the same data_time, time and eta as MMEngine's under a scripted clock."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

mmengine = pytest.importorskip("mmengine")

from mmhooks.hooks import IterTimerHook  # noqa: E402
from mmhooks.logging import MessageHub  # noqa: E402
from mmhooks.testing import FakeRunner

_ids = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _drive(hook, hub, clock: Clock, start_iter: int) -> list[float]:
    """Two train epochs of 3 iterations (resumed at ``start_iter``), a val round in between; eta after each iter."""
    runner = FakeRunner(
        message_hub=hub, iter=start_iter, max_iters=start_iter + 6, val_dataloader=[0] * 4, test_dataloader=[0] * 2
    )
    etas = []
    clock.now = 50.0
    hook.before_train(runner)
    for _ in range(2):
        hook.before_train_epoch(runner)
        for batch_idx in range(3):
            clock.now += 0.25
            hook.before_train_iter(runner, batch_idx=batch_idx)
            clock.now += 1.0 + batch_idx
            hook.after_train_iter(runner, batch_idx=batch_idx)
            etas.append(hub.get_info("eta"))
            runner.iter += 1
        hook.after_train_epoch(runner)
        for mode, n in (("val", 4), ("test", 2)):
            getattr(hook, f"before_{mode}_epoch")(runner)
            for batch_idx in range(n):
                clock.now += 0.5
                getattr(hook, f"before_{mode}_iter")(runner, batch_idx=batch_idx)
                clock.now += 0.125 * (batch_idx + 1)
                getattr(hook, f"after_{mode}_iter")(runner, batch_idx=batch_idx)
                etas.append(hub.get_info("eta"))
            getattr(hook, f"after_{mode}_epoch")(runner)
    return etas


@pytest.mark.parametrize("start_iter", [0, 10], ids=["fresh", "resumed-at-10"])
def test_times_and_eta_match_mmengine(start_iter, monkeypatch):
    from mmengine.hooks import IterTimerHook as MMIterTimerHook
    from mmengine.logging import MessageHub as MMMessageHub

    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    ours, theirs = MessageHub(f"t-{next(_ids)}"), MMMessageHub(f"t-{next(_ids)}")
    our_etas = _drive(IterTimerHook(), ours, clock, start_iter)
    their_etas = _drive(MMIterTimerHook(), theirs, clock, start_iter)
    assert our_etas == their_etas
    assert list(ours.log_scalars) == list(theirs.log_scalars)
    for key, buffer in theirs.log_scalars.items():
        np.testing.assert_array_equal(ours.get_scalar(key).data[0], buffer.data[0], err_msg=key)


def test_time_includes_data_time_and_eta_closed_form(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    hub = MessageHub(f"t-{next(_ids)}")
    etas = _drive(IterTimerHook(), hub, clock, 0)
    assert hub.get_scalar("train/data_time").data[0].tolist()[:3] == [0.25, 0.25, 0.25]
    assert hub.get_scalar("train/time").data[0].tolist()[:3] == [1.25, 2.25, 3.25]
    # after the first iteration: mean time 1.25 s times the 5 iterations left
    assert etas[0] == 1.25 * 5
    # val: mean of (0.625,) times 3 batches left
    assert etas[3] == 0.625 * 3
