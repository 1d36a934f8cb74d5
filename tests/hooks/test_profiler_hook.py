"""ProfilerHook: when traces are handed over (vs MMEngine), where files land, and bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from mmhooks.errors import ConfigError
from mmhooks.hooks import ProfilerHook
from mmhooks.testing import FakeRunner


def _runner(log_dir: Path, max_epochs: int = 2, iters_per_epoch: int = 3) -> FakeRunner:
    return FakeRunner(
        log_dir=str(log_dir),
        logger=logging.getLogger("test_profiler"),
        max_epochs=max_epochs,
        max_iters=max_epochs * iters_per_epoch,
        iter=0,
        epoch=0,
    )


def _train(hook: Any, runner: FakeRunner, iters_per_epoch: int = 3) -> None:
    """The mount-point order of MMEngine's epoch loop, with a tiny matmul as the training step."""
    hook.before_run(runner)
    weight = torch.ones(4, 4)
    for epoch in range(runner.max_epochs):
        runner.epoch = epoch
        for batch_idx in range(iters_per_epoch):
            (weight @ weight).sum()
            hook.after_train_iter(runner, batch_idx=batch_idx, data_batch=None, outputs=None)
            runner.iter += 1
        hook.after_train_epoch(runner)


def _handover_iters(make_hook: Any, tmp_path: Path, max_epochs: int) -> list[int]:
    """The ``runner.iter`` at each call of ``on_trace_ready``."""
    runner = _runner(tmp_path, max_epochs=max_epochs)
    seen: list[int] = []
    _train(make_hook(on_trace_ready=lambda profiler: seen.append(runner.iter)), runner)
    return seen


SETTINGS = {
    "by-epoch": (dict(by_epoch=True), 2),
    "by-iter-2": (dict(by_epoch=False, profile_times=2), 2),
    "schedule": (dict(by_epoch=False, profile_times=3, schedule=dict(wait=0, warmup=1, active=1)), 2),
}


@pytest.mark.parametrize("name", sorted(SETTINGS), ids=sorted(SETTINGS))
def test_trace_handed_over_at_the_same_iteration_as_mmengine(name: str, tmp_path: Path) -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")
    kwargs, max_epochs = SETTINGS[name]
    ours = _handover_iters(lambda **kw: ProfilerHook(**kwargs, **kw), tmp_path, max_epochs)
    theirs = _handover_iters(lambda **kw: mmengine_hooks.ProfilerHook(**kwargs, **kw), tmp_path, max_epochs)
    assert ours == theirs


def test_profile_longer_than_an_epoch_stops_once_at_the_epoch_end(tmp_path: Path) -> None:
    # MMEngine stops at the epoch end and then, at iteration profile_times - 1, stops the
    # closed profiler again, which hands the trace over a second time ([3, 4]).
    assert _handover_iters(lambda **kw: ProfilerHook(by_epoch=False, profile_times=5, **kw), tmp_path, 2) == [3]


def test_tb_trace_writes_under_log_dir(tmp_path: Path) -> None:
    _train(ProfilerHook(on_trace_ready=dict(type="tb_trace")), _runner(tmp_path))
    traces = list((tmp_path / "tf_tracing_logs").glob("*.pt.trace.json"))
    assert len(traces) == 1
    assert "traceEvents" in json.loads(traces[0].read_text())


def test_tb_trace_relative_and_absolute_dir_name(tmp_path: Path) -> None:
    _train(ProfilerHook(on_trace_ready=dict(type="tb_trace", dir_name="prof")), _runner(tmp_path / "log"))
    absolute = dict(type="tb_trace", dir_name=str(tmp_path / "abs"))
    _train(ProfilerHook(on_trace_ready=absolute), _runner(tmp_path / "log"))
    assert len(list((tmp_path / "log" / "prof").glob("*.pt.trace.json"))) == 1
    assert len(list((tmp_path / "abs").glob("*.pt.trace.json"))) == 1


def test_json_trace_path_exports_chrome_trace(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    _train(ProfilerHook(by_epoch=False, profile_times=2, json_trace_path=str(path)), _runner(tmp_path))
    names = {event.get("name") for event in json.loads(path.read_text())["traceEvents"]}
    assert "aten::matmul" in names


def test_log_trace_logs_the_table(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="test_profiler"):
        table = dict(type="log_trace", sort_by="cpu_time_total", row_limit=3)
        _train(ProfilerHook(on_trace_ready=table), _runner(tmp_path))
    tables = [message for message in caplog.messages if "aten::" in message]
    assert len(tables) == 1 and "Self CPU" in tables[0]


def test_run_without_training_profiles_nothing(tmp_path: Path) -> None:
    seen: list[int] = []
    hook = ProfilerHook(on_trace_ready=lambda profiler: seen.append(1))
    _train(hook, _runner(tmp_path, max_epochs=0))
    assert (hook.profiler, seen) == (None, [])


BAD_ARGUMENTS = {
    "profile_times=0": (
        dict(profile_times=0),
        "ProfilerHook.profile_times: got 0; expected an int >= 1. Fix: profile at least one epoch or iteration.",
    ),
    "by_epoch-with-2": (
        dict(profile_times=2),
        "ProfilerHook.profile_times: got 2; expected 1 when by_epoch=True. Fix: profile one epoch, or set "
        "by_epoch=False to profile several iterations.",
    ),
    "trace-type": (
        dict(on_trace_ready=dict(type="tb_traces")),
        "ProfilerHook.on_trace_ready.type: got 'tb_traces'; expected one of ['log_trace', 'tb_trace']. "
        "Fix: did you mean 'tb_trace'?",
    ),
    "trace-kind": (
        dict(on_trace_ready="tb_trace"),
        "ProfilerHook.on_trace_ready: got 'tb_trace'; expected a callable, dict(type='log_trace', ...), "
        "dict(type='tb_trace', ...) or None. Fix: pick one of those forms.",
    ),
    "schedule-type": (
        dict(schedule=[1, 1, 1]),
        "ProfilerHook.schedule: got [1, 1, 1]; expected a dict of torch.profiler.schedule arguments or None. "
        "Fix: write e.g. schedule=dict(wait=1, warmup=1, active=2).",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_ARGUMENTS), ids=sorted(BAD_ARGUMENTS))
def test_bad_arguments(name: str) -> None:
    kwargs, message = BAD_ARGUMENTS[name]
    with pytest.raises(ConfigError) as info:
        ProfilerHook(**kwargs)
    assert str(info.value) == message


def test_bad_schedule_key_names_the_keys() -> None:
    with pytest.raises(ConfigError, match=r"^ProfilerHook\.schedule: got \{'wiat': 1, 'active': 1\}; expected "
                       r"keyword arguments of torch\.profiler\.schedule \(active, repeat, skip_first, wait, warmup\)"):
        ProfilerHook(schedule=dict(wiat=1, active=1))


def test_more_profile_times_than_the_run_has(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        ProfilerHook(by_epoch=False, profile_times=7).before_run(_runner(tmp_path, max_epochs=2))
    assert str(info.value) == (
        "ProfilerHook.profile_times: got 7; expected at most the run's max_iters (6). "
        "Fix: lower profile_times to 6 or train longer."
    )
