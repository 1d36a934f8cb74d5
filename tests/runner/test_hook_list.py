"""Hook registration order and default-hook merging, against MMEngine's Runner."""

from __future__ import annotations

import pytest

from mmhooks.errors import ConfigError
from mmhooks.hooks import Hook
from mmhooks.runner.hook_list import HookError, HookList, merge_default_hooks

mmengine = pytest.importorskip("mmengine")


def named(base, name, priority):
    return type(name, (base,), {"priority": priority})()


PRIORITIES = [("a", "LOW"), ("b", 50), ("c", "NORMAL"), ("d", "highest"), ("e", 70), ("f", 0), ("g", 100)]


def test_insertion_order_matches_mmengine(tmp_path):
    from mmengine.hooks import Hook as MMHook
    from mmengine.runner import Runner

    runner = Runner(model=__import__("torch").nn.Linear(1, 1), work_dir=str(tmp_path), default_hooks={},
                    log_level="WARNING")
    runner._hooks = []
    for name, prio in PRIORITIES:
        runner.register_hook(named(MMHook, name, prio))
    hooks = HookList(named(Hook, name, prio) for name, prio in PRIORITIES)
    assert [type(h).__name__ for h in hooks] == [type(h).__name__ for h in runner.hooks]
    assert [h.priority for h in hooks] == [h.priority for h in runner.hooks]


def test_explicit_priority_wins_over_dict_and_class():
    hooks = HookList()
    hooks.register(dict(type="EmptyCacheHook", priority="LOW"))
    hook = hooks.register(dict(type="EmptyCacheHook", priority="LOW"), priority=10)
    assert hooks[0] is hook and hook.priority == 10


def test_invalid_priority_names_accepted_values():
    with pytest.raises(ConfigError) as info:
        HookList([dict(type="EmptyCacheHook", priority="URGENT")], path="custom_hooks")
    assert str(info.value) == (
        "custom_hooks[0].priority: got 'URGENT'; expected an int in [0, 100] or one of ['ABOVE_NORMAL', "
        "'BELOW_NORMAL', 'HIGH', 'HIGHEST', 'LOW', 'LOWEST', 'NORMAL', 'VERY_HIGH', 'VERY_LOW']. "
        "Fix: use e.g. priority='NORMAL' (lower runs earlier)."
    )


def test_unknown_hook_type_names_path_and_closest():
    with pytest.raises(ConfigError) as info:
        HookList([dict(type="EMAHook"), dict(type="EMAHook"), dict(type="EMAHok")], path="custom_hooks")
    assert str(info.value).startswith("custom_hooks[2].type: got 'EMAHok'; expected a registered hook (")
    assert str(info.value).endswith("Fix: did you mean 'EMAHook'?")


def test_default_hooks_merge_matches_mmengine(tmp_path):
    from mmengine.runner import Runner

    user = dict(timer=None, logger=dict(type="LoggerHook", interval=5), extra=dict(type="EMAHook"))
    runner = Runner(model=__import__("torch").nn.Linear(1, 1), work_dir=str(tmp_path), log_level="WARNING",
                    default_hooks={k: v for k, v in user.items() if k != "extra"})
    merged = merge_default_hooks(user)
    assert list(merged)[:-1] == ["runtime_info", "sampler_seed", "logger", "param_scheduler", "checkpoint"]
    assert list(merged)[-1] == "extra" and merged["logger"] == dict(type="LoggerHook", interval=5)
    mm_names = [type(h).__name__ for h in runner.hooks]
    assert mm_names == ["RuntimeInfoHook", "DistSamplerSeedHook", "LoggerHook", "ParamSchedulerHook", "CheckpointHook"]


def test_removing_unknown_default_hook_is_an_error():
    with pytest.raises(ConfigError) as info:
        merge_default_hooks(dict(loger=None))
    assert str(info.value) == (
        "default_hooks.loger: got None; expected one of the default hook names ['checkpoint', 'logger', "
        "'param_scheduler', 'runtime_info', 'sampler_seed', 'timer']. Fix: did you mean 'logger'?"
    )


def test_hook_exception_names_hook_and_stage():
    class Broken(Hook):
        def before_train(self, runner):
            raise KeyError("missing")

    with pytest.raises(HookError) as info:
        HookList([Broken()]).call("before_train", runner=None)
    assert str(info.value) == "Broken.before_train raised KeyError: 'missing'"
    assert isinstance(info.value.__cause__, KeyError)


def test_renamed_argument_is_a_type_error_naming_the_hook():
    class Renamed(Hook):
        def after_train_iter(self, runner, idx, data_batch=None, outputs=None):
            pass

    with pytest.raises(TypeError) as info:
        HookList([Renamed()]).call("after_train_iter", runner=None, batch_idx=0, data_batch=None, outputs=None)
    assert str(info.value).endswith("in Renamed.after_train_iter")


def test_noop_stages_are_skipped():
    class OnlyAfterIter(Hook):
        def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train"):
            pass

    hooks = HookList([OnlyAfterIter(), Hook()])
    assert len(hooks.active("after_val_iter")) == 1
    assert hooks.active("before_train") == []
