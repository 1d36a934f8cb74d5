"""FakeRunner: the RunnerLike test double hooks are driven with."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.hooks import Hook
from mmhooks.testing import FakeRunner


def test_unknown_attribute_is_refused_with_the_closest_name():
    with pytest.raises(ConfigError, match=re.escape("FakeRunner.max_epoch: got 3; expected a RunnerLike attribute (")):
        FakeRunner(max_epoch=3)
    with pytest.raises(ConfigError, match=re.escape("Fix: rename it to 'max_epochs'.")):
        FakeRunner(max_epoch=3)


def test_loops_follow_the_runner():
    loader = [1, 2, 3]
    runner = FakeRunner(train_dataloader=loader, val_dataloader=[4], max_epochs=5)
    runner.epoch, runner.iter = 2, 7
    assert (runner.train_loop.epoch, runner.train_loop.iter, runner.train_loop.max_epochs) == (2, 7, 5)
    assert runner.train_loop.dataloader is loader and runner._train_loop is runner.train_loop
    assert runner.val_loop.dataloader == [4] and runner.test_loop.dataloader is None
    assert runner.train_loop.stop_training is False


def test_log_dir_follows_work_dir_until_set(tmp_path):
    runner = FakeRunner(work_dir=str(tmp_path), timestamp="20240202_020202")
    assert runner.log_dir == runner._log_dir == str(tmp_path / "20240202_020202")
    runner._log_dir = "/elsewhere"
    assert runner.log_dir == "/elsewhere"


def test_hooks_run_in_priority_order_then_registration_order():
    seen = []

    class Named(Hook):
        def __init__(self, name, priority):
            self.name, self.priority = name, priority

        def before_run(self, runner):
            seen.append(self.name)

    runner = FakeRunner()
    for name, priority in (("a", "NORMAL"), ("b", "HIGH"), ("c", "NORMAL"), ("d", 10), ("e", "LOWEST")):
        runner.register_hook(Named(name, priority))
    runner.register_hook(dict(type="EmptyCacheHook"), priority="VERY_HIGH")
    runner.call_hook("before_run")
    assert seen == ["d", "b", "a", "c", "e"]
    assert [type(hook).__name__ for hook in runner.hooks][:2] == ["Named", "EmptyCacheHook"]


def test_save_checkpoint_writes_what_mmengine_reads(tmp_path):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    runner = FakeRunner(model=model, epoch=1, iter=6, optim_wrapper=torch.optim.SGD(model.parameters(), lr=0.1))
    runner.message_hub.update_info("best_score", 0.5)
    edits = []

    class Edit(Hook):
        def before_save_checkpoint(self, runner, checkpoint):
            edits.append(sorted(checkpoint))
            checkpoint["extra"] = 1

    runner.register_hook(Edit())
    runner.save_checkpoint(str(tmp_path), "epoch_2.pth")
    assert runner.saved == ["epoch_2.pth"] and edits == [["message_hub", "meta", "optimizer", "state_dict"]]
    checkpoint = torch.load(tmp_path / "epoch_2.pth")
    assert checkpoint["meta"] == {"epoch": 2, "iter": 6} and checkpoint["extra"] == 1
    assert checkpoint["message_hub"]["runtime_info"]["best_score"] == 0.5
    target = nn.Linear(2, 1)
    mm_checkpoint.load_checkpoint(target, str(tmp_path / "epoch_2.pth"), strict=True, logger="silent")
    torch.testing.assert_close(target.weight, model.weight, rtol=0, atol=0)


def test_load_checkpoint_runs_hooks_before_the_weights(tmp_path):
    torch.manual_seed(1)
    source = nn.Linear(2, 1)
    torch.save({"meta": {}, "state_dict": source.state_dict()}, tmp_path / "c.pth")
    order = []
    runner = FakeRunner(model=nn.Linear(2, 1))

    class Watch(Hook):
        def after_load_checkpoint(self, runner, checkpoint):
            order.append(torch.equal(runner.model.weight, source.weight))

    runner.register_hook(Watch())
    runner.load_checkpoint(str(tmp_path / "c.pth"))
    assert order == [False]
    torch.testing.assert_close(runner.model.weight, source.weight, rtol=0, atol=0)


def test_drives_mmengine_hooks_too(tmp_path):
    mm_hooks = pytest.importorskip("mmengine.hooks")
    runner = FakeRunner(work_dir=str(tmp_path), max_epochs=1, model=nn.Linear(2, 1))
    hook = mm_hooks.CheckpointHook(interval=1)
    hook.before_train(runner)
    hook.after_train_epoch(runner)
    assert runner.saved == ["epoch_1.pth"]
    assert (tmp_path / "last_checkpoint").read_text() == str(tmp_path / "epoch_1.pth")
