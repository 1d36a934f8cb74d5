"""Assertion helpers with MMEngine's names (``mmengine.testing``), for tests ported with ``s/mmengine/mmhooks/``.

``assert_allclose`` raises; the ``assert_*`` predicates return a bool for the
caller to assert, as MMEngine's do.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterable, Mapping
from runpy import run_path
from typing import Any
from unittest import mock

import torch
from torch import nn

__all__ = ["assert_allclose", "assert_attrs_equal", "assert_dict_contains_subset", "assert_dict_has_keys",
           "assert_is_norm_layer", "assert_keys_equal", "assert_params_all_zeros", "check_python_script"]

# Tolerances by dtype when none are given (those of torch's former ``assert_allclose``).
_DEFAULT_TOLERANCES = {torch.float16: (1e-3, 1e-3), torch.float32: (1e-4, 1e-5), torch.float64: (1e-5, 1e-8)}


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str | Callable[[str], str] | None = "") -> None:
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close; numbers and lists become tensors.

    Dtypes may differ (``expected`` is cast to ``actual``'s when it is not a tensor).

    Example:
        >>> assert_allclose(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-7])
    """
    actual_t = actual if isinstance(actual, torch.Tensor) else torch.tensor(actual)
    expected_t = expected if isinstance(expected, torch.Tensor) else torch.tensor(expected, dtype=actual_t.dtype)
    if rtol is None and atol is None:
        pairs = [_DEFAULT_TOLERANCES.get(t.dtype, (0.0, 0.0)) for t in (actual_t, expected_t)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    torch.testing.assert_close(actual_t, expected_t, rtol=rtol, atol=atol, equal_nan=equal_nan,
                               check_device=True, check_dtype=False, check_stride=False, msg=msg or None)


def check_python_script(cmd: str) -> None:
    """Run ``cmd`` (``[python] script.py args...``) as ``__main__`` in this process (so coverage sees it)."""
    args = shlex.split(cmd)
    if args and args[0] == "python":
        args = args[1:]
    with mock.patch.object(sys, "argv", args):
        run_path(args[0], run_name="__main__")


def _truthy(result: Any) -> bool:
    """Whether any element of a (nested) comparison result is true; ``x != y`` may give tensors or arrays."""
    if isinstance(result, torch.Tensor):
        return bool(result.any())
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
        return bool(result)
    try:
        return any(_truthy(element) for element in result)
    except TypeError:  # a 0-d array iterates with a TypeError
        return bool(result)


def assert_dict_contains_subset(dict_obj: Mapping[Any, Any], expected_subset: Mapping[Any, Any]) -> bool:
    """Whether every key of ``expected_subset`` is in ``dict_obj`` with an equal value."""
    return all(key in dict_obj and not _truthy(dict_obj[key] != value) for key, value in expected_subset.items())


def assert_attrs_equal(obj: Any, expected_attrs: Mapping[str, Any]) -> bool:
    """Whether ``obj`` has every attribute of ``expected_attrs`` with an equal value."""
    return all(hasattr(obj, name) and not _truthy(getattr(obj, name) != value)
               for name, value in expected_attrs.items())


def assert_dict_has_keys(obj: Mapping[str, Any], expected_keys: Iterable[str]) -> bool:
    """Whether ``obj`` has every key in ``expected_keys``."""
    return set(expected_keys) <= set(obj.keys())


def assert_keys_equal(result_keys: Iterable[str], target_keys: Iterable[str]) -> bool:
    """Whether the two collections hold the same keys (order and repeats ignored)."""
    return set(result_keys) == set(target_keys)


def assert_is_norm_layer(module: nn.Module) -> bool:
    """Whether ``module`` is a batch, instance, group or layer norm."""
    norms = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm)
    return isinstance(module, norms)


def assert_params_all_zeros(module: nn.Module) -> bool:
    """Whether ``module.weight`` (and ``module.bias`` when there is one) are zeros within ``torch.allclose``."""
    tensors = [module.weight]
    bias = getattr(module, "bias", None)
    if bias is not None:
        tensors.append(bias)
    return all(torch.allclose(t.data, torch.zeros_like(t.data)) for t in tensors if isinstance(t, torch.Tensor))
