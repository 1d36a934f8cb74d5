"""The Hook base class against MMEngine's: mount points, routing and predicates."""

from __future__ import annotations

import inspect

import pytest

from mmhooks.hooks import Hook
from mmhooks.testing import FakeRunner

mmengine = pytest.importorskip("mmengine")


def test_stages_and_signatures_match_mmengine():
    from mmengine.hooks import Hook as MMHook

    assert Hook.stages == MMHook.stages
    for stage in Hook.stages:
        ours = list(inspect.signature(getattr(Hook, stage)).parameters)
        theirs = list(inspect.signature(getattr(MMHook, stage)).parameters)
        assert ours == theirs, stage


@pytest.mark.parametrize("mode", ["train", "val", "test"])
def test_routing_to_shared_helpers(mode):
    seen = []

    class Routed(Hook):
        def _before_epoch(self, runner, mode="train"):
            seen.append(("before_epoch", mode))

        def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train"):
            seen.append(("after_iter", mode, batch_idx, outputs))

    hook = Routed()
    getattr(hook, f"before_{mode}_epoch")(None)
    getattr(hook, f"after_{mode}_iter")(None, batch_idx=3, data_batch=None, outputs={"x": 1})
    assert seen == [("before_epoch", mode), ("after_iter", mode, 3, {"x": 1})]


@pytest.mark.parametrize("epoch,iter_,n,start", [(0, 0, 1, 0), (1, 5, 2, 0), (2, 8, 3, 3), (4, 9, 0, 0), (0, 0, 2, 1),
                                                  (5, 17, 4, 2)], ids=str)
def test_predicates_match_mmengine(epoch, iter_, n, start):
    from mmengine.hooks import Hook as MMHook

    runner = FakeRunner(epoch=epoch, iter=iter_, max_epochs=epoch + 1, max_iters=iter_ + 2)
    ours, theirs = Hook(), MMHook()
    assert ours.every_n_epochs(runner, n, start) == theirs.every_n_epochs(runner, n, start)
    assert ours.every_n_train_iters(runner, n, start) == theirs.every_n_train_iters(runner, n, start)
    assert ours.every_n_inner_iters(iter_, n) == theirs.every_n_inner_iters(iter_, n)
    assert ours.end_of_epoch(list(range(iter_ + 1)), iter_) == theirs.end_of_epoch(list(range(iter_ + 1)), iter_)
    assert ours.is_last_train_epoch(runner) == theirs.is_last_train_epoch(runner)
    assert ours.is_last_train_iter(runner) == theirs.is_last_train_iter(runner)


def test_triggered_stages_match_mmengine():
    from mmengine.hooks import Hook as MMHook

    def body(self, *args, **kwargs):
        return None

    members = {"after_train_iter": body, "_before_epoch": body, "before_save_checkpoint": body}
    ours = type("Ours", (Hook,), dict(members))()
    theirs = type("Theirs", (MMHook,), dict(members))()
    assert sorted(ours.get_triggered_stages()) == sorted(theirs.get_triggered_stages())
