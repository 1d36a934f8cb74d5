"""EmptyCacheHook: which mount points empty the CUDA cache, compared with MMEngine's hook."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch

from mmhooks.hooks import EmptyCacheHook
from mmhooks.testing import FakeRunner

FLAGS = list(itertools.product([False, True], repeat=3))


def _stages_that_empty(hook: Any, monkeypatch: pytest.MonkeyPatch, cuda: bool) -> list[str]:
    """Drive every epoch and iteration mount point; return those where ``empty_cache`` ran."""
    calls: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: calls.append(1))
    runner = FakeRunner()
    fired = []
    for mode in ("train", "val", "test"):
        steps = {
            f"before_{mode}_epoch": lambda: getattr(hook, f"before_{mode}_epoch")(runner),
            f"before_{mode}_iter": lambda: getattr(hook, f"before_{mode}_iter")(runner, batch_idx=0),
            f"after_{mode}_iter": lambda: getattr(hook, f"after_{mode}_iter")(runner, batch_idx=0),
            f"after_{mode}_epoch": lambda: getattr(hook, f"after_{mode}_epoch")(runner),
        }
        for stage, call in steps.items():
            before = len(calls)
            call()
            if len(calls) > before:
                fired.append(stage)
    return fired


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: "before_epoch={}-after_epoch={}-after_iter={}".format(*f))
def test_empties_at_the_same_mount_points_as_mmengine(
    flags: tuple[bool, bool, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")
    kwargs = dict(zip(("before_epoch", "after_epoch", "after_iter"), flags))
    ours = _stages_that_empty(EmptyCacheHook(**kwargs), monkeypatch, cuda=True)
    theirs = _stages_that_empty(mmengine_hooks.EmptyCacheHook(**kwargs), monkeypatch, cuda=True)
    assert ours == theirs


def test_defaults_empty_after_each_epoch_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fired = _stages_that_empty(EmptyCacheHook(), monkeypatch, cuda=True)
    assert fired == ["after_train_epoch", "after_val_epoch", "after_test_epoch"]


def test_without_cuda_nothing_is_emptied(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = EmptyCacheHook(before_epoch=True, after_epoch=True, after_iter=True)
    assert _stages_that_empty(hook, monkeypatch, cuda=False) == []
