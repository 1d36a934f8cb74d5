"""Issue 11 item 5: names resolve with MMEngine's scope rule, mmhooks' registries standing in for MMEngine's roots.

A downstream project ('toyscope') hangs child registries below MMEngine's
roots, as mmpretrain does, and registers a name mmhooks also has (EMAHook)
plus names only it has. Under ``default_scope='toyscope'`` MMEngine resolves
the child's classes first, then its root's; mmhooks must give the same
downstream classes, and its own classes where MMEngine would give its root's.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mmhooks.registry import HOOKS, MODELS, DefaultScope, init_default_scope

mm_registry = pytest.importorskip("mmengine.registry")


@pytest.fixture
def toyscope(child_registry):
    import torch
    from mmengine.hooks import Hook as MMHook

    import mmengine.hooks  # noqa: F401 - MMEngine's own hooks in its root registry

    hooks = child_registry(mm_registry.HOOKS, "toyscope")
    models = child_registry(mm_registry.MODELS, "toyscope")

    @hooks.register_module()
    class EMAHook(MMHook):
        def __init__(self, momentum=0.5):
            self.momentum = momentum

    @hooks.register_module()
    class ToyOnlyHook(MMHook):
        pass

    @models.register_module()
    class ToyNet(torch.nn.Linear):
        def __init__(self, width=2):
            super().__init__(width, 1)

    return SimpleNamespace(hooks=hooks, models=models, EMAHook=EMAHook, ToyOnlyHook=ToyOnlyHook, ToyNet=ToyNet)


def mmengine_resolves(registry, scope, name):
    """What MMEngine builds for ``name`` from ``registry`` under the default scope ``scope``."""
    with registry.switch_scope_and_registry(scope) as scoped:
        return scoped.get(name)


NAMES = ["EMAHook", "ToyOnlyHook", "CheckpointHook", "NPUProfilerHook", "ParamSchedulerHook", "NoSuchHook"]


def test_downstream_names_win_under_their_scope(toyscope):
    from mmhooks.hooks import CheckpointHook, EMAHook

    init_default_scope("toyscope")
    ours = {name: HOOKS.get(name) for name in NAMES}
    theirs = {name: mmengine_resolves(mm_registry.HOOKS, "toyscope", name) for name in NAMES}
    # the downstream project's classes, and MMEngine-only names, are the very objects MMEngine resolves
    for name in ("EMAHook", "ToyOnlyHook", "NPUProfilerHook", "NoSuchHook"):
        assert ours[name] is theirs[name], name
    assert ours["EMAHook"] is toyscope.EMAHook and EMAHook is not toyscope.EMAHook
    # where MMEngine falls back to its root's class, mmhooks falls back to its own class of that name
    assert theirs["CheckpointHook"].__module__.startswith("mmengine.")
    assert ours["CheckpointHook"] is CheckpointHook
    assert ours["ParamSchedulerHook"].__module__.startswith("mmhooks.")
    built = HOOKS.build(dict(type="EMAHook", momentum=0.25), path="custom_hooks[0]")
    assert type(built) is toyscope.EMAHook and built.momentum == 0.25


@pytest.mark.parametrize("scope", ["mmengine", "mmhooks", None])
def test_root_scope_resolves_to_mmhooks_first(toyscope, scope):
    from mmhooks.hooks import CheckpointHook, EMAHook

    if scope is not None:
        init_default_scope(scope)
    assert HOOKS.get("EMAHook") is EMAHook
    assert HOOKS.get("ToyOnlyHook") is None  # MMEngine does not search a sibling scope either
    assert mmengine_resolves(mm_registry.HOOKS, scope, "ToyOnlyHook") is None
    # a scoped name goes to its scope; the scope's parents end at mmhooks' root, not MMEngine's
    assert HOOKS.get("toyscope.EMAHook") is toyscope.EMAHook
    assert HOOKS.get("toyscope.CheckpointHook") is CheckpointHook
    assert mm_registry.HOOKS.get("toyscope.CheckpointHook").__module__.startswith("mmengine.")
    assert HOOKS.get("NPUProfilerHook") is mm_registry.HOOKS.get("NPUProfilerHook")


def test_scope_key_in_a_config_builds_in_that_scope(toyscope):
    net = MODELS.build(dict(_scope_="toyscope", type="ToyNet", width=3), path="model")
    assert type(net) is toyscope.ToyNet and net.in_features == 3
    assert DefaultScope.get_current_instance() is None  # the scope applied only while building


def test_mmhooks_child_registry_is_searched_like_a_downstream_one(child_registry):
    """The s/mmengine/mmhooks/ form of a downstream registry: a child of mmhooks' own root."""
    from mmhooks.hooks import EMAHook

    toy = child_registry(HOOKS, "toyhooks")

    @toy.register_module()
    class EMAHook2:
        pass

    toy.register_module(name="EMAHook", module=EMAHook2)
    assert HOOKS.get("EMAHook") is EMAHook
    init_default_scope("toyhooks")
    assert HOOKS.get("EMAHook") is EMAHook2
    assert HOOKS.get("ParamSchedulerHook").__module__.startswith("mmhooks.")
    assert toy.get("CheckpointHook").__module__.startswith("mmhooks.")


def test_runner_builds_the_downstream_hook(toyscope, tmp_path):
    import torch

    from mmhooks.runner import Runner

    runner = Runner(model=torch.nn.Linear(1, 1), work_dir=str(tmp_path), default_scope="toyscope",
                    default_hooks=dict(logger=None, checkpoint=None), custom_hooks=[dict(type="EMAHook")])
    assert [type(hook) for hook in runner.hooks].count(toyscope.EMAHook) == 1
    assert mm_registry.DefaultScope.get_current_instance().scope_name == "toyscope"


def test_without_mmengine_a_downstream_scope_changes_nothing(toyscope, monkeypatch):
    """As if MMEngine were not installed: MMEngine's tree is never reached, mmhooks' names resolve."""
    import mmhooks.registry.lookup as lookup
    from mmhooks.hooks import EMAHook

    monkeypatch.setattr(lookup, "mmengine_root", lambda name, import_mmengine=True: None)
    monkeypatch.setattr(lookup, "is_mmengine_root", lambda obj: False)
    init_default_scope("toyscope")
    assert HOOKS.get("EMAHook") is EMAHook
    assert HOOKS.get("ToyOnlyHook") is None
