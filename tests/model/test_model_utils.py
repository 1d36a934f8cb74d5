"""mmhooks.model's helpers against MMEngine's: wrappers in child registries, SyncBN conversion, merge_dict."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

mm_model = pytest.importorskip("mmengine.model")

from mmhooks.model import (  # noqa: E402
    convert_sync_batchnorm,
    detect_anomalous_params,
    is_model_wrapper,
    merge_dict,
    revert_sync_batchnorm,
    stack_batch,
)
from mmhooks.registry import MODEL_WRAPPERS, Registry  # noqa: E402


class _Holder(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.module = model


def test_a_wrapper_registered_in_a_child_registry_is_a_model_wrapper():
    from mmengine.registry import MODEL_WRAPPERS as MM_MODEL_WRAPPERS
    from mmengine.registry import Registry as MMRegistry

    class MineHolder(_Holder):
        pass

    class TheirHolder(_Holder):
        pass

    Registry("mmtests_child_wrappers", parent=MODEL_WRAPPERS).register_module(module=MineHolder)
    MMRegistry("mmtests_child_wrappers", parent=MM_MODEL_WRAPPERS).register_module(module=TheirHolder)
    assert mm_model.is_model_wrapper(TheirHolder(nn.Linear(1, 1))) is True
    assert is_model_wrapper(MineHolder(nn.Linear(1, 1))) is True
    assert is_model_wrapper(nn.Linear(1, 1)) is mm_model.is_model_wrapper(nn.Linear(1, 1)) is False


def _norm_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm2d(4)))


def test_convert_and_revert_sync_batchnorm_match_mmengine():
    for convert in (convert_sync_batchnorm, mm_model.convert_sync_batchnorm):
        converted = convert(_norm_net())
        assert [type(m).__name__ for m in converted.modules()] == \
            [type(m).__name__ for m in mm_model.convert_sync_batchnorm(_norm_net()).modules()]
    net = mm_model.convert_sync_batchnorm(_norm_net())
    net[1].running_mean.fill_(2.0)
    mine, theirs = revert_sync_batchnorm(net), mm_model.revert_sync_batchnorm(mm_model.convert_sync_batchnorm(
        _norm_net()))
    assert [type(m).__name__ for m in mine.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert torch.equal(mine[1].running_mean, torch.full((4,), 2.0))
    mine.eval()
    assert mine(torch.ones(1, 3, 2, 2)).shape == (1, 4, 2, 2)  # runs on a CPU without a process group
    with pytest.raises(ValueError):
        convert_sync_batchnorm(_norm_net(), implementation="other")


def test_merge_dict_and_stack_batch_match_mmengine():
    assert merge_dict({"a": 1}, {"a": 2, "b": 3}) == mm_model.merge_dict({"a": 1}, {"a": 2, "b": 3})
    with pytest.raises(AssertionError):
        mm_model.merge_dict({"a": 1}, [1])
    with pytest.raises(AssertionError):
        merge_dict({"a": 1}, [1])
    tensors = [torch.ones(3, 5, 7), torch.ones(3, 6, 4)]
    assert torch.equal(stack_batch(tensors, pad_size_divisor=4, pad_value=2),
                       mm_model.stack_batch(tensors, pad_size_divisor=4, pad_value=2))


def _messages(print_log_calls: list[tuple[object, ...]]) -> list[str]:
    return [str(call[0]) for call in print_log_calls]


def test_detect_anomalous_params_names_unused_parameters_like_mmengine(monkeypatch):
    import mmengine.model.utils as mm_utils

    import mmhooks.model.utils as utils

    mine: list[tuple[object, ...]] = []
    theirs: list[tuple[object, ...]] = []
    monkeypatch.setattr(utils, "print_log", lambda msg, logger=None, level=None: mine.append((msg, logger, level)))
    monkeypatch.setattr(mm_utils, "print_log", lambda msg, logger=None, level=None: theirs.append((msg, logger, level)))
    model = nn.ModuleDict({"used": nn.Linear(2, 1), "unused": nn.Linear(2, 1)})
    loss = model["used"](torch.ones(1, 2)).sum()
    detect_anomalous_params(loss, model)
    mm_model.detect_anomalous_params(loss, model)
    assert mine == theirs and len(mine) == 2
    assert all(msg.startswith("unused.") and level == logging.ERROR for msg, _, level in mine)
