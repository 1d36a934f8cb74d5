"""Interpolation helpers shared by the MMCV LR and momentum updaters (MMCV 1.x formulas)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["annealing_cos", "annealing_linear", "per_group"]


def annealing_cos(start: float, end: float, factor: float, weight: float = 1.0) -> float:
    """Cosine from ``start`` (``factor=0``) to ``end`` (``factor=1``); ``weight`` scales the amplitude.

    With ``weight < 1`` the curve starts at ``weight * start + (1 - weight) * end`` (CosineRestart).
    """
    return end + 0.5 * weight * (start - end) * (math.cos(math.pi * factor) + 1)


def annealing_linear(start: float, end: float, factor: float) -> float:
    """Straight line from ``start`` (``factor=0``) to ``end`` (``factor=1``)."""
    return start + (end - start) * factor


def per_group(where: str, name: str | None, optimizer: Any, value: Any) -> list[float]:
    """One value per param group of ``optimizer`` from a number, a per-group list, or a per-optimizer dict.

    Raises:
        ConfigError: a list whose length is not the number of groups, or a dict without ``name``.
    """
    from mmhooks.errors import ConfigError

    groups = len(optimizer.param_groups)
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return [float(value)] * groups  # type: ignore[arg-type]  # typeshed's numbers.Number has no __float__
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != groups:
            raise ConfigError(where, value, f"one value per param group ({groups})", "give one value per group.")
        return [float(v) for v in value]
    if isinstance(value, Mapping):
        if name not in value:
            raise ConfigError(
                where, value, f"a dict with one entry per optimizer, including {name!r}", f"add the key {name!r}."
            )
        return per_group(f"{where}.{name}", name, optimizer, value[name])
    raise ConfigError(where, value, "a float, a list of floats or a dict name -> float", "use a float.")
