"""DefaultScope and init_default_scope behave as MMEngine's, and MMEngine's DefaultScope follows mmhooks'."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

import mmhooks.registry as registry
from mmhooks.registry import HOOKS, TRANSFORMS, DefaultScope, init_default_scope, set_default_scope

mm_registry = pytest.importorskip("mmengine.registry")


def apis():
    return (SimpleNamespace(DefaultScope=registry.DefaultScope, init_default_scope=registry.init_default_scope),
            SimpleNamespace(DefaultScope=mm_registry.DefaultScope, init_default_scope=mm_registry.init_default_scope))


def raises(call):
    try:
        call()
    except TypeError:
        return "TypeError"
    return "no error"


def default_scope_scenario(api):
    seen = [api.DefaultScope.get_current_instance()]
    seen.append(api.DefaultScope.get_instance("name1", scope_name="mmdet").scope_name)
    seen.append(raises(lambda: api.DefaultScope.get_instance("name2")))
    seen.append(api.DefaultScope.get_current_instance().scope_name)
    origin = api.DefaultScope.get_instance("origin", scope_name="origin_scope")
    with api.DefaultScope.overwrite_default_scope(scope_name=None):
        seen.append(api.DefaultScope.get_current_instance().scope_name)
    with api.DefaultScope.overwrite_default_scope(scope_name="test_overwrite"):
        seen.append(api.DefaultScope.get_current_instance().scope_name)
        with api.DefaultScope.overwrite_default_scope(scope_name="nested"):
            seen.append(api.DefaultScope.get_current_instance().scope_name)
        seen.append(api.DefaultScope.get_current_instance().scope_name)
    with api.DefaultScope.overwrite_default_scope(scope_name="test_overwrite"):
        pass
    # MMEngine restores deep copies of the instances; compare what they say, not their identity
    seen.append((api.DefaultScope.get_current_instance().scope_name, origin.instance_name))
    api.init_default_scope("mmdet")
    seen.append(api.DefaultScope.get_current_instance().scope_name)
    api.init_default_scope("mmdet")
    seen.append(api.DefaultScope.get_current_instance().scope_name)
    api.DefaultScope.get_instance("another", scope_name="test")
    api.init_default_scope("mmdet")  # another scope is current: force it back, with a warning
    seen.append(api.DefaultScope.get_current_instance().scope_name)
    return seen


def test_default_scope_matches_mmengine(monkeypatch):
    import mmhooks.registry.default_scope as module

    warnings = []
    monkeypatch.setattr(module, "_log_warning", warnings.append)
    ours_api, theirs_api = apis()
    ours = default_scope_scenario(ours_api)
    for cls in (registry.DefaultScope, mm_registry.DefaultScope):
        cls._instance_dict.clear()
    assert ours == default_scope_scenario(theirs_api)
    assert ours[-1] == "mmdet" and ours[2] == "TypeError"
    assert warnings == ['The current default scope "test" is not "mmdet", `init_default_scope` will force set the '
                        'current default scope to "mmdet".']


def test_none_leaves_the_scope_as_it_is():
    """MMEngine's Runner with default_scope=None creates no DefaultScope; init_default_scope(None) does the same."""
    init_default_scope("mmdet")
    init_default_scope(None)
    assert DefaultScope.get_current_instance().scope_name == "mmdet"


def test_mmengine_follows_mmhooks_default_scope():
    init_default_scope("toyscope")
    assert mm_registry.DefaultScope.get_current_instance().scope_name == "toyscope"
    with DefaultScope.overwrite_default_scope("other"):
        assert mm_registry.DefaultScope.get_current_instance().scope_name == "other"
    assert mm_registry.DefaultScope.get_current_instance().scope_name == "toyscope"
    init_default_scope("mmhooks")  # mmhooks' root scope is MMEngine's root scope
    assert mm_registry.DefaultScope.get_current_instance().scope_name == "mmengine"
    DefaultScope.get_instance("by-hand", scope_name="toyscope")
    assert mm_registry.DefaultScope.get_current_instance().scope_name == "toyscope"


def test_downstream_builds_through_mmengine_find_the_scope(child_registry):
    """Issue 11 item 6: code building through MMEngine's registries (mmcv's Compose) sees mmhooks' default scope."""
    toy_transforms = child_registry(mm_registry.TRANSFORMS, "toyscope")

    @toy_transforms.register_module()
    class PackToy:
        pass

    with pytest.raises(KeyError, match="PackToy is not in the mmengine::transform registry"):
        mm_registry.TRANSFORMS.build(dict(type="PackToy"))  # MMEngine without a default scope
    init_default_scope("toyscope")
    assert type(mm_registry.TRANSFORMS.build(dict(type="PackToy"))) is PackToy
    assert type(TRANSFORMS.build(dict(type="PackToy"))) is PackToy


def test_mmhooks_follows_a_scope_set_only_in_mmengine(child_registry):
    """``register_all_modules()`` of a downstream package sets MMEngine's scope; mmhooks' lookups use it."""
    toy_hooks = child_registry(mm_registry.HOOKS, "toyscope")

    @toy_hooks.register_module()
    class EMAHook:
        pass

    mm_registry.init_default_scope("toyscope")
    assert HOOKS.get("EMAHook") is EMAHook


def test_the_runners_set_default_scope_switches_silently(monkeypatch):
    """As MMEngine's Runner (a new DefaultScope instance per run): no init_default_scope warning in a run's log."""
    import mmhooks.registry.default_scope as module

    warnings = []
    monkeypatch.setattr(module, "_log_warning", warnings.append)
    for scope in ("mmpretrain", "mmengine", "mmpretrain", "mmpretrain"):
        set_default_scope(scope)
        assert DefaultScope.get_current_instance().scope_name == scope
        assert mm_registry.DefaultScope.get_current_instance().scope_name == scope
    set_default_scope(None)
    assert DefaultScope.get_current_instance().scope_name == "mmpretrain"
    assert warnings == []


def test_set_is_kept_for_old_callers():
    DefaultScope.set("fakeproj")
    assert DefaultScope.get_current_instance().scope_name == "fakeproj"
    DefaultScope.set(None)
    assert DefaultScope.get_current_instance().scope_name == "mmengine"


def test_scope_name_must_be_a_string():
    from mmhooks.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^DefaultScope.scope_name: got 1; expected a scope name"):
        DefaultScope.get_instance("bad", scope_name=1)
    for function in (init_default_scope, set_default_scope):
        with pytest.raises(ConfigError, match=r"^default_scope: got \['mmdet'\]"):
            function(["mmdet"])


def _run(code: str, env_extra: dict[str, str] | None = None) -> str:
    env = dict(os.environ, **(env_extra or {}))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow
def test_mmengine_is_imported_only_when_the_runner_sets_the_scope():
    out = _run("""
        import sys
        import mmhooks.config, mmhooks.registry
        from mmhooks.registry import HOOKS, DefaultScope, set_default_scope
        DefaultScope.get_instance("x", scope_name="mmdet")
        print("mmengine" in sys.modules)
        set_default_scope("mmpretrain")
        from mmengine.registry import DefaultScope as MM
        print(MM.get_current_instance().scope_name)
    """)
    assert out.splitlines() == ["False", "mmpretrain"]


@pytest.mark.slow
def test_without_mmengine_nothing_changes():
    out = _run("""
        import sys
        sys.modules["mmengine"] = None  # as if it were not installed
        from mmhooks.registry import HOOKS, init_default_scope
        init_default_scope("toyscope")
        from mmhooks.hooks import EMAHook
        HOOKS.build(dict(type="EMAHook"))  # MMEngine warns when it builds under a scope it cannot find
        HOOKS.build(dict(type="EMAHook"))
        print(HOOKS.get("EMAHook") is EMAHook, HOOKS.get("toyscope.EMAHook"), HOOKS.get("NoSuchHook"))
    """)
    assert out.splitlines()[-1] == "True None None"
    assert 'Failed to search registry with scope "toyscope"' in out  # MMEngine's warning, once
