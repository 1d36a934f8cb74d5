"""EarlyStoppingHook: stop decisions compared with MMEngine's hook, resume, and error messages."""

from __future__ import annotations

import io
import logging
import math
from typing import Any

import numpy as np
import pytest
import torch

from mmhooks.errors import ConfigError
from mmhooks.hooks import EarlyStoppingHook
from mmhooks.testing import FakeRunner

NAN, INF = math.nan, math.inf

# (constructor kwargs, metric values fed one validation round at a time)
CASES = {
    "loss-plateau": (dict(monitor="loss", patience=3), [1.0, 0.8, 0.75, 0.74, 0.9, 0.7, 0.69, 0.71, 0.72, 0.73]),
    "loss-small-delta": (dict(monitor="val/loss", patience=2, min_delta=0.01), [1.0, 0.995, 0.9, 0.89, 0.95, 0.8]),
    "acc-no-delta": (dict(monitor="accuracy/top1", patience=2, min_delta=0.0), [0.1, 0.2, 0.2, 0.19, 0.3, 0.3, 0.3]),
    "explicit-greater": (dict(monitor="psnr", rule="greater", patience=1, min_delta=0.5), [20.0, 21.0, 21.4, 22.0]),
    "nan-stops": (dict(monitor="loss"), [1.0, 0.5, NAN, 0.1]),
    "inf-stops": (dict(monitor="loss"), [INF, 0.5]),
    "nan-allowed": (dict(monitor="loss", check_finite=False, patience=2), [1.0, NAN, 0.5, 0.45, 0.44, 0.43]),
    "threshold": (dict(monitor="mIoU", stopping_threshold=0.5, min_delta=0.0), [0.1, 0.3, 0.6, 0.7]),
    "never-stops": (dict(monitor="loss", patience=5), [5.0, 4.0, 3.0, 2.0, 1.0]),
}


def _stub_runner() -> FakeRunner:
    return FakeRunner(logger=logging.getLogger("test_early_stopping"))


def _feed(hook: Any, values: list[float], runner: Any = None) -> list[tuple[bool, float, int]]:
    """One validation round per value until the hook stops training: (stop, best_score, wait_count) per round."""
    runner = runner or _stub_runner()
    rounds = []
    for value in values:
        hook.after_val_epoch(runner, metrics={hook.monitor: value, "other": 0.0})
        rounds.append((runner.train_loop.stop_training, hook.best_score, hook.wait_count))
        if runner.train_loop.stop_training:
            break
    return rounds


def _same(ours: list[tuple[bool, float, int]], theirs: list[tuple[bool, float, int]]) -> None:
    """Equal, with NaN equal to NaN (a NaN can become the best score when check_finite=False)."""
    assert len(ours) == len(theirs)
    for (stop, best, wait), (stop_t, best_t, wait_t) in zip(ours, theirs):
        assert (stop, wait) == (stop_t, wait_t)
        assert best == best_t or (math.isnan(best) and math.isnan(best_t))


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_stops_in_the_same_round_as_mmengine(name: str) -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")
    kwargs, values = CASES[name]
    _same(_feed(EarlyStoppingHook(**kwargs), values), _feed(mmengine_hooks.EarlyStoppingHook(**kwargs), values))


def test_plateau_closed_form() -> None:
    # "less" with min_delta 0.1: a value improves only when below best - 0.1.
    rounds = _feed(EarlyStoppingHook("loss", patience=2), [1.0, 0.95, 0.85, 0.8, 0.78, 0.1])
    assert rounds == [(False, 1.0, 0), (False, 1.0, 1), (False, 0.85, 0), (False, 0.85, 1), (True, 0.85, 2)]


MONITORS = ["loss", "val_loss", "accuracy/top1", "mIoU", "AR@100", "coco/bbox_mAP", "Precision", "aAcc", "loss_acc",
            "top", "Loss"]


@pytest.mark.parametrize("monitor", MONITORS, ids=MONITORS)
def test_rule_inference_matches_mmengine(monitor: str) -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")
    assert EarlyStoppingHook(monitor).rule == mmengine_hooks.EarlyStoppingHook(monitor).rule


def test_tensor_metrics_are_accepted() -> None:
    hook = EarlyStoppingHook("loss", patience=1)
    rounds = _feed(hook, [torch.tensor(1.0), torch.tensor(0.95)])  # type: ignore[list-item]
    assert rounds == [(False, 1.0, 0), (True, 1.0, 1)]


RESUME_VALUES = [1.0, 0.95, 0.85, 0.86, 0.7, 0.69, 0.71, 0.72, 0.73, 0.5]  # stops in round 8 (patience 3)


@pytest.mark.parametrize("split", [1, 3, 5, 7], ids=lambda n: f"resume-after-{n}")
def test_resume_equals_straight_run(split: int) -> None:
    kwargs, values = dict(monitor="loss", patience=3), RESUME_VALUES
    straight = _feed(EarlyStoppingHook(**kwargs), values)
    assert len(straight) == 8 and straight[-1][0]

    first = EarlyStoppingHook(**kwargs)
    head = _feed(first, values[:split])
    buffer = io.BytesIO()
    torch.save({"hook": first.state_dict()}, buffer)  # the way a checkpoint carries it
    buffer.seek(0)
    second = EarlyStoppingHook(**kwargs)
    second.load_state_dict(torch.load(buffer, weights_only=True)["hook"])
    tail = _feed(second, values[split:])
    assert head + tail == straight


def test_state_dict_round_trip_and_argument_untouched() -> None:
    hook = EarlyStoppingHook("acc", patience=4)
    _feed(hook, [0.5, 0.55])
    state = hook.state_dict()
    assert state == {"version": 1, "wait_count": 1, "best_score": 0.5}
    fresh = EarlyStoppingHook("acc", patience=4)
    frozen = dict(state)
    fresh.load_state_dict(state)
    assert (fresh.wait_count, fresh.best_score, state) == (1, 0.5, frozen)
    old = EarlyStoppingHook("acc")
    old.load_state_dict({"wait_count": 2, "best_score": 0.25})  # version 0: no "version" key
    assert (old.wait_count, old.best_score) == (2, 0.25)


def test_state_key_tells_two_hooks_apart() -> None:
    assert EarlyStoppingHook("loss").state_key == "EarlyStoppingHook{'monitor': 'loss', 'rule': 'less'}"
    assert EarlyStoppingHook("acc").state_key != EarlyStoppingHook("loss").state_key


def test_newer_state_version_is_refused() -> None:
    hook = EarlyStoppingHook("loss")
    with pytest.raises(RuntimeError) as info:
        hook.load_state_dict({"version": 2, "wait_count": 0, "best_score": 1.0})
    assert str(info.value) == (
        "EarlyStoppingHook{'monitor': 'loss', 'rule': 'less'}: checkpoint state version 2 is newer than this "
        "mmhooks (1). Fix: upgrade mmhooks to resume."
    )


def test_missing_monitor_strict_names_the_key_and_available_keys() -> None:
    hook = EarlyStoppingHook("val/acc", strict=True)
    with pytest.raises(RuntimeError) as info:
        hook.after_val_epoch(_stub_runner(), metrics={"val/top1": 0.5, "val/acc1": 0.4})
    assert str(info.value) == (
        "EarlyStoppingHook.monitor: 'val/acc' is not among the validation metrics ['val/acc1', 'val/top1']. "
        "Fix: set monitor='val/acc1', or strict=False to skip early stopping while it is missing."
    )


def test_missing_monitor_not_strict_warns_once_and_skips() -> None:
    hook = EarlyStoppingHook("loss", patience=1)
    runner = _stub_runner()
    with pytest.warns(UserWarning) as record:
        for _ in range(3):
            hook.after_val_epoch(runner, metrics={"accuracy": 0.5})
    assert [str(w.message) for w in record] == [
        "EarlyStoppingHook.monitor: 'loss' is not among the validation metrics ['accuracy']; early stopping is "
        "skipped for those rounds. Fix: set monitor to one of them."
    ]
    assert (runner.train_loop.stop_training, hook.wait_count) == (False, 0)


def test_stop_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="test_early_stopping"):
        _feed(EarlyStoppingHook("loss", patience=1), [1.0, 1.0])
    assert caplog.messages == [
        "Early stopping: loss has not improved by more than 0.1 in the last 1 validation rounds; the best was 1.000."
    ]


def test_rule_that_cannot_be_inferred() -> None:
    with pytest.raises(ConfigError) as info:
        EarlyStoppingHook("psnr")
    assert str(info.value) == (
        "EarlyStoppingHook.rule: got None; expected one of ['greater', 'less'] (no rule can be inferred from "
        "monitor='psnr'). Fix: set rule='greater' if a larger value is better, else rule='less'."
    )


def test_invalid_rule() -> None:
    with pytest.raises(ConfigError) as info:
        EarlyStoppingHook("loss", rule="max")
    assert str(info.value) == (
        "EarlyStoppingHook.rule: got 'max'; expected one of ['greater', 'less']. Fix: pick one of ['greater', 'less']."
    )


def test_before_run_checks_an_existing_train_loop_only() -> None:
    hook = EarlyStoppingHook("loss")
    hook.before_run(FakeRunner(train_loop=None))  # a test-only run has no training loop
    with pytest.raises(TypeError) as info:
        hook.before_run(FakeRunner(train_loop=object()))
    assert str(info.value) == (
        "EarlyStoppingHook: the runner's train_loop (object) has no 'stop_training' attribute. "
        "Fix: use a training loop that can be stopped, or remove the hook."
    )


BEST_SCORE_TYPES = {
    "float": [0.9, 0.5, 0.45],
    "numpy": [np.float64(0.9), np.float64(0.5)],
    "tensor": [torch.tensor(0.9), torch.tensor(0.5)],
    "int": [9, 5],
}


@pytest.mark.parametrize("name", list(BEST_SCORE_TYPES), ids=list(BEST_SCORE_TYPES))
def test_best_score_keeps_the_metric_type_like_mmengine(name: str) -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")
    ours, theirs = EarlyStoppingHook("loss", patience=9), mmengine_hooks.EarlyStoppingHook("loss", patience=9)
    assert type(ours.best_score) is type(theirs.best_score)
    for value in BEST_SCORE_TYPES[name]:
        _feed(ours, [value])
        _feed(theirs, [value])
        assert type(ours.best_score) is type(theirs.best_score)
        assert ours.best_score == theirs.best_score


def test_stopping_threshold_with_tensor_metrics_like_mmengine() -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")
    values = list(torch.linspace(98, 99, 8))
    kwargs = dict(monitor="accuracy/top1", rule="greater", stopping_threshold=98.5, patience=0)
    ours, theirs = EarlyStoppingHook(**kwargs), mmengine_hooks.EarlyStoppingHook(**kwargs)
    _same(_feed(ours, values), _feed(theirs, values))
    assert ours.best_score.item() == pytest.approx(98 + 4 / 7, abs=1e-5)


def test_tensor_best_score_survives_a_checkpoint() -> None:
    hook = EarlyStoppingHook("loss")
    _feed(hook, [torch.tensor(0.75)])
    buffer = io.BytesIO()
    torch.save({"hook": hook.state_dict()}, buffer)
    buffer.seek(0)
    fresh = EarlyStoppingHook("loss")
    fresh.load_state_dict(torch.load(buffer, weights_only=True)["hook"])
    assert type(fresh.best_score) is torch.Tensor and fresh.best_score.item() == 0.75


def test_subclass_key_lists_drive_rule_inference_like_mmengine() -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")

    class Ours(EarlyStoppingHook):
        _default_greater_keys = ["psnr"]

    class Theirs(mmengine_hooks.EarlyStoppingHook):
        _default_greater_keys = ["psnr"]

    assert Ours("val/PSNR").rule == Theirs("val/PSNR").rule == "greater"
