"""Visualization: the ``Visualizer`` and its backends (local files, TensorBoard)."""

from __future__ import annotations

from mmhooks._lazy import import_modules, lazy_exports

_MODULES = {
    "BaseVisBackend": "mmhooks.visualization.vis_backend",
    "LocalVisBackend": "mmhooks.visualization.vis_backend",
    "TensorboardVisBackend": "mmhooks.visualization.vis_backend",
    "Visualizer": "mmhooks.visualization.visualizer",
}

__all__ = sorted(["import_all", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import the modules whose classes register themselves (``VISUALIZERS``, ``VISBACKENDS``)."""
    import_modules(sorted(set(_MODULES.values())))
