"""Named, process-wide instances looked up by name (MMEngine's ``ManagerMixin`` contract).

The message hub, the logger and the visualizer are shared between hooks that
never see each other; MMEngine code reaches them with
``MessageHub.get_instance(name)`` or ``get_current_instance()``. Each class
that mixes this in keeps its own table of instances, in creation order.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from typing import Any, ClassVar, TypeVar

__all__ = ["ManagerMixin"]

_lock = threading.RLock()
T = TypeVar("T", bound="ManagerMixin")


class ManagerMixin:
    """Gives a class ``get_instance(name, **kwargs)`` and ``get_current_instance()``.

    Args:
        name: Instance name; must be a non-empty string.
    """

    _instance_dict: ClassVar[OrderedDict[str, Any]] = OrderedDict()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._instance_dict = OrderedDict()  # one table per class, as in MMEngine

    def __init__(self, name: str = "", **kwargs: Any) -> None:
        if not isinstance(name, str) or not name:
            cls = type(self).__name__
            raise ValueError(f"{cls}.name: got {name!r}; expected a non-empty string. Fix: pass name='...'.")
        self._instance_name = name

    @classmethod
    def get_instance(cls: type[T], name: str, **kwargs: Any) -> T:
        """The instance called ``name``, created with ``kwargs`` on first use.

        Keyword arguments for an existing instance are ignored with a warning,
        as in MMEngine.
        """
        with _lock:
            table = cls._instance_dict
            if name not in table:
                table[name] = cls(name=name, **kwargs)
            elif kwargs:
                warnings.warn(
                    f"{cls.__name__}.get_instance({name!r}): the instance exists already, so the keyword "
                    f"arguments {sorted(kwargs)} are ignored.",
                    stacklevel=2,
                )
            return table[name]  # type: ignore[no-any-return]

    @classmethod
    def get_current_instance(cls: type[T]) -> T:
        """The most recently created instance.

        Raises:
            RuntimeError: if none has been created yet.
        """
        with _lock:
            if not cls._instance_dict:
                raise RuntimeError(
                    f"{cls.__name__}.get_current_instance(): no instance exists yet. "
                    f"Fix: call {cls.__name__}.get_instance(name) first."
                )
            return next(reversed(cls._instance_dict.values()))  # type: ignore[no-any-return]

    @classmethod
    def check_instance_created(cls, name: str) -> bool:
        """Whether an instance called ``name`` exists."""
        return name in cls._instance_dict

    @property
    def instance_name(self) -> str:
        return self._instance_name
