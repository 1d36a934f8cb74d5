"""``MessageHub``: the shared blackboard through which hooks, the model and the log processor talk.

Scalars (lr, loss, time) accumulate in :class:`HistoryBuffer` objects so they
can be smoothed; runtime information (epoch, eta, best score) is overwritten.
Both survive a resume through :meth:`MessageHub.state_dict`, whose layout is
MMEngine's, so the ``message_hub`` entry of a checkpoint moves between
MMEngine and mmhooks.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Union, cast

import numpy as np

from mmhooks.errors import AssertedTypeError, AssertedValueError
from mmhooks.logging.history_buffer import HistoryBuffer
from mmhooks.logging.logger import print_log
from mmhooks.logging.manager import ManagerMixin

__all__ = ["MessageHub"]


def _is_history_buffer(value: Any) -> bool:
    """True for mmhooks' buffer and for anything shaped like MMEngine's (``data`` and ``max_length``)."""
    return isinstance(value, HistoryBuffer) or (hasattr(value, "data") and hasattr(value, "max_length"))


class MessageHub(ManagerMixin):
    """Named store of logged scalars and runtime information (``MessageHub.get_instance(name)``).

    Args:
        name: Instance name; the runner's hub is named after the experiment.
        log_scalars: Initial ``{key: HistoryBuffer}``.
        runtime_info: Initial ``{key: value}``.
        resumed_keys: ``{key: bool}``: whether each key is saved by :meth:`state_dict`.

    State:
        ``log_scalars`` (HistoryBuffers), ``runtime_info`` and ``resumed_keys`` of every
        key recorded with ``resumed=True`` (the default).

    MMEngine parity:
        MMEngine checks values with ``assert``; mmhooks raises ``TypeError`` and
        ``ValueError`` naming the key; both are also ``AssertionError`` (MMEngine's class).

    Example:
        >>> hub = MessageHub("doc-example")
        >>> hub.update_scalar("train/loss", 2.0); hub.update_scalar("train/loss", 4.0)
        >>> float(hub.get_scalar("train/loss").mean())
        3.0
    """

    def __init__(
        self,
        name: str,
        log_scalars: Mapping[str, Any] | None = None,
        runtime_info: Mapping[str, Any] | None = None,
        resumed_keys: Mapping[str, bool] | None = None,
    ) -> None:
        super().__init__(name)
        self._log_scalars: OrderedDict[str, HistoryBuffer] = self._as_ordered("log_scalars", log_scalars)
        self._runtime_info: OrderedDict[str, Any] = self._as_ordered("runtime_info", runtime_info)
        self._resumed_keys: OrderedDict[str, bool] = self._as_ordered("resumed_keys", resumed_keys)
        for key, value in self._log_scalars.items():
            if not _is_history_buffer(value):
                raise AssertedTypeError(
                    f"MessageHub.log_scalars[{key!r}]: got {type(value).__name__}; expected a HistoryBuffer. "
                    "Fix: wrap the values in HistoryBuffer(...)."
                )
            self._log_scalars[key] = HistoryBuffer.from_buffer(value)
        for key in self._resumed_keys:
            if key not in self._log_scalars and key not in self._runtime_info:
                raise AssertedValueError(
                    f"MessageHub.resumed_keys: got {key!r}; expected a key of log_scalars or runtime_info. "
                    "Fix: remove it or add its value."
                )

    @classmethod
    def get_current_instance(cls) -> MessageHub:
        """The latest hub; one named ``"mmengine"`` is created when none exists (as in MMEngine)."""
        if not cls._instance_dict:
            cls.get_instance("mmengine")
        return super().get_current_instance()

    @staticmethod
    def _as_ordered(name: str, value: Mapping[str, Any] | None) -> OrderedDict[str, Any]:
        if value is None:
            return OrderedDict()
        if isinstance(value, Mapping):
            return OrderedDict(value)
        raise AssertedTypeError(f"MessageHub.{name}: got {type(value).__name__}; expected a dict or None. Fix: pass a dict.")

    # ------------------------------------------------------------------ scalars
    def update_scalar(
        self, key: str, value: Union[int, float, np.ndarray, np.number, Any], count: int = 1, resumed: bool = True
    ) -> None:
        """Append ``value`` (a number or a one-element array/tensor) to the history of ``key``."""
        previous = self._resumed_keys.get(key)
        if previous is None or previous != resumed:  # checked inline: this runs several times per iteration
            self._set_resumed(key, resumed)
        value_type = type(value)
        number: float = (
            cast(float, value) if value_type is float or value_type is int else self._as_number(key, value)
        )
        if not isinstance(count, int):
            raise AssertedTypeError(f"MessageHub.update_scalar({key!r}).count: got {count!r}; expected an int. Fix: pass an int.")
        buffer = self._log_scalars.get(key)
        if buffer is None:
            self._log_scalars[key] = HistoryBuffer([number], [count])
        else:
            buffer.update(number, count)

    def update_scalars(self, log_dict: Mapping[str, Any], resumed: bool = True) -> None:
        """:meth:`update_scalar` for each item; a value may be ``{'value': v, 'count': n}``."""
        if not isinstance(log_dict, Mapping):
            raise AssertedTypeError(
                f"MessageHub.update_scalars.log_dict: got {type(log_dict).__name__}; expected a dict. Fix: pass a dict."
            )
        for key, value in log_dict.items():
            if isinstance(value, Mapping):
                if "value" not in value:
                    raise AssertedValueError(
                        f"MessageHub.update_scalars[{key!r}]: got {dict(value)!r}; expected a 'value' key. "
                        "Fix: pass dict(value=..., count=...)."
                    )
                count = self._as_number(key, value.get("count", 1))
                self.update_scalar(key, value["value"], count, resumed)
            else:
                self.update_scalar(key, value, 1, resumed)

    @staticmethod
    def _as_number(key: str, value: Any) -> Any:
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, (np.ndarray, np.number)):
            if value.size != 1:
                raise AssertedValueError(
                    f"MessageHub.update_scalar({key!r}): got an array of shape {value.shape}; expected one element. "
                    "Fix: log a scalar (reduce it first)."
                )
            return value.item()
        numel = getattr(value, "numel", None)
        if numel is None or numel() != 1:
            raise AssertedTypeError(
                f"MessageHub.update_scalar({key!r}): got {type(value).__name__}; expected an int, float, numpy number "
                "or one-element array/tensor. Fix: log a scalar."
            )
        return value.item()

    @property
    def log_scalars(self) -> OrderedDict[str, HistoryBuffer]:
        """The live ``{key: HistoryBuffer}`` table, in first-insertion order."""
        return self._log_scalars

    def get_scalar(self, key: str) -> HistoryBuffer:
        """The history of ``key`` (the live buffer, not a copy).

        Raises:
            KeyError: if ``key`` was never recorded.
        """
        buffer = self._log_scalars.get(key)
        if buffer is None:
            raise KeyError(
                f"MessageHub({self.instance_name!r}).get_scalar: got {key!r}; expected one of "
                f"{sorted(self._log_scalars)}. Fix: record it with update_scalar first."
            )
        return buffer

    # ------------------------------------------------------------- runtime info
    def update_info(self, key: str, value: Any, resumed: bool = True) -> None:
        """Set runtime information ``key`` (overwrites)."""
        self._set_resumed(key, resumed)
        self._runtime_info[key] = value

    def update_info_dict(self, info_dict: Mapping[str, Any], resumed: bool = True) -> None:
        """:meth:`update_info` for each item."""
        if not isinstance(info_dict, Mapping):
            raise AssertedTypeError(
                f"MessageHub.update_info_dict.info_dict: got {type(info_dict).__name__}; expected a dict. "
                "Fix: pass a dict."
            )
        for key, value in info_dict.items():
            self.update_info(key, value, resumed=resumed)

    def pop_info(self, key: str, default: Any = None) -> Any:
        """Remove ``key`` from the runtime information and return its value (``default`` if absent)."""
        return self._runtime_info.pop(key, default)

    def get_info(self, key: str, default: Any = None) -> Any:
        """The runtime information ``key`` (the live object), or ``default``."""
        return self._runtime_info.get(key, default)

    @property
    def runtime_info(self) -> OrderedDict[str, Any]:
        """The live ``{key: value}`` runtime information."""
        return self._runtime_info

    def _set_resumed(self, key: str, resumed: bool) -> None:
        previous = self._resumed_keys.get(key)
        if previous is None:
            self._resumed_keys[key] = resumed
        elif previous != resumed:
            raise AssertedValueError(
                f"MessageHub.resumed({key!r}): got {resumed!r}; expected {previous!r}, as first recorded. "
                "Fix: pass the same resumed flag for a key every time."
            )

    # -------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Copies of the resumable scalars and infos, plus ``resumed_keys`` (MMEngine's layout)."""
        scalars: OrderedDict[str, HistoryBuffer] = OrderedDict()
        infos: OrderedDict[str, Any] = OrderedDict()
        for key, buffer in self._log_scalars.items():
            if self._resumed_keys.get(key, False):
                scalars[key] = copy.deepcopy(buffer)
        for key, value in self._runtime_info.items():
            if self._resumed_keys.get(key, False):
                infos[key] = _copy_or_share(key, value)
        return {"log_scalars": scalars, "runtime_info": infos, "resumed_keys": self._resumed_keys}

    def load_state_dict(self, state_dict: Union[MessageHub, Mapping[str, Any]]) -> None:
        """Merge a :meth:`state_dict` (mmhooks' or MMEngine's) or a whole hub into this one."""
        if not isinstance(state_dict, Mapping):  # a pickled hub, as very old checkpoints hold
            self._log_scalars = OrderedDict(
                (key, HistoryBuffer.from_buffer(copy.deepcopy(value)))
                for key, value in state_dict._log_scalars.items()
            )
            self._runtime_info = copy.deepcopy(state_dict._runtime_info)
            self._resumed_keys = copy.deepcopy(state_dict._resumed_keys)
            return
        missing = [key for key in ("log_scalars", "runtime_info", "resumed_keys") if key not in state_dict]
        if missing:
            raise KeyError(
                f"MessageHub.load_state_dict: got keys {sorted(state_dict)}; expected log_scalars, runtime_info "
                f"and resumed_keys (missing {missing}). Fix: pass the dict that MessageHub.state_dict() returned."
            )
        for key, value in state_dict["log_scalars"].items():
            if not _is_history_buffer(value):
                print_log(f"{key} in message_hub is not a HistoryBuffer; it is not resumed.", "current", logging.WARNING)
                continue
            self._log_scalars[key] = HistoryBuffer.from_buffer(value)
        for key, value in state_dict["runtime_info"].items():
            self._runtime_info[key] = _copy_or_share(key, value)
        known = set(self._log_scalars) | set(self._runtime_info)
        for key, resumed in state_dict["resumed_keys"].items():
            if key not in known:
                print_log(
                    f"resumed key {key!r} has no value in the message hub; it is skipped.", "current", logging.WARNING
                )
                continue
            self._resumed_keys[key] = resumed


def _copy_or_share(key: str, value: Any) -> Any:
    try:
        return copy.deepcopy(value)
    except Exception:  # e.g. objects holding locks: MMEngine shares the reference too
        print_log(f"{key} in message_hub cannot be copied; its reference is kept.", "current", logging.WARNING)
        return value
