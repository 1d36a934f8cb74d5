"""Registries that configs name classes through (MMEngine's names and build functions).

Built-in classes register themselves where they are defined; importing a
registry does not import the classes. :func:`import_builtins` imports the
modules that hold mmhooks' own registered classes; a lookup that misses does
so by itself.

Each root registry here stands in for MMEngine's root registry of the same
name: where MMEngine is installed, downstream scopes (``mmdet``,
``mmpretrain``...) registered below MMEngine's roots are searched as children
of these (see :mod:`mmhooks.registry.lookup`).
"""

from __future__ import annotations

import importlib

from mmhooks.registry.build_functions import (
    build_from_cfg,
    build_model_from_cfg,
    build_runner_from_cfg,
    build_scheduler_from_cfg,
)
from mmhooks.registry.default_scope import DefaultScope, init_default_scope, set_default_scope
from mmhooks.registry.errors import RegistryKeyError, RegistryTypeError
from mmhooks.registry.registry import Registry, import_dotted
from mmhooks.registry.utils import count_registered_modules, traverse_registry_tree

__all__ = [
    "DATASETS",
    "DATA_SAMPLERS",
    "EVALUATOR",
    "FUNCTIONS",
    "HOOKS",
    "INFERENCERS",
    "LOG_PROCESSORS",
    "LOOPS",
    "METRICS",
    "MODELS",
    "MODEL_WRAPPERS",
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "PARAM_SCHEDULERS",
    "RUNNERS",
    "RUNNER_CONSTRUCTORS",
    "STRATEGIES",
    "TASK_UTILS",
    "TRANSFORMS",
    "VISBACKENDS",
    "VISUALIZERS",
    "WEIGHT_INITIALIZERS",
    "DefaultScope",
    "Registry",
    "RegistryKeyError",
    "RegistryTypeError",
    "build_from_cfg",
    "build_model_from_cfg",
    "build_runner_from_cfg",
    "build_scheduler_from_cfg",
    "count_registered_modules",
    "import_builtins",
    "import_dotted",
    "init_default_scope",
    "set_default_scope",
    "traverse_registry_tree",
]

RUNNERS = Registry("runner", build_func=build_runner_from_cfg)
RUNNER_CONSTRUCTORS = Registry("runner constructor")
STRATEGIES = Registry("strategy")
TASK_UTILS = Registry("task util")
INFERENCERS = Registry("inferencer")

HOOKS = Registry("hook")
PARAM_SCHEDULERS = Registry("parameter scheduler", build_func=build_scheduler_from_cfg)
MODELS = Registry("model", build_func=build_model_from_cfg)
MODEL_WRAPPERS = Registry("model_wrapper")
DATASETS = Registry("dataset")
DATA_SAMPLERS = Registry("data sampler")
TRANSFORMS = Registry("transform")
METRICS = Registry("metric")
EVALUATOR = Registry("evaluator")
OPTIMIZERS = Registry("optimizer")
OPTIM_WRAPPERS = Registry("optim_wrapper")
OPTIM_WRAPPER_CONSTRUCTORS = Registry("optimizer wrapper constructor")
VISBACKENDS = Registry("vis_backend")
VISUALIZERS = Registry("visualizer")
LOG_PROCESSORS = Registry("log_processor")
LOOPS = Registry("loop")
FUNCTIONS = Registry("function")
WEIGHT_INITIALIZERS = Registry("weight initializer")  # init_cfg types (Kaiming, Normal...); MMEngine's name

# Packages whose classes register themselves in the registries above. Each
# exposes ``import_all()``; packages without one are imported whole.
_BUILTIN_PACKAGES = (
    "mmhooks.hooks",
    "mmhooks.optim",
    "mmhooks.optim.scheduler",
    "mmhooks.model",
    "mmhooks.evaluator",
    "mmhooks.logging",
    "mmhooks.visualization",
    "mmhooks.dataset",
    "mmhooks.legacy",
)
_imported = False


def import_builtins() -> None:
    """Import mmhooks' own registered classes (idempotent; free after the first call)."""
    global _imported
    if _imported:
        return
    for name in _BUILTIN_PACKAGES:
        try:
            package = importlib.import_module(name)
        except ModuleNotFoundError as err:  # a package not written yet must not hide the others
            if err.name != name:
                raise
            continue
        import_all = getattr(package, "import_all", None)
        if import_all is not None:
            import_all()
    _imported = True
