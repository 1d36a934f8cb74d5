"""mmhooks' optimizer wrappers offer MMEngine's public surface, with MMEngine's signatures.

Downstream code (model ``train_step``s, hooks, OpenMMLab constructors) calls
these names; the test compares every public method, property and attribute
of MMEngine's classes with mmhooks', parameter names, kinds and defaults
included (annotations aside).
"""

from __future__ import annotations

import inspect
import uuid
from typing import Any

import pytest
import torch
from torch import nn

from mmhooks.logging import MessageHub
from mmhooks.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

mmengine_optim = pytest.importorskip("mmengine.optim")
mmengine_logging = pytest.importorskip("mmengine.logging")

PAIRS = {
    "OptimWrapper": (mmengine_optim.OptimWrapper, OptimWrapper),
    "AmpOptimWrapper": (mmengine_optim.AmpOptimWrapper, AmpOptimWrapper),
    "OptimWrapperDict": (mmengine_optim.OptimWrapperDict, OptimWrapperDict),
}


def public_names(cls: type) -> list[str]:
    return sorted(name for name in dir(cls) if not name.startswith("_"))


def shape(obj: Any) -> Any:
    """What callers rely on: the kind of member, and for callables each parameter's name, kind and default."""
    if isinstance(obj, property):
        return "property"
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if not callable(obj):
        return ("attribute", obj)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [("*" if p.kind in variadic else p.name, p.kind, p.default)  # a ** parameter's name is never used
            for p in inspect.signature(obj).parameters.values()]


@pytest.mark.parametrize("name", sorted(PAIRS), ids=str)
def test_every_public_member_of_mmengine_is_here_with_its_signature(name: str) -> None:
    theirs, ours = PAIRS[name]
    missing = [member for member in public_names(theirs) if not hasattr(ours, member)]
    assert missing == []
    for member in public_names(theirs) + ["__init__"]:
        assert shape(inspect.getattr_static(ours, member)) == shape(inspect.getattr_static(theirs, member)), member


def sgd(model: nn.Module) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


@pytest.mark.parametrize("clip_grad", [None, dict(max_norm=1.0), dict(type="value", clip_value=0.1)],
                         ids=["no-clip", "norm", "value"])
def test_instance_attributes_include_mmengine_s(clip_grad: dict[str, Any] | None) -> None:
    model = nn.Linear(2, 1)
    theirs = mmengine_optim.OptimWrapper(sgd(model), accumulative_counts=2, clip_grad=dict(clip_grad or {}) or None)
    ours = OptimWrapper(sgd(model), accumulative_counts=2, clip_grad=clip_grad)
    assert set(vars(theirs)) <= set(vars(ours))
    for key in set(vars(theirs)) - {"optimizer", "message_hub", "clip_func"}:
        assert getattr(ours, key) == getattr(theirs, key), key
    assert ours.clip_func is getattr(theirs, "clip_func", None)


def test_grad_norm_reaches_the_current_message_hub_as_in_mmengine() -> None:
    name = f"optim-api-{uuid.uuid4().hex}"
    their_hub = mmengine_logging.MessageHub.get_instance(name)
    our_hub = MessageHub.get_instance(name)
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    their_model, our_model = nn.Linear(3, 1), nn.Linear(3, 1)
    their_model.load_state_dict(model.state_dict())
    our_model.load_state_dict(model.state_dict())
    theirs = mmengine_optim.OptimWrapper(sgd(their_model), clip_grad=dict(max_norm=0.5))
    ours = OptimWrapper(sgd(our_model), clip_grad=dict(max_norm=0.5))
    assert ours.message_hub is our_hub and theirs.message_hub is their_hub
    inputs = torch.randn(4, 3)
    for _ in range(2):
        theirs.update_params(their_model(inputs).pow(2).sum())
        ours.update_params(our_model(inputs).pow(2).sum())
    assert our_hub.get_scalar("train/grad_norm").data[0].tolist() == pytest.approx(
        their_hub.get_scalar("train/grad_norm").data[0].tolist())


def test_optim_wrapper_dict_count_status_takes_mmengine_keywords() -> None:
    model = nn.Linear(2, 1)
    wrappers = OptimWrapperDict(a=OptimWrapper(sgd(model)))
    wrappers.initialize_count_status(model, cur_iter=0, max_iters=10)
