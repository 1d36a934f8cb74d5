"""MMEngine-style models: ``BaseModule``/``BaseModel`` (``init_cfg``), preprocessors, EMA/SWA models, TTA."""

from __future__ import annotations

from mmhooks._lazy import import_modules, lazy_exports

_MODULES = {
    "BaseAveragedModel": "mmhooks.model.averaged_model",
    "BaseDataPreprocessor": "mmhooks.model.data_preprocessor",
    "BaseInit": "mmhooks.model.weight_init",
    "BaseModel": "mmhooks.model.base_model",
    "BaseModule": "mmhooks.model.base_module",
    "BaseTTAModel": "mmhooks.model.test_time_aug",
    "Caffe2XavierInit": "mmhooks.model.weight_init",
    "ConstantInit": "mmhooks.model.weight_init",
    "ExponentialMovingAverage": "mmhooks.model.averaged_model",
    "ImgDataPreprocessor": "mmhooks.model.data_preprocessor",
    "KaimingInit": "mmhooks.model.weight_init",
    "MMDistributedDataParallel": "mmhooks.model.distributed_wrappers",
    "MMFullyShardedDataParallel": "mmhooks.model.fsdp_wrapper",
    "MMSeparateDistributedDataParallel": "mmhooks.model.distributed_wrappers",
    "ModuleDict": "mmhooks.model.base_module",
    "ModuleList": "mmhooks.model.base_module",
    "MomentumAnnealingEMA": "mmhooks.model.averaged_model",
    "NormalInit": "mmhooks.model.weight_init",
    "PretrainedInit": "mmhooks.model.weight_init",
    "Sequential": "mmhooks.model.base_module",
    "StochasticWeightAverage": "mmhooks.model.averaged_model",
    "TruncNormalInit": "mmhooks.model.weight_init",
    "UniformInit": "mmhooks.model.weight_init",
    "XavierInit": "mmhooks.model.weight_init",
    "bias_init_with_prob": "mmhooks.model.weight_init",
    "caffe2_xavier_init": "mmhooks.model.weight_init",
    "constant_init": "mmhooks.model.weight_init",
    "convert_sync_batchnorm": "mmhooks.model.utils",
    "detect_anomalous_params": "mmhooks.model.utils",
    "initialize": "mmhooks.model.weight_init",
    "is_model_wrapper": "mmhooks.model.wrappers",
    "kaiming_init": "mmhooks.model.weight_init",
    "merge_dict": "mmhooks.model.utils",
    "normal_init": "mmhooks.model.weight_init",
    "revert_sync_batchnorm": "mmhooks.model.utils",
    "stack_batch": "mmhooks.model.data_preprocessor",
    "trunc_normal_": "mmhooks.model.weight_init",
    "trunc_normal_init": "mmhooks.model.weight_init",
    "uniform_init": "mmhooks.model.weight_init",
    "update_init_info": "mmhooks.model.weight_init",
    "xavier_init": "mmhooks.model.weight_init",
}

__all__ = sorted(["import_all", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import every built-in model class and initialiser so that each is registered (``MODELS``, ``WEIGHT_INITIALIZERS``)."""
    import_modules(sorted(set(_MODULES.values())))
