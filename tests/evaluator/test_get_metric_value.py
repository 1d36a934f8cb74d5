"""``get_metric_value`` against MMEngine's (``mmengine.evaluator.get_metric_value``)."""

from __future__ import annotations

import re

import pytest

from mmhooks.errors import ConfigError
from mmhooks.evaluator import get_metric_value

METRICS = {"accuracy/top1": 0.9, "accuracy/top5": 1.0, "coco/bbox_mAP": 0.4, "voc/bbox_mAP": 0.5, "loss": 0.2}


@pytest.mark.parametrize("indicator", ["top1", "accuracy/top5", "loss", "coco/bbox_mAP", "bbox_mAP", "top3",
                                       "voc/top1", "accuracy"])
def test_same_value_or_same_failure_as_mmengine(indicator):
    mm_evaluator = pytest.importorskip("mmengine.evaluator")
    try:
        theirs = mm_evaluator.get_metric_value(indicator, METRICS)
    except ValueError:
        with pytest.raises(ValueError):
            get_metric_value(indicator, METRICS)
        return
    assert get_metric_value(indicator, METRICS) == theirs


def test_ambiguous_name_lists_the_full_names():
    with pytest.raises(ConfigError, match=re.escape(
            "get_metric_value.indicator: got 'bbox_mAP'; expected a name that matches one metric; it matches "
            "['coco/bbox_mAP', 'voc/bbox_mAP']. Fix: use the full name, one of ['coco/bbox_mAP', 'voc/bbox_mAP'].")):
        get_metric_value("bbox_mAP", METRICS)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ConfigError, match=re.escape(
            "get_metric_value.indicator: got 'acuracy/top1'; expected a metric in ['accuracy/top1', 'accuracy/top5', "
            "'coco/bbox_mAP', 'voc/bbox_mAP', 'loss']. Fix: did you mean 'accuracy/top1'?")):
        get_metric_value("acuracy/top1", METRICS)


def test_same_module_path_as_mmengine():
    from mmhooks.evaluator.utils import get_metric_value as by_path

    assert by_path is get_metric_value
