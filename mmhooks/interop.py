"""MMEngine interop: what mmhooks hands to downstream code passes MMEngine's type checks.

OpenMMLab projects test MMEngine's types (``isinstance(runner.train_loop,
EpochBasedTrainLoop)`` in mmpretrain's PreciseBNHook, ``isinstance(config,
Config)`` in MMEngine's vis backends, ``isinstance(optimizer, OptimWrapper)``
in MMEngine's schedulers) and reach global instances through MMEngine's
classes (``Visualizer.get_current_instance()``, ``MessageHub.get_current_instance()``,
``print_log(logger='current')``).

The mechanism, used only while MMEngine is in use (``mmengine`` already
imported, as every OpenMMLab package imports it; mmhooks itself never imports
MMEngine at module import time, and without MMEngine nothing changes):

* :func:`compatible_class` gives, for an mmhooks class, a subclass of both it
  and its MMEngine counterpart (mmhooks' methods first in the MRO), created
  once and cached; :func:`adopt` moves a built object to that class. The
  object keeps mmhooks' behaviour and passes both ``isinstance`` checks.
  Pickling or copying such an object gives back the plain mmhooks class.
* :func:`publish` makes the run's message hub, logger and visualizer MMEngine's
  current instances.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["adopt", "compatible_class", "mmengine_in_use", "publish"]

# mmhooks class (module, name) -> MMEngine's counterpart (module, name)
_COUNTERPARTS: dict[tuple[str, str], tuple[str, str]] = {
    ("mmhooks.runner.loops", "EpochBasedTrainLoop"): ("mmengine.runner.loops", "EpochBasedTrainLoop"),
    ("mmhooks.runner.loops", "IterBasedTrainLoop"): ("mmengine.runner.loops", "IterBasedTrainLoop"),
    ("mmhooks.runner.loops", "ValLoop"): ("mmengine.runner.loops", "ValLoop"),
    ("mmhooks.runner.loops", "TestLoop"): ("mmengine.runner.loops", "TestLoop"),
    ("mmhooks.optim.optimizer.optimizer_wrapper", "OptimWrapper"): ("mmengine.optim", "OptimWrapper"),
    ("mmhooks.optim.optimizer.amp_optimizer_wrapper", "AmpOptimWrapper"): ("mmengine.optim", "AmpOptimWrapper"),
    ("mmhooks.optim.optimizer.optimizer_wrapper_dict", "OptimWrapperDict"): ("mmengine.optim", "OptimWrapperDict"),
    ("mmhooks.config.config", "Config"): ("mmengine.config", "Config"),
    ("mmhooks.config.config_dict", "ConfigDict"): ("mmengine.config", "ConfigDict"),
    ("mmhooks.visualization.visualizer", "Visualizer"): ("mmengine.visualization", "Visualizer"),
    ("mmhooks.logging.message_hub", "MessageHub"): ("mmengine.logging", "MessageHub"),
    ("mmhooks.evaluator.evaluator", "Evaluator"): ("mmengine.evaluator", "Evaluator"),
}

_cache: dict[type, type] = {}


def mmengine_in_use() -> bool:
    """True once ``mmengine`` is imported in this process (by a downstream package, a config or the user)."""
    return "mmengine" in sys.modules


def _counterpart(cls: type) -> type | None:
    for base in cls.__mro__:
        target = _COUNTERPARTS.get((base.__module__, base.__name__))
        if target is None:
            continue
        try:
            module = importlib.import_module(target[0])
        except ImportError:  # an MMEngine without that part (or one that fails to import): no interop
            return None
        found = getattr(module, target[1], None)
        return found if isinstance(found, type) else None
    return None


def _plain_reduce(plain: type) -> Any:
    def __reduce_ex__(self: Any, protocol: Any) -> Any:  # noqa: N807 (the pickle protocol's name)
        reduced = plain.__reduce_ex__(self, protocol)  # type: ignore[call-arg]  # the unbound method
        if isinstance(reduced, tuple) and len(reduced) > 1 and isinstance(reduced[1], tuple) and reduced[1] \
                and reduced[1][0] is type(self):
            reduced = (reduced[0], (plain, *reduced[1][1:]), *reduced[2:])
        return reduced

    return __reduce_ex__


def compatible_class(cls: type) -> type:
    """``cls`` made a subclass of its MMEngine counterpart too (``cls`` itself when MMEngine is not in use)."""
    if not mmengine_in_use():
        return cls
    if cls in _cache:
        return _cache[cls]
    mm_cls = _counterpart(cls)
    if mm_cls is None or issubclass(cls, mm_cls):
        _cache[cls] = cls
        return cls
    metaclass: type = type(cls)
    mm_meta = type(mm_cls)
    if not issubclass(metaclass, mm_meta):
        metaclass = mm_meta if issubclass(mm_meta, metaclass) else type(f"{mm_meta.__name__}", (metaclass, mm_meta),
                                                                         {})
    namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__,
                 "__reduce_ex__": _plain_reduce(cls), "mmhooks_plain_class": cls}
    combined: type = metaclass(cls.__name__, (cls, mm_cls), namespace)
    abstract = getattr(combined, "__abstractmethods__", None)
    if abstract:  # MMEngine's abstract methods are implemented by mmhooks' class under other rules
        combined.__abstractmethods__ = frozenset()  # type: ignore[attr-defined]
    _cache[cls] = combined
    return combined


def adopt(obj: Any) -> Any:
    """Move ``obj`` to its MMEngine-compatible class (in place) and return it."""
    if obj is None:
        return obj
    target = compatible_class(type(obj))
    if target is not type(obj):
        object.__setattr__(obj, "__class__", target)  # classes such as Config route attribute writes elsewhere
    return obj


def publish(message_hub: Any = None, logger: Any = None, visualizer: Any = None) -> None:
    """Make the run's instances MMEngine's current ones (``get_current_instance()`` returns them)."""
    if not mmengine_in_use():
        return
    pairs = (("mmengine.logging", "MessageHub", message_hub), ("mmengine.logging", "MMLogger", logger),
             ("mmengine.visualization", "Visualizer", visualizer))
    for module_name, class_name, instance in pairs:
        if instance is None:
            continue
        try:
            mm_cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        table = mm_cls._instance_dict
        name = getattr(instance, "instance_name", None) or getattr(instance, "_instance_name", None) or str(id(instance))
        table.pop(name, None)
        table[name] = instance  # the latest entry is the current instance
