"""RUNNERS.build: ``runner_type`` picks the runner class and ``from_cfg`` gets the rest, as in MMEngine."""

from __future__ import annotations

import pytest

from mmhooks.config import Config
from mmhooks.registry import RUNNERS

mm_registry = pytest.importorskip("mmengine.registry")


def custom_runner_scenario(registry):
    class CustomRunner:
        @classmethod
        def from_cfg(cls, cfg):
            return cls.__name__, dict(cfg)

    registry.register_module(module=CustomRunner)
    try:
        return registry.build(dict(runner_type="CustomRunner", _scope_=None, model=dict(type="Net")))
    finally:
        registry.module_dict.pop("CustomRunner")


def test_runner_type_selects_the_class_as_in_mmengine():
    assert custom_runner_scenario(RUNNERS) == custom_runner_scenario(mm_registry.RUNNERS) == (
        "CustomRunner", {"runner_type": "CustomRunner", "model": {"type": "Net"}})


def test_without_runner_type_mmhooks_runner_is_built(tmp_path):
    from mmhooks.runner import Runner

    cfg = Config(dict(model=dict(type="torch.nn.Linear", in_features=1, out_features=1), work_dir=str(tmp_path),
                      default_hooks=dict(logger=None, checkpoint=None)))
    runner = RUNNERS.build(cfg)
    assert type(runner) is Runner and runner.work_dir == str(tmp_path)


def test_mmhooks_runner_wins_over_mmengines_registered_runner(tmp_path):
    """MMEngine registers its own Runner in its RUNNERS; mmhooks' root stands in for that one."""
    import mmengine.runner  # noqa: F401 - registers mmengine.runner.Runner in MMEngine's RUNNERS

    test_without_runner_type_mmhooks_runner_is_built(tmp_path)
