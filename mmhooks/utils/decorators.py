"""Decorators of ``mmengine.utils``: renamed-argument warnings and prerequisite checks."""

from __future__ import annotations

import functools
import importlib
import inspect
import shutil
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

__all__ = ["check_prerequisites", "deprecated_api_warning", "requires_executable", "requires_package"]

F = TypeVar("F", bound=Callable[..., Any])


def deprecated_api_warning(name_dict: dict[str, str], cls_name: str | None = None) -> Callable[[F], F]:
    """Accept old argument names (``{old: new}``) with a ``DeprecationWarning``, passing them on under the new name.

    Raises:
        AssertionError: a call gives both the old and the new keyword.
    """

    def decorator(old_func: F) -> F:
        func_name = f"{cls_name}.{old_func.__name__}" if cls_name else old_func.__name__
        positional = inspect.getfullargspec(old_func).args

        @functools.wraps(old_func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in name_dict.items():
                if old in positional[:len(args)] or old in kwargs:
                    warnings.warn(f'"{old}" is deprecated in `{func_name}`, please use "{new}" instead',
                                  DeprecationWarning, stacklevel=2)
                if old in kwargs:
                    if new in kwargs:
                        raise AssertionError(f"`{func_name}` got both the deprecated `{old}` and `{new}`; pass "
                                             f"only `{new}`.")
                    kwargs[new] = kwargs.pop(old)
            return old_func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def check_prerequisites(prerequisites: str | Iterable[str], checker: Callable[[str], bool],
                        msg_tmpl: str = 'Prerequisites "{}" are required in method "{}" but not found, please '
                                        'install them first.') -> Callable[[F], F]:
    """Make the decorated function raise ``RuntimeError`` (after printing what is missing) unless all are present."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wanted = [prerequisites] if isinstance(prerequisites, str) else list(prerequisites)
            missing = [item for item in wanted if not checker(item)]
            if missing:
                print(msg_tmpl.format(", ".join(missing), func.__name__))  # noqa: T201 (MMEngine prints it)
                raise RuntimeError("Prerequisites not meet.")
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def _importable(package: str) -> bool:
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True


def requires_package(prerequisites: str | Iterable[str]) -> Callable[[F], F]:
    """``check_prerequisites`` for Python packages (importable by name)."""
    return check_prerequisites(prerequisites, checker=_importable)


def requires_executable(prerequisites: str | Iterable[str]) -> Callable[[F], F]:
    """``check_prerequisites`` for executables on ``PATH``."""
    return check_prerequisites(prerequisites, checker=lambda cmd: shutil.which(cmd) is not None)
