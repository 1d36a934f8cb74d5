"""Tiny models and loaders, shipped so tests, examples and bug reports share them.

Also MMEngine's ``mmengine.testing`` names (``RunnerTestCase``, ``assert_allclose``
and the ``assert_*`` predicates), imported on first use.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from mmhooks._lazy import lazy_exports
from mmhooks.testing.fake_runner import FakeRunner

_COMPARE = "mmhooks.testing.compare"
_MODULES = {
    "RunnerTestCase": "mmhooks.testing.runner_test_case",
    "assert_allclose": _COMPARE,
    "assert_attrs_equal": _COMPARE,
    "assert_dict_contains_subset": _COMPARE,
    "assert_dict_has_keys": _COMPARE,
    "assert_is_norm_layer": _COMPARE,
    "assert_keys_equal": _COMPARE,
    "assert_params_all_zeros": _COMPARE,
    "check_python_script": _COMPARE,
}

__all__ = sorted(["FakeRunner", "tiny_dataset", "tiny_loader", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def tiny_dataset(n: int = 24, in_features: int = 4, out_features: int = 1, seed: int = 0) -> TensorDataset:
    """A deterministic regression dataset: ``y = x @ w + noise``."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=generator)
    w = torch.randn(in_features, out_features, generator=generator)
    y = x @ w + 0.1 * torch.randn(n, out_features, generator=generator)
    return TensorDataset(x, y)


def tiny_loader(n: int = 24, batch_size: int = 4, **kwargs: Any) -> DataLoader[tuple[torch.Tensor, ...]]:
    """A non-shuffled DataLoader over :func:`tiny_dataset` (``n // batch_size`` batches)."""
    return DataLoader(tiny_dataset(n), batch_size=batch_size, **kwargs)
