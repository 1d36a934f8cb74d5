"""Registries that configs name classes through (MMEngine's names).

Built-in classes register themselves where they are defined; importing a
registry does not import the classes. :func:`import_builtins` imports the
modules that hold mmhooks' own registered classes, so that names resolve
before a build.
"""

from __future__ import annotations

import importlib

from mmhooks.registry.registry import DefaultScope, Registry, build_from_cfg, import_dotted

__all__ = [
    "DATASETS",
    "DATA_SAMPLERS",
    "EVALUATOR",
    "FUNCTIONS",
    "HOOKS",
    "LOG_PROCESSORS",
    "LOOPS",
    "METRICS",
    "MODELS",
    "MODEL_WRAPPERS",
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "PARAM_SCHEDULERS",
    "TRANSFORMS",
    "VISBACKENDS",
    "VISUALIZERS",
    "WEIGHT_INITIALIZERS",
    "DefaultScope",
    "Registry",
    "build_from_cfg",
    "import_builtins",
    "import_dotted",
]

HOOKS = Registry("hook")
PARAM_SCHEDULERS = Registry("parameter scheduler")
PARAM_SCHEDULERS.mmengine_name = "PARAM_SCHEDULERS"
MODELS = Registry("model")
MODEL_WRAPPERS = Registry("model_wrapper")
DATASETS = Registry("dataset")
DATA_SAMPLERS = Registry("data sampler")
DATA_SAMPLERS.mmengine_name = "DATA_SAMPLERS"
TRANSFORMS = Registry("transform")
METRICS = Registry("metric")
EVALUATOR = Registry("evaluator")
EVALUATOR.mmengine_name = "EVALUATOR"
OPTIMIZERS = Registry("optimizer")
OPTIM_WRAPPERS = Registry("optim_wrapper")
OPTIM_WRAPPER_CONSTRUCTORS = Registry("optimizer wrapper constructor")
OPTIM_WRAPPER_CONSTRUCTORS.mmengine_name = "OPTIM_WRAPPER_CONSTRUCTORS"
VISBACKENDS = Registry("vis_backend")
VISBACKENDS.mmengine_name = "VISBACKENDS"
VISUALIZERS = Registry("visualizer")
LOG_PROCESSORS = Registry("log_processor")
LOOPS = Registry("loop")
FUNCTIONS = Registry("function")
WEIGHT_INITIALIZERS = Registry("weight_initializer")  # init_cfg types (Kaiming, Normal...); MMEngine's name

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
