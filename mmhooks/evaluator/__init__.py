"""Evaluation as MMEngine configures it: ``BaseMetric``, ``Evaluator`` and the torchmetrics bridge."""

from __future__ import annotations

from mmhooks._lazy import import_modules, lazy_exports

_MODULES = {
    "BaseMetric": "mmhooks.evaluator.metric",
    "DumpResults": "mmhooks.evaluator.metric",
    "Evaluator": "mmhooks.evaluator.evaluator",
    "TorchMetricsBridge": "mmhooks.evaluator.torchmetrics_bridge",
    "build_evaluator": "mmhooks.evaluator.evaluator",
    "build_metric": "mmhooks.evaluator.evaluator",
    "collect_results": "mmhooks.evaluator.metric",
    "get_metric_value": "mmhooks.evaluator.utils",
}

__all__ = sorted(["import_all", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import the built-in metrics and the evaluator so that they are registered."""
    import_modules(sorted(set(_MODULES.values())))
