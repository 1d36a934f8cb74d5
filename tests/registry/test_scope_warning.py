"""MMEngine's "Failed to search registry with scope" warning comes from builds only, as in MMEngine.

mmpretrain registers no ``function`` registry; MMEngine's Runner looks the
dataloader's ``collate_fn`` up with ``FUNCTIONS.get``, which never consults the
default scope and never warns. ``mmpretrain``'s ``tools/train.py`` sets
``collate_fn=dict(type='default_collate')`` for every dataloader, so a warning
from ``get`` put a line in every mmpretrain run's log that MMEngine's has not.
"""

from __future__ import annotations

import pytest

from mmhooks.registry import FUNCTIONS, HOOKS, init_default_scope

mm_registry = pytest.importorskip("mmengine.registry")

WARNING = 'Failed to search registry with scope "toyscope" in the "'


@pytest.fixture
def logged(monkeypatch):
    """What MMEngine's and mmhooks' registries print_log (their loggers' handlers vary between tests)."""
    import mmengine.logging as mm_logging  # MMEngine's registry imports print_log from here when it warns

    import mmhooks.logging.logger as logger_module

    lines = {"mmengine": [], "mmhooks": []}
    monkeypatch.setattr(mm_logging, "print_log", lambda msg, *a, **k: lines["mmengine"].append(str(msg)))
    monkeypatch.setattr(logger_module, "print_log", lambda msg, *a, **k: lines["mmhooks"].append(str(msg)))
    return lines


def warned(lines):
    return [line for line in lines if line.startswith(WARNING)]


@pytest.fixture
def toyscope_without_hooks_or_functions(child_registry):
    """A downstream scope with a model registry only (as mmpretrain has no ``function`` registry)."""
    import mmengine.dataset  # noqa: F401 - MMEngine's collate functions in its root registry
    import mmengine.hooks  # noqa: F401 - MMEngine's own hooks in its root registry

    child_registry(mm_registry.MODELS, "toyscope")
    from mmhooks.registry import lookup

    lookup._warned_scopes.clear()
    init_default_scope("toyscope")
    with mm_registry.DefaultScope.overwrite_default_scope("toyscope"):
        yield


def test_get_under_a_scope_without_that_registry_is_silent_as_in_mmengine(toyscope_without_hooks_or_functions,
                                                                           logged):
    theirs = mm_registry.FUNCTIONS.get("default_collate")
    ours = FUNCTIONS.get("default_collate")
    assert theirs is not None and ours is not None
    assert mm_registry.HOOKS.get("CheckpointHook") is not None and HOOKS.get("CheckpointHook") is not None
    assert warned(logged["mmengine"]) == warned(logged["mmhooks"]) == []


def test_build_under_a_scope_without_that_registry_warns_as_mmengine(toyscope_without_hooks_or_functions, logged):
    with mm_registry.HOOKS.switch_scope_and_registry("toyscope") as scoped:
        assert scoped is mm_registry.HOOKS  # MMEngine's workaround: the registry asked
    hook = HOOKS.build(dict(type="CheckpointHook"))
    assert type(hook).__name__ == "CheckpointHook"
    assert [line[:line.index("registry tree")] for line in warned(logged["mmengine"])] == [WARNING + 'hook" ']
    assert [line[:line.index("registry tree")] for line in warned(logged["mmhooks"])] == [WARNING + 'hook" ']
