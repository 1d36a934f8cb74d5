"""Names that only MMEngine (or a downstream project's scope) registers resolve through MMEngine."""

from __future__ import annotations

import pytest

from mmhooks.errors import ConfigError
from mmhooks.registry import HOOKS, DefaultScope

mmengine = pytest.importorskip("mmengine")


@pytest.fixture
def downstream_scope():
    """A downstream project ('fakeproj') with its own child of MMEngine's HOOKS registry."""
    from mmengine.hooks import Hook as MMHook
    from mmengine.registry import HOOKS as MM_HOOKS
    from mmengine.registry import Registry as MMRegistry

    if "fakeproj" not in MM_HOOKS.children:
        registry = MMRegistry("hook", parent=MM_HOOKS, scope="fakeproj")

        @registry.register_module()
        class FancyHook(MMHook):
            def __init__(self, level=1):
                self.level = level

    DefaultScope.set("fakeproj")
    yield MM_HOOKS.children["fakeproj"].get("FancyHook")
    DefaultScope.set(None)


def test_default_scope_name_resolves_in_mmengine(downstream_scope):
    hook = HOOKS.build(dict(type="FancyHook", level=3), path="custom_hooks[0]")
    assert type(hook) is downstream_scope and hook.level == 3


def test_scoped_name_resolves_without_default_scope(downstream_scope):
    DefaultScope.set(None)
    assert HOOKS.get("fakeproj.FancyHook") is downstream_scope


def test_runner_accepts_a_downstream_hook(downstream_scope, tmp_path):
    from mmhooks.runner import Runner

    runner = Runner(model=__import__("torch").nn.Linear(1, 1), work_dir=str(tmp_path), default_scope="fakeproj",
                    default_hooks=dict(logger=None, checkpoint=None),
                    custom_hooks=[dict(type="FancyHook", level=2)])
    assert [type(h).__name__ for h in runner.hooks].count("FancyHook") == 1


def test_unknown_name_still_a_located_error(downstream_scope):
    with pytest.raises(ConfigError, match=r"^custom_hooks\[0\]\.type: got 'FancierHook'"):
        HOOKS.build(dict(type="FancierHook"), path="custom_hooks[0]")
