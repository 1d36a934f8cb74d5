"""PrepareTTAHook: the model is wrapped before testing, as MMEngine's hook does."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from mmhooks.errors import ConfigError
from mmhooks.hooks import PrepareTTAHook
from mmhooks.testing import FakeRunner


class AveragingTTA(torch.nn.Module):
    """A toy TTA model: the mean of the wrapped model over flipped views."""

    def __init__(self, module: torch.nn.Module, flips: int = 1) -> None:
        super().__init__()
        self.module, self.flips = module, flips


def _wrap(hook: Any, model: torch.nn.Module) -> Any:
    runner = FakeRunner(model=model)
    hook.before_test(runner)
    return runner.model


def test_wraps_like_mmengine() -> None:
    mmengine_hooks = pytest.importorskip("mmengine.hooks")
    model = torch.nn.Linear(2, 1)
    ours = _wrap(PrepareTTAHook(dict(type=AveragingTTA, flips=2)), model)
    theirs = _wrap(mmengine_hooks.PrepareTTAHook(dict(type=AveragingTTA, flips=2)), model)
    expected = (AveragingTTA, model, 2)
    assert (type(ours), ours.module, ours.flips) == (type(theirs), theirs.module, theirs.flips) == expected


def test_config_is_not_mutated_and_hook_is_reusable() -> None:
    cfg = dict(type=AveragingTTA)
    hook = PrepareTTAHook(cfg)
    first, second = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    assert (_wrap(hook, first).module, _wrap(hook, second).module, cfg) == (first, second, dict(type=AveragingTTA))


def test_config_without_type() -> None:
    with pytest.raises(ConfigError) as info:
        PrepareTTAHook(dict(flips=2))
    assert str(info.value) == (
        "PrepareTTAHook.tta_cfg: got {'flips': 2}; expected a dict with a 'type' naming a TTA model. "
        "Fix: pass the config's tta_model, e.g. dict(type='DetTTAModel', tta_cfg=...)."
    )


def test_unknown_tta_type_is_located_at_tta_model() -> None:
    hook = PrepareTTAHook(dict(type="NoSuchTTAModelAnywhere"))
    with pytest.raises(ConfigError, match=r"^tta_model\.type: got 'NoSuchTTAModelAnywhere'"):
        _wrap(hook, torch.nn.Linear(2, 1))
