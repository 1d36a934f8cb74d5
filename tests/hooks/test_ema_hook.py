"""EMAHook against MMEngine's: updates, weight swaps around val/test, checkpoint save/load semantics."""

from __future__ import annotations

import copy
import io
import logging

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.hooks import EMAHook
from mmhooks.registry import HOOKS
from mmhooks.runner.checkpoint import weights_to_cpu
from mmhooks.testing import FakeRunner

ITERS_PER_EPOCH = 3


def make_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).double()


def step(net: nn.Module, i: int) -> None:
    generator = torch.Generator().manual_seed(200 + i)
    with torch.no_grad():
        for param in net.parameters():
            param.add_(torch.randn(param.shape, generator=generator, dtype=param.dtype))
    net.train()
    net(torch.randn(5, 3, generator=generator, dtype=torch.float64))


def make_runner(max_iters: int = 12, resume: bool = False) -> FakeRunner:
    return FakeRunner(
        model=make_net(),
        epoch=0,
        iter=0,
        max_iters=max_iters,
        max_epochs=max_iters // ITERS_PER_EPOCH,
        _resume=resume,
        logger=logging.getLogger("test_ema_hook"),
    )


def snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in net.state_dict().items()}


def train(hook, runner, iters: range, val_every: int = 4) -> list[dict[str, torch.Tensor]]:
    """Drive the training mount points like MMEngine's loop; returns the weights seen during each val."""
    seen = []
    for i in iters:
        runner.epoch = i // ITERS_PER_EPOCH
        step(runner.model, i)
        hook.after_train_iter(runner, batch_idx=i % ITERS_PER_EPOCH)
        runner.iter += 1
        if runner.iter % val_every == 0:
            raw = snapshot(runner.model)
            hook.before_val_epoch(runner)
            seen.append(snapshot(runner.model))
            hook.after_val_epoch(runner, metrics={})
            assert_same(snapshot(runner.model), raw)
    return seen


def assert_same(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=1e-12, msg=key)


def mm_hook(**kwargs):
    mm_hooks = pytest.importorskip("mmengine.hooks")
    return mm_hooks.EMAHook(**kwargs)


CASES = {
    "ema": dict(momentum=0.2),
    "ema-buffers-interval2": dict(momentum=0.2, update_buffers=True, interval=2),
    "annealing": dict(ema_type="MomentumAnnealingEMA", momentum=0.01, gamma=3),
    "swa-begin_iter=5": dict(ema_type="StochasticWeightAverage", begin_iter=5),
    "ema-begin_epoch=2": dict(momentum=0.3, begin_epoch=2),
}


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_training_and_val_swaps_match_mmengine(name):
    theirs_hook, ours_hook = mm_hook(**CASES[name]), EMAHook(**CASES[name])
    theirs_runner, ours_runner = make_runner(), make_runner()
    for hook, runner in ((theirs_hook, theirs_runner), (ours_hook, ours_runner)):
        hook.before_run(runner)
        hook.before_train(runner)
    theirs_seen = train(theirs_hook, theirs_runner, range(12))
    ours_seen = train(ours_hook, ours_runner, range(12))
    assert len(ours_seen) == 3
    for got, expected in zip(ours_seen, theirs_seen):
        assert_same(got, expected)
    assert_same(ours_hook.ema_model.state_dict(), theirs_hook.ema_model.state_dict())
    # Val saw the averaged weights, not the raw ones.
    assert not torch.equal(ours_seen[-1]["0.weight"], ours_runner.model.state_dict()["0.weight"])


def test_test_epoch_swaps_and_restores():
    hook, runner = EMAHook(momentum=0.5), make_runner()
    hook.before_run(runner)
    train(hook, runner, range(4), val_every=100)
    raw, averaged = snapshot(runner.model), snapshot(hook.ema_model.module)
    hook.before_test(runner)
    hook.before_test_epoch(runner)
    torch.testing.assert_close(runner.model[0].weight, averaged["0.weight"], rtol=0, atol=0)
    hook.after_test_epoch(runner, metrics={})
    assert_same(snapshot(runner.model), raw)


def saved_checkpoint(hook, runner) -> dict:
    checkpoint = {"meta": {"epoch": 0, "iter": runner.iter}, "state_dict": weights_to_cpu(snapshot(runner.model))}
    hook.before_save_checkpoint(runner, checkpoint=checkpoint)
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_save_puts_ema_in_state_dict_and_raw_in_ema_state_dict_like_mmengine():
    theirs_hook, ours_hook = mm_hook(momentum=0.3, update_buffers=True), EMAHook(momentum=0.3, update_buffers=True)
    theirs_runner, ours_runner = make_runner(), make_runner()
    for hook, runner in ((theirs_hook, theirs_runner), (ours_hook, ours_runner)):
        hook.before_run(runner)
        train(hook, runner, range(5), val_every=100)
    ours, theirs = saved_checkpoint(ours_hook, ours_runner), saved_checkpoint(theirs_hook, theirs_runner)
    assert list(ours) == list(theirs) == ["meta", "state_dict", "ema_state_dict"]
    assert_same(ours["state_dict"], theirs["state_dict"])
    assert_same(ours["ema_state_dict"], theirs["ema_state_dict"])
    assert_same(ours["state_dict"], snapshot(ours_hook.ema_model.module))
    raw = snapshot(ours_runner.model)
    assert_same({key[len("module."):]: value for key, value in ours["ema_state_dict"].items() if key != "steps"}, raw)
    assert int(ours["ema_state_dict"]["steps"]) == 5


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "load_from"])
def test_after_load_checkpoint_matches_mmengine(resume):
    source_hook, source_runner = EMAHook(momentum=0.3), make_runner()
    source_hook.before_run(source_runner)
    train(source_hook, source_runner, range(5), val_every=100)
    checkpoint = saved_checkpoint(source_hook, source_runner)

    results = []
    for hook in (mm_hook(momentum=0.3), EMAHook(momentum=0.3)):
        runner = make_runner(resume=resume)
        hook.before_run(runner)
        loaded = copy.deepcopy(checkpoint)
        hook.after_load_checkpoint(runner, checkpoint=loaded)
        results.append((snapshot(hook.ema_model), loaded))
    (theirs_ema, theirs_ckpt), (ours_ema, ours_ckpt) = results
    assert_same(ours_ema, theirs_ema)
    assert_same(ours_ckpt["state_dict"], theirs_ckpt["state_dict"])
    if resume:  # the model will receive the raw weights and the average continues
        assert_same(ours_ckpt["state_dict"], snapshot(source_runner.model))
        assert int(ours_ema["steps"]) == 5
    else:  # load_from: the average starts from the deployed (averaged) weights
        assert_same({k[len("module."):]: v for k, v in ours_ema.items() if k != "steps"}, checkpoint["state_dict"])
        assert int(ours_ema["steps"]) == 0


def test_resume_equals_straight_run():
    straight_hook, straight_runner = EMAHook(momentum=0.2, update_buffers=True), make_runner()
    straight_hook.before_run(straight_runner)
    train(straight_hook, straight_runner, range(9))

    first_hook, first_runner = EMAHook(momentum=0.2, update_buffers=True), make_runner()
    first_hook.before_run(first_runner)
    train(first_hook, first_runner, range(5))
    checkpoint = saved_checkpoint(first_hook, first_runner)

    hook, runner = EMAHook(momentum=0.2, update_buffers=True), make_runner(resume=True)
    hook.before_run(runner)
    hook.after_load_checkpoint(runner, checkpoint=checkpoint)
    runner.model.load_state_dict(checkpoint["state_dict"])
    runner.iter = 5
    train(hook, runner, range(5, 9))
    assert_same(snapshot(runner.model), snapshot(straight_runner.model))
    assert_same(snapshot(hook.ema_model), snapshot(straight_hook.ema_model))


def test_resume_without_ema_state_dict_warns_and_copies(caplog):
    hook, runner = EMAHook(), make_runner(resume=True)
    hook.before_run(runner)
    weights = weights_to_cpu(make_runner().model.state_dict())
    with torch.no_grad():
        weights["0.weight"] += 1
    with caplog.at_level(logging.WARNING, logger="test_ema_hook"):
        hook.after_load_checkpoint(runner, checkpoint={"state_dict": weights})
    assert caplog.messages == [
        "The checkpoint has no `ema_state_dict`; EMAHook starts the average from its `state_dict`."
    ]
    torch.testing.assert_close(hook.ema_model.module[0].weight, weights["0.weight"], rtol=0, atol=0)


def test_average_follows_model_device_unless_pinned(monkeypatch):
    moved = []
    for kwargs, expected in ((dict(), [torch.device("cpu")]), (dict(device="meta"), [])):
        moved.clear()
        hook, runner = EMAHook(**kwargs), make_runner()
        hook.before_run(runner)
        hook.ema_model.module.to("meta")  # pretend the copy lives elsewhere than the model
        monkeypatch.setattr(hook.ema_model, "to", lambda device: moved.append(device), raising=False)
        hook.before_train(runner)
        hook.before_val(runner)
        hook.before_test(runner)
        assert moved == expected * 3


def test_every_run_builds_a_fresh_average_like_mmengine():
    hook, runner = EMAHook(momentum=0.5), make_runner()
    hook.before_run(runner)
    train(hook, runner, range(3), val_every=100)
    hook.before_run(runner)
    assert_same(snapshot(hook.ema_model.module), snapshot(runner.model))
    assert int(hook.ema_model.steps) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(begin_iter=2, begin_epoch=1),
            "EMAHook.begin_epoch: got 1; expected 0 when begin_iter is set (begin_iter=2). "
            "Fix: set only one of begin_iter and begin_epoch.",
        ),
        (dict(begin_iter=-1), "EMAHook.begin_iter: got -1; expected an int >= 0. Fix: set begin_iter=0 to average "
         "from the start."),
    ],
    ids=["both-begins", "negative"],
)
def test_bad_begin_raises(kwargs, message):
    with pytest.raises(ConfigError) as info:
        EMAHook(**kwargs)
    assert str(info.value) == message


def test_begin_beyond_run_raises_at_before_train():
    hook, runner = EMAHook(begin_epoch=9), make_runner(max_iters=12)
    hook.before_run(runner)
    with pytest.raises(ConfigError) as info:
        hook.before_train(runner)
    assert str(info.value) == (
        "EMAHook.begin_epoch: got 9; expected at most max_epochs (4). Fix: lower begin_epoch or train for more epochs."
    )


def test_unknown_averaged_model_argument_is_located():
    with pytest.raises(ConfigError, match=r"^custom_hooks\[0\]\.momentun: got 0\.1; expected an argument of EMAHook "
                                          r"or ExponentialMovingAverage \(.*\)\. Fix: rename it to 'momentum'\.$"):
        HOOKS.build(dict(type="EMAHook", momentun=0.1), path="custom_hooks[0]")
