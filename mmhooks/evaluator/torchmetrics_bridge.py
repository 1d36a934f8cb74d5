"""Run a torchmetrics ``Metric`` where MMEngine expects a ``BaseMetric``.

``val_evaluator=dict(type='torchmetrics.classification.MulticlassAccuracy',
num_classes=10)`` then reports ``multiclassaccuracy/multiclass_accuracy``.
torchmetrics keeps its own state and synchronises it across ranks in
``compute()``, so nothing goes through ``BaseMetric``'s result gathering.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torchmetrics import Metric, MetricCollection

from mmhooks.errors import ConfigError
from mmhooks.evaluator.metric import BaseMetric
from mmhooks.registry import METRICS

__all__ = ["TorchMetricsBridge", "is_torchmetrics_class", "snake_case"]

log = logging.getLogger(__name__)


def snake_case(name: str) -> str:
    """``"MulticlassF1Score"`` -> ``"multiclass_f1_score"``; runs of capitals stay one word (``"AUROC"``)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def is_torchmetrics_class(obj: object) -> bool:
    """Whether ``obj`` is a torchmetrics ``Metric`` or ``MetricCollection`` class."""
    return isinstance(obj, type) and issubclass(obj, (Metric, MetricCollection))


def _as_python(value: Any) -> Any:
    """A computed value as logged: one-element tensors become floats, others lists."""
    if isinstance(value, torch.Tensor):
        return float(value.item()) if value.numel() == 1 else value.detach().cpu().tolist()
    if isinstance(value, (list, tuple)):
        return [_as_python(item) for item in value]
    return value


def _stack(values: list[Any]) -> torch.Tensor:
    return torch.stack([torch.as_tensor(value) for value in values])


@METRICS.register_module()
class TorchMetricsBridge(BaseMetric):
    """A torchmetrics metric behind MMEngine's ``BaseMetric`` interface.

    ``process`` accepts the ``data_samples`` a model's ``val_step`` returns, in one of three forms:
    dicts with ``"pred"`` and ``"gt"`` per sample, ``(pred, target)`` pairs per sample, or a
    single ``(preds, target)`` pair of batch tensors. Per-sample values are stacked into a batch.

    Args:
        metric: A torchmetrics ``Metric``/``MetricCollection``, or
            ``dict(type=<class or dotted path>, **constructor_kwargs)``.
        collect_device: See :class:`BaseMetric`.
        prefix: Metric names are ``prefix/name``; defaults to the class name in lower case.
        collect_dir: See :class:`BaseMetric`.

    MMEngine parity:
        torchmetrics synchronises its state across ranks itself, so ``size``
        in :meth:`evaluate` is not used: samples that ``DefaultSampler(round_up=True)``
        repeats to even out the ranks are counted, as in plain Lightning.

    Example:
        >>> from torchmetrics.classification import MulticlassAccuracy
        >>> bridge = TorchMetricsBridge(MulticlassAccuracy(num_classes=3, average="micro"))
        >>> bridge.process(None, [{"pred": 0, "gt": 0}, {"pred": 2, "gt": 1}])
        >>> bridge.evaluate(size=2)
        {'multiclassaccuracy/multiclass_accuracy': 0.5}
    """

    def __init__(self, metric: Any, collect_device: str = "cpu", prefix: str | None = None,
                 collect_dir: str | None = None) -> None:
        built = self._build(metric)
        super().__init__(collect_device=collect_device, prefix=prefix or type(built).__name__.lower(),
                         collect_dir=collect_dir)
        self.metric = built
        self.name = snake_case(type(built).__name__)
        self.samples_seen = 0
        self._device: torch.device | None = None

    @staticmethod
    def _build(metric: Any) -> Metric | MetricCollection:
        if isinstance(metric, (Metric, MetricCollection)):
            return metric
        if not isinstance(metric, Mapping):
            raise ConfigError("metric", metric, "a torchmetrics Metric or dict(type='torchmetrics....', ...)",
                              "pass e.g. dict(type='torchmetrics.classification.MulticlassAccuracy', num_classes=10).",
                              "TorchMetricsBridge")
        kwargs = dict(metric)
        type_ = kwargs.pop("type", None)
        cls = METRICS.get(type_) if isinstance(type_, str) else type_
        if not is_torchmetrics_class(cls):
            raise ConfigError("type", type_, "a torchmetrics Metric class or its dotted path",
                              "use e.g. type='torchmetrics.classification.MulticlassAccuracy'.", "metric")
        try:
            return cast("Metric | MetricCollection", cls(**kwargs))  # is_torchmetrics_class checked it
        except (TypeError, ValueError) as err:
            raise ConfigError("type", cls.__name__, f"arguments that {cls.__name__} accepts",
                              f"check the other keys: {err}", "") from err

    def _preds_and_target(self, data_samples: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        if (isinstance(data_samples, (list, tuple)) and len(data_samples) == 2
                and all(isinstance(item, torch.Tensor) for item in data_samples)):
            return data_samples[0], data_samples[1]
        preds, targets = [], []
        for sample in data_samples:
            if isinstance(sample, Mapping) and "pred" in sample and "gt" in sample:
                preds.append(sample["pred"])
                targets.append(sample["gt"])
            elif isinstance(sample, (list, tuple)) and len(sample) == 2:
                preds.append(sample[0])
                targets.append(sample[1])
            else:
                described = sorted(sample) if isinstance(sample, Mapping) else type(sample).__name__
                raise ValueError(
                    f"{type(self).__name__}.process: got a data sample {described!r}; expected dicts with 'pred' "
                    "and 'gt', (pred, target) pairs, or one (preds, target) pair of batch tensors. Fix: return "
                    "one of these from the model's predict mode."
                )
        if not preds:
            raise ValueError(f"{type(self).__name__}.process: got no data samples; expected at least one. "
                             "Fix: return predictions from the model's predict mode.")
        return _stack(preds), _stack(targets)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Update the torchmetrics state with this batch (on the device of the predictions)."""
        preds, target = self._preds_and_target(data_samples)
        if preds.device != self._device:  # states follow the predictions (and the backend's device for syncing)
            self.metric.to(preds.device)
            self._device = preds.device
        self.metric.update(preds, target.to(preds.device))
        self.samples_seen += len(preds)

    def compute_metrics(self, results: list[Any]) -> dict[str, Any]:
        """Name the value of ``compute()`` (``results[0]``): a dict keeps its keys, anything else is ``name``."""
        value = results[0]
        if isinstance(value, Mapping):
            return {str(key): _as_python(item) for key, item in value.items()}
        return {self.name: _as_python(value)}

    def evaluate(self, size: int) -> dict[str, Any]:
        """Compute (synchronised across ranks by torchmetrics), reset, and return ``{prefix/name: value}``."""
        if self.samples_seen == 0:
            log.warning("%s(%s).evaluate: no samples were processed; the value is torchmetrics' default.",
                        type(self).__name__, type(self.metric).__name__)
        metrics = self.compute_metrics([self.metric.compute()])
        self.metric.reset()
        self.samples_seen = 0
        return {f"{self.prefix}/{key}": value for key, value in metrics.items()} if self.prefix else metrics
