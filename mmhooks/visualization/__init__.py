"""Visualization: the ``Visualizer`` (drawing, fan-out) and its backends (files, TensorBoard, trackers)."""

from __future__ import annotations

from mmhooks._lazy import import_modules, lazy_exports

_MODULES = {
    "AimVisBackend": "mmhooks.visualization.tracker_backends",
    "BaseVisBackend": "mmhooks.visualization.vis_backend",
    "CSVVisBackend": "mmhooks.visualization.tracker_backends",
    "ClearMLVisBackend": "mmhooks.visualization.tracker_backends",
    "CometVisBackend": "mmhooks.visualization.tracker_backends",
    "DVCLiveVisBackend": "mmhooks.visualization.tracker_backends",
    "LocalVisBackend": "mmhooks.visualization.vis_backend",
    "MLflowVisBackend": "mmhooks.visualization.tracker_backends",
    "NeptuneVisBackend": "mmhooks.visualization.tracker_backends",
    "TensorboardVisBackend": "mmhooks.visualization.vis_backend",
    "TrackerVisBackend": "mmhooks.visualization.tracker_backends",
    "Visualizer": "mmhooks.visualization.visualizer",
    "WandbVisBackend": "mmhooks.visualization.tracker_backends",
}

__all__ = sorted(["import_all", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import the modules whose classes register themselves (``VISUALIZERS``, ``VISBACKENDS``)."""
    import_modules(sorted(set(_MODULES.values())))
