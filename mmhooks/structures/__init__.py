"""Data samples passed between datasets, models and metrics (``mmengine.structures``' classes).

``BaseDataElement`` keeps data fields apart from meta information;
``InstanceData`` holds per-instance fields of one length, ``PixelData`` per-pixel
maps of one height and width, ``LabelData`` labels with one-hot helpers.
"""

from __future__ import annotations

from mmhooks._lazy import lazy_exports

_MODULES = {
    "BaseDataElement": "mmhooks.structures.base_data_element",
    "InstanceData": "mmhooks.structures.instance_data",
    "LabelData": "mmhooks.structures.label_data",
    "PixelData": "mmhooks.structures.pixel_data",
}

__all__ = sorted(_MODULES)
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
