"""``Evaluator``: run several metrics over the same predictions and merge their results.

Also builds metrics from configs (``build_metric``) and evaluators from a
runner's ``val_evaluator``/``test_evaluator`` value (``build_evaluator``); a
metric ``type`` may name a registered ``BaseMetric`` or a torchmetrics class.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any, cast

from mmhooks.errors import AssertedValueError, ConfigError, closest, join_path
from mmhooks.evaluator.metric import BaseMetric
from mmhooks.registry import EVALUATOR, METRICS

__all__ = ["Evaluator", "build_evaluator", "build_metric"]

# Metric names that OpenMMLab packages register, for the hint in unknown-type errors.
_OPENMMLAB_METRICS: dict[str, tuple[str, ...]] = {
    "AUC": ("mmpose",), "AccMetric": ("mmaction",), "Accuracy": ("mmpretrain",),
    "AveragePrecision": ("mmpretrain",), "CharMetric": ("mmocr",), "CityScapesMetric": ("mmdet",),
    "CityscapesMetric": ("mmseg",), "CocoMetric": ("mmdet", "mmpose"), "CocoPanopticMetric": ("mmdet",),
    "ConfusionMatrix": ("mmaction", "mmpretrain"), "DOTAMetric": ("mmrotate",), "DepthMetric": ("mmseg",),
    "EPE": ("mmpose",), "F1Metric": ("mmocr",), "HmeanIOUMetric": ("mmocr",), "IoUMetric": ("mmseg",),
    "KittiMetric": ("mmdet3d",), "LVISMetric": ("mmdet",), "MultiLabelMetric": ("mmpretrain",),
    "NME": ("mmpose",), "NuScenesMetric": ("mmdet3d",), "OneMinusNEDMetric": ("mmocr",),
    "OpenImagesMetric": ("mmdet",), "PCKAccuracy": ("mmpose",), "PSNR": ("mmagic",), "SSIM": ("mmagic",),
    "SingleLabelMetric": ("mmpretrain",), "VOCMetric": ("mmdet",), "WordMetric": ("mmocr",),
}
_OPENMMLAB_PIP_NAMES = {"mmaction": "mmaction2"}
_OPENMMLAB_SCOPES = ("mmaction", "mmagic", "mmcls", "mmdet", "mmdet3d", "mmedit", "mmengine", "mmflow",
                     "mmocr", "mmpose", "mmpretrain", "mmrazor", "mmrotate", "mmseg", "mmselfsup", "mmtrack",
                     "mmyolo")


_TORCHMETRICS_PACKAGES = ("", ".aggregation", ".audio", ".classification", ".clustering", ".detection", ".image",
                          ".nominal", ".regression", ".retrieval", ".segmentation", ".text", ".wrappers")


def _torchmetrics_paths() -> dict[str, str]:
    """Class name -> shortest dotted path of each torchmetrics metric (imported only to explain an error)."""
    from mmhooks.evaluator.torchmetrics_bridge import is_torchmetrics_class

    paths: dict[str, str] = {}
    for suffix in _TORCHMETRICS_PACKAGES:
        try:
            package = importlib.import_module("torchmetrics" + suffix)
        except ImportError:  # optional extras (detection needs pycocotools...)
            continue
        for name in dir(package):
            if is_torchmetrics_class(getattr(package, name, None)):
                paths.setdefault(name, f"torchmetrics{suffix}.{name}")
    return paths


def _unknown_metric(type_: object, where: str) -> ConfigError:
    """The error for a metric ``type`` that names nothing, with the likeliest fix."""
    text = str(type_)
    scope, _, short = text.rpartition(".")
    scope = scope.split(".")[0]
    registered = METRICS.keys()
    expected = (f"a registered metric ({', '.join(registered)}) or a torchmetrics class path "
                "such as 'torchmetrics.classification.MulticlassAccuracy'")
    packages = (scope,) if scope in _OPENMMLAB_SCOPES else _OPENMMLAB_METRICS.get(short, ())
    if packages and scope != "torchmetrics":
        installs = " or ".join(f"pip install {_OPENMMLAB_PIP_NAMES.get(p, p)}" for p in packages)
        fix = (f"{short!r} is a metric of the OpenMMLab package {' or '.join(repr(p) for p in packages)}; "
               f"{installs}, then set default_scope='{packages[0]}' or "
               f"custom_imports=dict(imports=['{packages[0]}.evaluation'])")
        return ConfigError("type", type_, expected, fix + ".", where)
    torchmetrics_paths = _torchmetrics_paths()
    near_registered = closest(text, registered)
    near_torchmetrics = short if short in torchmetrics_paths else closest(short, torchmetrics_paths)
    if near_torchmetrics and (near_torchmetrics == short or not near_registered):
        fix = f"did you mean {torchmetrics_paths[near_torchmetrics]!r}?"
    elif near_registered:
        fix = f"did you mean {near_registered!r}?"
    else:
        fix = "register it with @METRICS.register_module() or import it with custom_imports."
    return ConfigError("type", type_, expected, fix, where)


def build_metric(cfg: Any, path: str = "") -> BaseMetric:
    """A ``BaseMetric`` from a config dict, a ``BaseMetric`` or a torchmetrics metric.

    Args:
        cfg: ``dict(type=..., **kwargs)``; ``type`` is a ``METRICS`` name, a class,
            or a dotted path (torchmetrics classes become a ``TorchMetricsBridge``).
        path: Key path of ``cfg`` for error messages (``"val_evaluator"``, ``"val_evaluator[1]"``).

    Raises:
        ConfigError: ``type`` is missing or unknown, or the arguments do not fit the class.
    """
    if isinstance(cfg, BaseMetric):
        return cfg
    mm_metric = sys.modules.get("mmengine.evaluator.metric")  # an MMEngine metric works through the same protocol
    if mm_metric is not None and isinstance(cfg, mm_metric.BaseMetric):
        return cast(BaseMetric, cfg)  # duck-typed: same protocol as ours
    torchmetrics = sys.modules.get("torchmetrics")  # a torchmetrics instance implies torchmetrics is imported
    if torchmetrics is not None and isinstance(cfg, (torchmetrics.Metric, torchmetrics.MetricCollection)):
        from mmhooks.evaluator.torchmetrics_bridge import TorchMetricsBridge

        return TorchMetricsBridge(cfg)
    if not isinstance(cfg, Mapping):
        raise ConfigError("", cfg, "a metric config dict, a BaseMetric or a torchmetrics Metric",
                          "write dict(type='MetricName', ...).", path)
    if "type" not in cfg:
        raise ConfigError("type", None, "a registered metric name or a torchmetrics class path",
                          "add type='MetricName'.", path)
    type_ = cfg["type"]
    cls = METRICS.get(type_) if isinstance(type_, str) else type_
    if cls is None:
        raise _unknown_metric(type_, path)
    from mmhooks.evaluator.torchmetrics_bridge import TorchMetricsBridge, is_torchmetrics_class

    if is_torchmetrics_class(cls):
        kwargs = dict(cfg)
        bridge_args = {key: kwargs.pop(key) for key in ("collect_device", "prefix", "collect_dir") if key in kwargs}
        try:
            return TorchMetricsBridge(dict(kwargs, type=cls), **bridge_args)
        except ConfigError as err:
            raise err.under(path) from None
    return METRICS.build(dict(cfg, type=cls), path=path)  # type: ignore[no-any-return]


@EVALUATOR.register_module()
class Evaluator:
    """Several metrics evaluated together; their result dicts are merged.

    Args:
        metrics: One metric (config dict, ``BaseMetric`` or torchmetrics metric) or a sequence of them.

    Raises:
        ConfigError: A metric config is invalid (located as ``type`` or ``[i].type``).

    Example:
        >>> from torchmetrics.classification import BinaryAccuracy
        >>> evaluator = Evaluator([BinaryAccuracy()])
        >>> evaluator.process([(1, 1), (0, 1)])
        >>> evaluator.evaluate(size=2)
        {'binaryaccuracy/binary_accuracy': 0.5}
    """

    def __init__(self, metrics: Any) -> None:
        self._dataset_meta: dict[str, Any] | None = None
        if isinstance(metrics, Sequence) and not isinstance(metrics, str):
            self.metrics = [build_metric(metric, f"[{index}]") for index, metric in enumerate(metrics)]
        else:
            self.metrics = [build_metric(metrics)]

    @property
    def dataset_meta(self) -> dict[str, Any] | None:
        """Dataset meta information; setting it sets it on every metric."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict[str, Any] | None) -> None:
        self._dataset_meta = dataset_meta
        for metric in self.metrics:
            metric.dataset_meta = dataset_meta

    def process(self, data_samples: Sequence[Any], data_batch: Any = None) -> None:
        """Feed one batch of predictions to every metric (data elements become dicts first).

        Note the argument order: ``BaseMetric.process`` takes ``(data_batch, data_samples)``.
        """
        samples = [sample.to_dict() if callable(getattr(sample, "to_dict", None)) else sample
                   for sample in data_samples]
        for metric in self.metrics:
            metric.process(data_batch, samples)

    def evaluate(self, size: int) -> dict[str, Any]:
        """Every metric's results in one dict.

        Raises:
            ValueError: Two metrics report the same name (give them different prefixes).
        """
        merged: dict[str, Any] = {}
        for metric in self.metrics:
            results = metric.evaluate(size)
            for name in results:
                if name in merged:
                    # MMEngine's message, word for word: users match on it.
                    raise ValueError(
                        f"There are multiple evaluation results with the same metric name {name}. "
                        "Please make sure all metrics have different prefixes."
                    )
            merged.update(results)
        return merged

    def offline_evaluate(self, data_samples: Sequence[Any], data: Sequence[Any] | None = None,
                         chunk_size: int = 1) -> dict[str, Any]:
        """Evaluate saved predictions (and optionally their inputs) in chunks of ``chunk_size``."""
        from mmhooks.dataset.collate import pseudo_collate

        if data is not None and len(data) != len(data_samples):
            raise AssertedValueError(f"Evaluator.offline_evaluate: got {len(data_samples)} data samples and "
                                     f"{len(data)} data items; expected equal lengths. Fix: pass the data the "
                                     "predictions came from.")
        for start in range(0, len(data_samples), chunk_size):
            chunk_data = None if data is None else pseudo_collate(list(data[start : start + chunk_size]))
            self.process(list(data_samples[start : start + chunk_size]), chunk_data)
        return self.evaluate(len(data_samples))


def build_evaluator(cfg: Any, path: str = "val_evaluator") -> Evaluator:
    """The evaluator that a runner's ``val_evaluator``/``test_evaluator`` value describes.

    Accepts an ``Evaluator``, a metric (dict or object), a list of metrics, or
    ``dict(type='Evaluator', metrics=...)`` (any dict with ``metrics``).

    Raises:
        ConfigError: A metric or the evaluator type is invalid, located under ``path``.
    """
    if isinstance(cfg, Evaluator):
        return cfg
    if isinstance(cfg, Mapping) and "metrics" in cfg:
        kwargs = dict(cfg)
        kwargs.setdefault("type", "Evaluator")
        cls = EVALUATOR.resolve_type(kwargs["type"], path)
        metrics = kwargs["metrics"]
        metrics_path = join_path(path, "metrics")
        if isinstance(metrics, Sequence) and not isinstance(metrics, str):
            kwargs["metrics"] = [build_metric(m, join_path(metrics_path, f"[{i}]")) for i, m in enumerate(metrics)]
        else:
            kwargs["metrics"] = build_metric(metrics, metrics_path)
        return EVALUATOR.build(dict(kwargs, type=cls), path=path)  # type: ignore[no-any-return]
    try:
        return Evaluator(cfg)
    except ConfigError as err:
        raise err.under(path) from None
