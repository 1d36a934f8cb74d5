"""pseudo_collate and default_collate give MMEngine's batches."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pytest
import torch

from mmhooks.dataset import default_collate, pseudo_collate
from mmhooks.registry import FUNCTIONS

mmengine = pytest.importorskip("mmengine")
import mmengine.dataset as mm_dataset  # noqa: E402

Point = collections.namedtuple("Point", ["x", "y"])


def assert_same(actual: Any, expected: Any) -> None:
    """Equal values and equal container types, recursively."""
    assert type(actual) is type(expected)
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same(a, e)
    elif isinstance(expected, torch.Tensor):
        torch.testing.assert_close(actual, expected, rtol=0, atol=0)
    elif isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(actual, expected)
    else:
        assert actual == expected


BATCHES = {
    "dicts": [{"inputs": torch.ones(2), "label": 1, "name": "a"}, {"inputs": torch.zeros(2), "label": 0, "name": "b"}],
    "tuples": [(torch.ones(1), 1.5), (torch.zeros(1), 2.5)],
    "lists": [[torch.ones(2), [1, 2]], [torch.zeros(2), [3, 4]]],
    "namedtuples": [Point(1, torch.ones(1)), Point(2, torch.zeros(1))],
    "strings": ["a", "b"],
    "arrays": [{"x": np.ones(2)}, {"x": np.zeros(2)}],
    "nested": [{"a": {"b": (1, "s")}}, {"a": {"b": (2, "t")}}],
}


@pytest.mark.parametrize("batch", BATCHES.values(), ids=BATCHES.keys())
def test_pseudo_collate_matches_mmengine(batch: list[Any]) -> None:
    assert_same(pseudo_collate(batch), mm_dataset.pseudo_collate(batch))


@pytest.mark.parametrize("batch", BATCHES.values(), ids=BATCHES.keys())
def test_default_collate_matches_mmengine(batch: list[Any]) -> None:
    assert_same(default_collate(batch), mm_dataset.default_collate(batch))


@pytest.mark.parametrize("collate", [pseudo_collate, default_collate], ids=["pseudo", "default"])
def test_samples_of_different_lengths_raise(collate: Any) -> None:
    with pytest.raises(RuntimeError) as err:
        collate([[1, 2], [3]])
    assert str(err.value) == (
        "collate: got samples of lengths [2, 1]; expected sequences of one length. Fix: return samples with "
        "the same fields from the dataset, or pass a custom collate_fn."
    )


def test_collate_functions_are_registered() -> None:
    assert FUNCTIONS.get("pseudo_collate") is pseudo_collate
    assert FUNCTIONS.get("default_collate") is default_collate
