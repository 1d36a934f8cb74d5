"""Whether a larger or a smaller value of a metric is better, from its name (MMEngine's key lists).

``CheckpointHook(save_best=...)`` and ``EarlyStoppingHook(monitor=...)`` both
accept ``rule=None`` and infer it from the metric name with the same rule:
an exact (case-insensitive) match with a known key wins, then a known key
contained in the name, greater keys before less keys.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, Optional

__all__ = ["DEFAULT_GREATER_KEYS", "DEFAULT_LESS_KEYS", "RULES", "infer_rule", "rule_map"]

DEFAULT_GREATER_KEYS = ["acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc"]
DEFAULT_LESS_KEYS = ["loss"]
RULES = ("greater", "less")

#: ``rule_map[rule](score, reference)`` is True when ``score`` is better than ``reference``.
rule_map: dict[str, Callable[[Any, Any], Any]] = {"greater": operator.gt, "less": operator.lt}


def infer_rule(
    key: str, greater_keys: Sequence[str] = DEFAULT_GREATER_KEYS, less_keys: Sequence[str] = DEFAULT_LESS_KEYS
) -> Optional[str]:
    """``"greater"`` or ``"less"`` for the metric called ``key``, or ``None`` when its name gives no hint.

    Example:
        >>> infer_rule("val/top1"), infer_rule("loss_cls"), infer_rule("psnr")
        ('greater', 'less', None)
        >>> infer_rule("psnr", greater_keys=["psnr"])
        'greater'
    """
    name = key.lower()
    greater = {item.lower() for item in greater_keys}
    less = {item.lower() for item in less_keys}
    if name in greater:
        return "greater"
    if name in less:
        return "less"
    if any(item in name for item in greater):
        return "greater"
    if any(item in name for item in less):
        return "less"
    return None
