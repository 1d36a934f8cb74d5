"""torchmetrics metrics behind BaseMetric: same numbers as torchmetrics, MMEngine-style names and errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torchmetrics
from torchmetrics.classification import MulticlassAccuracy
from torchmetrics.regression import MeanSquaredError

from mmhooks.errors import ConfigError
from mmhooks.evaluator import Evaluator, TorchMetricsBridge, build_evaluator
from mmhooks.evaluator.torchmetrics_bridge import snake_case

from mmhooks.registry import METRICS as _METRICS


def _registered() -> str:
    """The registered metric names as the message lists them (other tests may register more)."""
    return ", ".join(_METRICS.keys())



def _classification_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    return [(torch.randn(5, 4, generator=generator), torch.randint(0, 4, (5,), generator=generator))
            for _ in range(3)]


def _expected(metric: torchmetrics.Metric, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    for preds, target in batches:
        metric.update(preds, target)
    return float(metric.compute())


def test_dict_samples_match_torchmetrics_from_a_config() -> None:
    batches = _classification_batches()
    evaluator = build_evaluator(dict(type="torchmetrics.classification.MulticlassAccuracy", num_classes=4))
    for preds, target in batches:
        evaluator.process([{"pred": p, "gt": t} for p, t in zip(preds, target)])
    expected = _expected(MulticlassAccuracy(num_classes=4), batches)
    assert evaluator.evaluate(size=15) == {"multiclassaccuracy/multiclass_accuracy": expected}


def test_pair_samples_and_batch_pairs_match_torchmetrics() -> None:
    generator = torch.Generator().manual_seed(1)
    batches = [(torch.randn(4, generator=generator), torch.randn(4, generator=generator)) for _ in range(2)]
    bridge = TorchMetricsBridge(MeanSquaredError(), prefix="reg")
    bridge.process(None, list(zip(*batches[0])))  # per-sample (pred, target) pairs
    bridge.process(None, batches[1])  # one (preds, target) pair of batch tensors
    assert bridge.evaluate(size=8) == {"reg/mean_squared_error": _expected(MeanSquaredError(), batches)}


def test_state_resets_between_evaluations() -> None:
    bridge = TorchMetricsBridge(MeanSquaredError())
    bridge.process(None, [(torch.tensor(0.0), torch.tensor(2.0))])
    assert bridge.evaluate(1) == {"meansquarederror/mean_squared_error": 4.0}
    bridge.process(None, [(torch.tensor(1.0), torch.tensor(2.0))])
    assert bridge.evaluate(1) == {"meansquarederror/mean_squared_error": 1.0}


def test_torchmetrics_instance_in_an_evaluator_list_with_prefix_from_config() -> None:
    evaluator = Evaluator([MulticlassAccuracy(num_classes=3, average="micro"),
                           dict(type="torchmetrics.MeanSquaredError", prefix="mse")])
    evaluator.process([(0, 0), (2, 1)])
    assert evaluator.evaluate(2) == {"multiclassaccuracy/multiclass_accuracy": 0.5,
                                     "mse/mean_squared_error": 0.5}


def test_metric_collection_keeps_its_keys() -> None:
    collection = torchmetrics.MetricCollection({"mae": torchmetrics.MeanAbsoluteError(),
                                                "mse": torchmetrics.MeanSquaredError()})
    bridge = TorchMetricsBridge(collection, prefix="val")
    bridge.process(None, (torch.tensor([0.0, 1.0]), torch.tensor([2.0, 1.0])))
    assert bridge.evaluate(2) == {"val/mae": 1.0, "val/mse": 2.0}


def test_per_class_values_become_lists() -> None:
    bridge = TorchMetricsBridge(MulticlassAccuracy(num_classes=2, average=None))
    bridge.process(None, [(0, 0), (0, 1), (1, 1)])
    assert bridge.evaluate(3) == {"multiclassaccuracy/multiclass_accuracy": [1.0, 0.5]}


@pytest.mark.parametrize(
    ("name", "snake"),
    [("MulticlassAccuracy", "multiclass_accuracy"), ("MulticlassF1Score", "multiclass_f1_score"),
     ("AUROC", "auroc"), ("BinaryAUROC", "binary_auroc"), ("MeanSquaredError", "mean_squared_error")],
    ids=lambda value: value,
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_bad_data_samples_raise() -> None:
    bridge = TorchMetricsBridge(MeanSquaredError())
    with pytest.raises(ValueError) as err:
        bridge.process(None, [{"pred": 1.0, "label": 2.0}])
    assert str(err.value) == (
        "TorchMetricsBridge.process: got a data sample ['label', 'pred']; expected dicts with 'pred' and 'gt', "
        "(pred, target) pairs, or one (preds, target) pair of batch tensors. Fix: return one of these from the "
        "model's predict mode."
    )


EXPECTED = ("a registered metric ({registered}) or a torchmetrics class path such as "
            "'torchmetrics.classification.MulticlassAccuracy'")


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (dict(type="torchmetrics.classification.MulticlasAccuracy", num_classes=3),
         f"val_evaluator.type: got 'torchmetrics.classification.MulticlasAccuracy'; expected {EXPECTED}. "
         "Fix: did you mean 'torchmetrics.classification.MulticlassAccuracy'?"),
        (dict(type="MulticlassAccuracy", num_classes=3),
         f"val_evaluator.type: got 'MulticlassAccuracy'; expected {EXPECTED}. "
         "Fix: did you mean 'torchmetrics.classification.MulticlassAccuracy'?"),
        (dict(type="mmdet.CocoMetric"),
         f"val_evaluator.type: got 'mmdet.CocoMetric'; expected {EXPECTED}. Fix: 'CocoMetric' is a metric of the "
         "OpenMMLab package 'mmdet'; pip install mmdet, then set default_scope='mmdet' or "
         "custom_imports=dict(imports=['mmdet.evaluation'])."),
        (dict(type="Accuracy", topk=(1, 5)),
         f"val_evaluator.type: got 'Accuracy'; expected {EXPECTED}. Fix: 'Accuracy' is a metric of the OpenMMLab "
         "package 'mmpretrain'; pip install mmpretrain, then set default_scope='mmpretrain' or "
         "custom_imports=dict(imports=['mmpretrain.evaluation'])."),
        (dict(type="torchmetrics.MeanSquaredError", squared=True, bogus=1),
         "val_evaluator.type: got 'MeanSquaredError'; expected arguments that MeanSquaredError accepts. "
         "Fix: check the other keys: Unexpected keyword arguments: `bogus`"),
    ],
    ids=["typo_in_path", "bare_torchmetrics_name", "mmdet_scope", "mmpretrain_name", "bad_argument"],
)
def test_unknown_metric_types_name_the_fix(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_evaluator(cfg, path="val_evaluator")
    assert str(err.value) == message.replace("{registered}", _registered())
