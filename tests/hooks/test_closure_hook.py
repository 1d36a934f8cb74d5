"""ClosureHook: functions mounted by name receive the mount point's keyword arguments."""

from __future__ import annotations

from typing import Any

import pytest

from mmhooks.errors import ConfigError
from mmhooks.hooks import ClosureHook, Hook
from mmhooks.registry import HOOKS
from mmhooks.testing import FakeRunner

RUNNER = FakeRunner()

# Each mount point called as MMEngine's runner calls it (keywords after the runner).
CALLS: dict[str, dict[str, Any]] = {stage: {} for stage in Hook.stages}
CALLS.update(
    {
        "after_load_checkpoint": {"checkpoint": {"meta": 1}},
        "before_save_checkpoint": {"checkpoint": {"meta": 2}},
        "after_val_epoch": {"metrics": {"acc": 0.5}},
        "after_test_epoch": {"metrics": {"acc": 0.25}},
        **{f"before_{m}_iter": {"batch_idx": 3, "data_batch": [1]} for m in ("train", "val", "test")},
        **{
            f"after_{m}_iter": {"batch_idx": 4, "data_batch": [2], "outputs": {"loss": 1}}
            for m in ("train", "val", "test")
        },
    }
)


def _recorder(log: list[tuple[Any, ...]], stage: str) -> Any:
    return lambda runner, **kwargs: log.append((stage, runner, kwargs))


@pytest.mark.parametrize("stage", Hook.stages, ids=Hook.stages)
def test_each_mount_point_dispatches_its_keywords(stage: str) -> None:
    log: list[tuple[Any, ...]] = []
    hook = ClosureHook(stage, _recorder(log, stage))
    for name in Hook.stages:  # every mount point fires; only the mounted one reaches the function
        getattr(hook, name)(RUNNER, **CALLS[name])
    assert (log, hook.get_triggered_stages()) == ([(stage, RUNNER, CALLS[stage])], [stage])


def test_keyword_form_mounts_several_functions_and_keeps_priority() -> None:
    log: list[tuple[Any, ...]] = []
    hook = ClosureHook(after_train_iter=_recorder(log, "a"), before_run=_recorder(log, "b"), priority="LOW")
    hook.before_run(RUNNER)
    hook.after_train_iter(RUNNER, 7, None, {"loss": 0.1})  # a positional call still arrives as keywords
    assert log == [("b", RUNNER, {}), ("a", RUNNER, {"batch_idx": 7, "data_batch": None, "outputs": {"loss": 0.1}})]
    assert (hook.priority, hook.get_triggered_stages()) == ("LOW", ["before_run", "after_train_iter"])


def test_built_from_config_with_a_dotted_function_path() -> None:
    hook = HOOKS.build(dict(type="ClosureHook", fn_name="after_run", fn="os.path.basename"))
    assert hook.closures == {"after_run": __import__("os").path.basename}


def test_unknown_mount_point_lists_all_and_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as info:
        ClosureHook("after_trian_iter", print)
    assert str(info.value) == (
        "ClosureHook.fn_name: got 'after_trian_iter'; expected a mount point, one of ['after_load_checkpoint', "
        "'after_run', 'after_test', 'after_test_epoch', 'after_test_iter', 'after_train', 'after_train_epoch', "
        "'after_train_iter', 'after_val', 'after_val_epoch', 'after_val_iter', 'before_run', "
        "'before_save_checkpoint', 'before_test', 'before_test_epoch', 'before_test_iter', 'before_train', "
        "'before_train_epoch', 'before_train_iter', 'before_val', 'before_val_epoch', 'before_val_iter']. "
        "Fix: did you mean 'after_train_iter'?"
    )


def test_unknown_keyword_mount_point_is_located_in_the_config() -> None:
    with pytest.raises(ConfigError, match=r"^custom_hooks\[1\]\.befor_run: got 'befor_run'; "
                       r"expected a mount point, one of \[.*\]\. Fix: did you mean 'before_run'\?$"):
        HOOKS.build(dict(type="ClosureHook", befor_run=print), path="custom_hooks[1]")


BAD = {
    "keyword-not-callable": (dict(after_run="no_such_function_anywhere"), "ClosureHook.after_run: got "
                             "'no_such_function_anywhere'; expected a callable, or the name of a registered function "
                             "or a dotted import path. Fix: pass the function itself, or register it with "
                             "@FUNCTIONS.register_module()."),
    "not-callable": (dict(fn_name="after_run", fn=3), "ClosureHook.fn: got 3; expected a callable, or the name "
                     "of a registered function or a dotted import path. Fix: pass the function itself, or register "
                     "it with @FUNCTIONS.register_module()."),
    "fn-missing": (dict(fn_name="after_run"), "ClosureHook.fn: got None; expected a value, because fn_name is given. "
                   "Fix: pass both fn_name and fn, or mount functions by keyword (after_train_iter=fn)."),
    "nothing": ({}, "ClosureHook.fn_name: got None; expected at least one mount point with a function. Fix: pass "
                "fn_name and fn, or mount functions by keyword (after_train_iter=fn)."),
    "twice": (dict(fn_name="after_run", fn=print, after_run=print), "ClosureHook.after_run: got "
              f"{print!r}; expected one function per mount point. "
              "Fix: drop fn_name='after_run' or the after_run= keyword."),
}


@pytest.mark.parametrize("name", sorted(BAD), ids=sorted(BAD))
def test_bad_arguments(name: str) -> None:
    kwargs, message = BAD[name]
    with pytest.raises(ConfigError) as info:
        ClosureHook(**kwargs)
    assert str(info.value) == message


def test_bad_priority_fails_at_construction() -> None:
    with pytest.raises(KeyError, match="priority: got 'SOON'"):
        ClosureHook("after_run", print, priority="SOON")
