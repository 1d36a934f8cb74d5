"""count_registered_modules and the root registries' correspondence with MMEngine's."""

from __future__ import annotations

import json
import os.path as osp

import pytest

import mmhooks.registry as registries
from mmhooks.registry import Registry, count_registered_modules

mm_registry = pytest.importorskip("mmengine.registry")


def test_each_root_registry_stands_in_for_mmengines_of_the_same_name():
    roots = {name: value for name, value in vars(registries).items() if isinstance(value, Registry)}
    assert set(roots) <= set(mm_registry.root.__dict__)
    for name, registry in roots.items():
        theirs = getattr(mm_registry, name)
        assert (registry.mmengine_name, registry.name, registry.scope) == (name, theirs.name, "mmhooks")
        if name != "OPTIMIZERS":  # MMEngine's build_optimizer_from_cfg only logs a note on Adafactor
            assert registry.build_func.__name__ == theirs.build_func.__name__, name
    assert set(registries.__all__) >= set(roots)


def test_count_registered_modules(tmp_path):
    result = count_registered_modules(str(tmp_path), verbose=False)
    with open(osp.join(tmp_path, "modules_statistic_results.json"), encoding="utf-8") as file:
        assert json.load(file) == result
    assert set(result) == {"scan_date", "registries"}
    for name, summaries in result["registries"].items():
        root = getattr(registries, name)
        assert summaries[0]["num_modules"] == len(root.module_dict)
        assert summaries[0]["scope"] == "mmhooks"
    assert "EMAHook" in result["registries"]["HOOKS"][0]["mmhooks/hooks"]
    count_registered_modules(save_path=None, verbose=False)


def test_user_registries_do_not_reach_mmengine():
    """A registry that is not a child of mmhooks' roots has no MMEngine counterpart (as in MMEngine)."""
    hooks = Registry("hook", scope="mine")
    assert hooks.mmengine_name is None
    assert hooks.get("CheckpointHook") is None
    assert registries.HOOKS.get("CheckpointHook") is not None
