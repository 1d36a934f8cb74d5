"""Data preprocessors against MMEngine's: casting structures and image normalise/pad/stack."""

from __future__ import annotations

import collections
from typing import Any

import pytest
import torch

from mmhooks.errors import ConfigError
from mmhooks.model import BaseDataPreprocessor, ImgDataPreprocessor

mmengine = pytest.importorskip("mmengine")
from mmengine.model import BaseDataPreprocessor as MMBaseDataPreprocessor  # noqa: E402
from mmengine.model import ImgDataPreprocessor as MMImgDataPreprocessor  # noqa: E402

Pair = collections.namedtuple("Pair", ["image", "label"])


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
    else:
        assert actual == expected


BATCHES = {
    "dict": {"inputs": [torch.ones(2)], "data_samples": None, "meta": "x"},
    "tuple": (torch.zeros(1), [torch.ones(1), b"raw"], 3),
    "namedtuple": Pair(torch.ones(2), torch.tensor(1)),
    "nested": {"a": {"b": (torch.ones(1), [None, "s"])}},
    "ordered": collections.OrderedDict(x=torch.ones(1)),
}


@pytest.mark.parametrize("batch", BATCHES.values(), ids=BATCHES.keys())
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_base_preprocessor_casts_like_mmengine(batch: Any, training: bool) -> None:
    assert_same(BaseDataPreprocessor()(batch, training), MMBaseDataPreprocessor()(batch, training))


def _images(shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randint(0, 255, shape, generator=generator, dtype=torch.uint8) for shape in shapes]


IMG_CASES = {
    "plain": dict(),
    "normalise": dict(mean=[10.0, 20.0, 30.0], std=[2.0, 3.0, 4.0]),
    "gray_mean": dict(mean=[5.0], std=[2.0]),
    "bgr_pad": dict(bgr_to_rgb=True, pad_size_divisor=4, pad_value=7),
    "rgb_norm_pad": dict(rgb_to_bgr=True, mean=[1.0, 2.0, 3.0], std=[1.0, 1.0, 2.0], pad_size_divisor=3),
}


@pytest.mark.parametrize("kwargs", IMG_CASES.values(), ids=IMG_CASES.keys())
def test_img_preprocessor_list_inputs_match_mmengine(kwargs: dict[str, Any]) -> None:
    data = {"inputs": _images([(3, 5, 6), (3, 6, 4)]), "data_samples": ["a", "b"]}
    assert_same(ImgDataPreprocessor(**kwargs)(data), MMImgDataPreprocessor(**kwargs)(data))


@pytest.mark.parametrize("kwargs", IMG_CASES.values(), ids=IMG_CASES.keys())
def test_img_preprocessor_nchw_inputs_match_mmengine(kwargs: dict[str, Any]) -> None:
    data = {"inputs": torch.stack(_images([(3, 5, 6), (3, 5, 6)]))}
    assert_same(ImgDataPreprocessor(**kwargs)(data), MMImgDataPreprocessor(**kwargs)(data))


def test_img_preprocessor_rejects_both_channel_swaps() -> None:
    with pytest.raises(ConfigError) as err:
        ImgDataPreprocessor(bgr_to_rgb=True, rgb_to_bgr=True)
    assert str(err.value) == (
        "ImgDataPreprocessor.rgb_to_bgr: got True; expected at most one of bgr_to_rgb and rgb_to_bgr. "
        "Fix: set only one of them."
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(mean=[1.0, 2.0, 3.0]), r"^ImgDataPreprocessor.std: got None; expected mean and std both set"),
        (dict(mean=[1.0, 2.0], std=[1.0, 2.0]), r"^ImgDataPreprocessor.mean: got \[1.0, 2.0\]; expected 1 value"),
    ],
    ids=["std_missing", "two_values"],
)
def test_img_preprocessor_rejects_bad_mean_std(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ImgDataPreprocessor(**kwargs)


def test_img_preprocessor_rejects_three_dim_batch_tensor() -> None:
    with pytest.raises(ValueError, match=r"^ImgDataPreprocessor.inputs: got a tensor of shape \(3, 4, 4\)"):
        ImgDataPreprocessor()({"inputs": torch.ones(3, 4, 4)})
