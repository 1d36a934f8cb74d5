"""MMEngine-style models: ``BaseModel``, data preprocessors and averaged (EMA/SWA) models."""

from __future__ import annotations

from mmhooks._lazy import import_modules, lazy_exports

_MODULES = {
    "BaseAveragedModel": "mmhooks.model.averaged_model",
    "BaseDataPreprocessor": "mmhooks.model.data_preprocessor",
    "BaseModel": "mmhooks.model.base_model",
    "ExponentialMovingAverage": "mmhooks.model.averaged_model",
    "ImgDataPreprocessor": "mmhooks.model.data_preprocessor",
    "MomentumAnnealingEMA": "mmhooks.model.averaged_model",
    "StochasticWeightAverage": "mmhooks.model.averaged_model",
    "is_model_wrapper": "mmhooks.model.wrappers",
}

__all__ = sorted(["import_all", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import every built-in model class so that each is registered in ``MODELS``."""
    import_modules(sorted(set(_MODULES.values())))
