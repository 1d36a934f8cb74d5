"""``mmhooks.testing``'s MMEngine names (``RunnerTestCase``, ``assert_allclose``...) against ``mmengine.testing``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

mm_testing = pytest.importorskip("mmengine.testing")

from mmhooks import testing  # noqa: E402
from mmhooks.registry import DATASETS, METRICS, MODELS  # noqa: E402


def _outcome(func, *args, **kwargs):
    try:
        func(*args, **kwargs)
    except AssertionError:
        return "raised"
    return "passed"


@pytest.mark.parametrize("actual, expected, kwargs", [
    (torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-6], {}),
    (torch.tensor([1.0, 2.0]), [1.0, 2.1], {}),
    (torch.tensor([1.0, 2.0]), [1.0, 2.1], {"rtol": 0.1, "atol": 0.0}),
    (1.0, 1.0 + 1e-9, {}),
    (torch.tensor([1, 2]), [1, 2], {}),
    (torch.tensor([float("nan")]), [float("nan")], {}),
    (torch.tensor([float("nan")]), [float("nan")], {"equal_nan": False}),
    (torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0 + 1e-7], dtype=torch.float32), {}),
])
def test_assert_allclose_agrees_with_mmengine(actual, expected, kwargs):
    assert _outcome(testing.assert_allclose, actual, expected, **kwargs) == \
        _outcome(mm_testing.assert_allclose, actual, expected, **kwargs)


def test_predicates_agree_with_mmengine():
    data = {"a": torch.tensor([1, 2]), "b": "x", "c": np.array([3])}
    for subset in ({"a": torch.tensor([1, 2])}, {"a": torch.tensor([1, 3])}, {"b": "x", "c": np.array([3])},
                   {"z": 1}):
        assert testing.assert_dict_contains_subset(data, subset) == mm_testing.assert_dict_contains_subset(data, subset)
    obj = nn.Linear(1, 1)
    for attrs in ({"in_features": 1}, {"in_features": 2}, {"missing": 1}):
        assert testing.assert_attrs_equal(obj, attrs) == mm_testing.assert_attrs_equal(obj, attrs)
    assert testing.assert_dict_has_keys(data, ["a", "b"]) == mm_testing.assert_dict_has_keys(data, ["a", "b"])
    assert testing.assert_keys_equal(["a", "b"], ["b", "a"]) == mm_testing.assert_keys_equal(["a", "b"], ["b", "a"])
    for module in (nn.BatchNorm2d(2), nn.GroupNorm(1, 2), nn.Linear(1, 1), nn.InstanceNorm1d(2)):
        assert testing.assert_is_norm_layer(module) == mm_testing.assert_is_norm_layer(module)
    zero = nn.Linear(2, 2)
    nn.init.zeros_(zero.weight)
    nn.init.zeros_(zero.bias)
    for module in (zero, nn.Linear(2, 2)):
        assert testing.assert_params_all_zeros(module) == mm_testing.assert_params_all_zeros(module)


@pytest.mark.slow
def test_runner_test_case_builds_and_trains_runners():
    case = testing.RunnerTestCase("run")
    case.setUp()
    try:
        assert MODELS.get("ToyModel") is not None and DATASETS.get("ToyDataset") is not None
        runner = case.build_runner(case.epoch_based_cfg)
        runner.train()
        assert (runner.epoch, runner.iter) == (2, 8)
        assert runner.val_loop is not None and runner.test() == {"acc": 1}
        case.clear_work_dir()
        iter_runner = case.build_runner(case.iter_based_cfg)
        iter_runner.train()
        assert iter_runner.iter == 12
    finally:
        case.tearDown()
    assert "ToyModel" not in MODELS.module_dict and "ToyMetric" not in METRICS.module_dict
