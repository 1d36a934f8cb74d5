"""General helpers with ``mmengine.utils``' names (type checks, paths, versions, packages).

Only the helpers OpenMMLab code and tests commonly import are provided; each
is imported on first use.
"""

from __future__ import annotations

from mmhooks._lazy import lazy_exports

_MISC = "mmhooks.utils.misc"
_PATH = "mmhooks.utils.path"
_CAST = "mmhooks.utils.casting"
_DECORATORS = "mmhooks.utils.decorators"
_TIMER = "mmhooks.utils.timer"
_MODULES = {
    "ManagerMixin": "mmhooks.logging.manager",
    "Timer": _TIMER,
    "TimerError": _TIMER,
    "apply_to": _CAST,
    "check_prerequisites": _DECORATORS,
    "check_time": _TIMER,
    "concat_list": _CAST,
    "deprecated_api_warning": _DECORATORS,
    "iter_cast": _CAST,
    "list_cast": _CAST,
    "requires_executable": _DECORATORS,
    "requires_package": _DECORATORS,
    "slice_list": _CAST,
    "tuple_cast": _CAST,
    "check_file_exist": _PATH,
    "digit_version": "mmhooks.utils.version_utils",
    "get_object_from_string": _MISC,
    "has_method": _MISC,
    "import_modules_from_strings": _MISC,
    "is_abs": _PATH,
    "is_filepath": _PATH,
    "is_installed": "mmhooks.utils.package_utils",
    "is_list_of": _MISC,
    "is_method_overridden": _MISC,
    "is_seq_of": _MISC,
    "is_str": _MISC,
    "is_tuple_of": _MISC,
    "mkdir_or_exist": _PATH,
    "scandir": _PATH,
    "symlink": _PATH,
    "to_1tuple": _MISC,
    "to_2tuple": _MISC,
    "to_3tuple": _MISC,
    "to_4tuple": _MISC,
    "to_ntuple": _MISC,
}

__all__ = sorted(_MODULES)
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
