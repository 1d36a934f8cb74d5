"""mmhooks: MMEngine hooks, schedulers and configs on the PyTorch Lightning Trainer.

The core (this package) never imports Lightning; the Lightning backend lives in
:mod:`mmhooks.adapters.lightning`. The top-level names MMEngine exports
(``from mmengine import Config, MODELS, print_log``...) are here too, each
imported on first use, so ``import mmhooks`` stays free of torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_CONFIG = "mmhooks.config"
_FILEIO = "mmhooks.fileio"
_LOGGING = "mmhooks.logging"
_REGISTRY = "mmhooks.registry"
_UTILS = "mmhooks.utils"
_EXPORTS = {
    **dict.fromkeys(["Config", "ConfigDict", "DictAction", "read_base"], _CONFIG),
    **dict.fromkeys(["BaseStorageBackend", "FileClient", "HTTPBackend", "HardDiskBackend", "LmdbBackend",
                     "LocalBackend", "MemcachedBackend", "PetrelBackend", "copy_if_symlink_fails", "copyfile",
                     "copyfile_from_local", "copyfile_to_local", "copytree", "copytree_from_local",
                     "copytree_to_local", "dict_from_file", "dump", "exists", "get", "get_file_backend",
                     "get_local_path", "get_text", "isdir", "isfile", "join_path", "list_dir_or_file",
                     "list_from_file", "load", "put", "put_text", "register_backend", "remove", "rmtree"], _FILEIO),
    **dict.fromkeys(["HistoryBuffer", "MMLogger", "MessageHub", "print_log"], _LOGGING),
    **dict.fromkeys(["DATASETS", "DATA_SAMPLERS", "EVALUATOR", "FUNCTIONS", "HOOKS", "INFERENCERS", "LOG_PROCESSORS",
                     "LOOPS", "METRICS", "MODELS", "MODEL_WRAPPERS", "OPTIMIZERS", "OPTIM_WRAPPERS",
                     "OPTIM_WRAPPER_CONSTRUCTORS", "PARAM_SCHEDULERS", "RUNNERS", "RUNNER_CONSTRUCTORS", "STRATEGIES",
                     "TASK_UTILS", "TRANSFORMS", "VISBACKENDS", "VISUALIZERS", "WEIGHT_INITIALIZERS", "DefaultScope",
                     "Registry", "build_from_cfg", "build_model_from_cfg", "build_runner_from_cfg",
                     "build_scheduler_from_cfg", "count_registered_modules", "init_default_scope",
                     "traverse_registry_tree"], _REGISTRY),
    **dict.fromkeys(["ManagerMixin", "Timer", "TimerError", "apply_to", "check_prerequisites", "check_time",
                     "concat_list", "deprecated_api_warning", "iter_cast", "list_cast", "requires_executable",
                     "requires_package", "slice_list", "tuple_cast", "check_file_exist", "digit_version", "get_object_from_string", "has_method",
                     "import_modules_from_strings", "is_abs", "is_filepath", "is_installed", "is_list_of",
                     "is_method_overridden", "is_seq_of", "is_str", "is_tuple_of", "mkdir_or_exist", "scandir",
                     "symlink", "to_1tuple", "to_2tuple", "to_3tuple", "to_4tuple", "to_ntuple"], _UTILS),
}
# Sub-packages reachable as attributes (``mmhooks.hooks.CheckpointHook`` after a bare ``import mmhooks``).
_SUBMODULES = frozenset({"config", "dataset", "device", "dist", "evaluator", "fileio", "hooks", "logging", "model",
                         "optim", "registry", "runner", "structures", "testing", "utils", "visualization"})

__all__ = sorted(["__version__", *_EXPORTS])


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)
