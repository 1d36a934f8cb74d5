"""``get_metric_value``: find a metric by its name with or without the evaluator's prefix (MMEngine's rule)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmhooks.errors import ConfigError, closest

__all__ = ["get_metric_value"]


def get_metric_value(indicator: str, metrics: Mapping[str, Any]) -> Any:
    """The value in ``metrics`` that ``indicator`` names.

    An indicator with a ``/`` is a full key (``"coco/bbox_mAP"``) and must be
    present as is; one without is a bare metric name and must match the last
    ``/``-part of exactly one key (``"bbox_mAP"``).

    Raises:
        ConfigError: (a ``ValueError``, as MMEngine raises) no key matches, or a bare name matches several.

    Example:
        >>> get_metric_value("top1", {"accuracy/top1": 0.9, "accuracy/top5": 1.0})
        0.9
        >>> get_metric_value("accuracy/top5", {"accuracy/top1": 0.9, "accuracy/top5": 1.0})
        1.0
    """
    keys = list(metrics)
    if "/" in indicator:
        if indicator in metrics:
            return metrics[indicator]
        matched: list[str] = []
    else:
        matched = [key for key in keys if key.split("/")[-1] == indicator]
        if len(matched) == 1:
            return metrics[matched[0]]
    if len(matched) > 1:
        raise ConfigError(
            "indicator", indicator, f"a name that matches one metric; it matches {matched}",
            f"use the full name, one of {matched}.", "get_metric_value",
        )
    near = closest(indicator, keys)
    fix = f"did you mean {near!r}?" if near else f"use one of {sorted(keys)}."
    raise ConfigError("indicator", indicator, f"a metric in {keys}", fix, "get_metric_value")
