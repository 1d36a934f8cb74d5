"""Type checks and small conversions (``mmengine.utils.misc``'s public helpers)."""

from __future__ import annotations

import collections.abc
import importlib
import itertools
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["get_object_from_string", "has_method", "import_modules_from_strings", "is_list_of",
           "is_method_overridden", "is_seq_of", "is_str", "is_tuple_of", "to_1tuple", "to_2tuple", "to_3tuple",
           "to_4tuple", "to_ntuple"]


def is_str(x: Any) -> bool:
    """Whether ``x`` is a ``str``."""
    return isinstance(x, str)


def is_seq_of(seq: Any, expected_type: type | tuple[type, ...], seq_type: type | None = None) -> bool:
    """Whether ``seq`` is a sequence (of ``seq_type`` when given) whose items are all ``expected_type``.

    Example:
        >>> is_seq_of([1, 2], int), is_seq_of((1, 'a'), int), is_seq_of([1], int, tuple)
        (True, False, False)
    """
    container = collections.abc.Sequence if seq_type is None else seq_type
    if not isinstance(container, type):
        raise TypeError(f"seq_type: got {seq_type!r}; expected a type such as list or tuple.")
    if not isinstance(seq, container):
        return False
    return all(isinstance(item, expected_type) for item in seq)  # type: ignore[attr-defined]


def is_list_of(seq: Any, expected_type: type | tuple[type, ...]) -> bool:
    """Whether ``seq`` is a ``list`` of ``expected_type``."""
    return is_seq_of(seq, expected_type, seq_type=list)


def is_tuple_of(seq: Any, expected_type: type | tuple[type, ...]) -> bool:
    """Whether ``seq`` is a ``tuple`` of ``expected_type``."""
    return is_seq_of(seq, expected_type, seq_type=tuple)


def to_ntuple(n: int) -> Callable[[Any], Any]:
    """A function that repeats a non-iterable ``n`` times and returns an iterable (a str too) unchanged.

    Example:
        >>> to_ntuple(3)(7), to_ntuple(3)([1, 2])
        ((7, 7, 7), [1, 2])
    """

    def parse(x: Any) -> Any:
        if isinstance(x, collections.abc.Iterable):
            return x
        return tuple(itertools.repeat(x, n))

    return parse


to_1tuple = to_ntuple(1)
to_2tuple = to_ntuple(2)
to_3tuple = to_ntuple(3)
to_4tuple = to_ntuple(4)


def is_method_overridden(method: str, base_class: type, derived_class: type | object) -> bool:
    """Whether ``derived_class`` (a class or an instance) overrides ``base_class.method``."""
    if not isinstance(base_class, type):
        raise TypeError(f"base_class: got {base_class!r}; expected a class.")
    cls = derived_class if isinstance(derived_class, type) else type(derived_class)
    return getattr(cls, method) is not getattr(base_class, method)


def has_method(obj: object, method: str) -> bool:
    """Whether ``obj`` has a callable attribute ``method``."""
    return callable(getattr(obj, method, None))


def import_modules_from_strings(imports: str | Sequence[str] | None,
                                allow_failed_imports: bool = False) -> Any:
    """Import each module name in ``imports``; a failed import gives ``None`` (with a warning) when allowed.

    Returns a module for a single name, a list for a list, ``None`` for nothing.
    """
    import warnings

    if not imports:
        return None
    single = isinstance(imports, str)
    names = [imports] if isinstance(imports, str) else list(imports)
    modules: list[Any] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"imports: got {name!r} in the list; expected module names (str).")
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            if not allow_failed_imports:
                raise
            warnings.warn(f"{name} failed to import and is ignored.", UserWarning, stacklevel=2)
            modules.append(None)
    return modules[0] if single else modules


def get_object_from_string(obj_name: str) -> Any:
    """The object a dotted path names (``'torch.nn.Linear'``, ``'os.path.join'``), or ``None``."""
    parts = iter(obj_name.split("."))
    module_name = next(parts)
    obj: Any = None
    try:
        obj = importlib.import_module(module_name)
    except ImportError:
        return None
    for part in parts:
        child = getattr(obj, part, None)
        if child is None:
            module_name = f"{module_name}.{part}"
            try:
                child = importlib.import_module(module_name)
            except ImportError:
                return None
        else:
            module_name = f"{module_name}.{part}"
        obj = child
    return obj
