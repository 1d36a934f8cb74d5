"""``BaseDataElement``: named data fields plus meta information, moved between devices together.

Downstream data samples (a detector's ``DetDataSample``) subclass it and
declare their fields as properties that call :meth:`BaseDataElement.set_field`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np
import torch

__all__ = ["BaseDataElement"]

T = TypeVar("T", bound="BaseDataElement")
_FIELD_SETS = ("_metainfo_fields", "_data_fields")


class BaseDataElement:
    """A container of data fields (tensors, arrays, other elements...) and meta information (image size...).

    Fields are attributes: ``sample.gt_label = t`` adds a data field,
    ``set_metainfo(dict(img_shape=...))`` adds meta fields. A name is either
    data or meta, never both. :meth:`to`, :meth:`cpu`, :meth:`numpy`... return a
    new element with the data converted and the meta information kept.

    Args:
        metainfo: Meta fields (deep-copied).
        **kwargs: Data fields.

    Example:
        >>> sample = BaseDataElement(metainfo=dict(img_shape=(4, 4)), score=torch.tensor([0.5]))
        >>> sample.keys(), sample.metainfo_keys(), 'score' in sample
        (['score'], ['img_shape'], True)
        >>> sample.numpy().score
        array([0.5], dtype=float32)
    """

    def __init__(self, *, metainfo: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._metainfo_fields: set[str] = set()
        self._data_fields: set[str] = set()
        if metainfo is not None:
            self.set_metainfo(metainfo=metainfo)
        if kwargs:
            self.set_data(kwargs)

    # ---------------------------------------------------------------- setting
    def set_metainfo(self, metainfo: dict[str, Any]) -> None:
        """Add or replace meta fields (deep copies of the values).

        Raises:
            AssertionError: ``metainfo`` is not a dict (MMEngine's class).
            AttributeError: a key is a data field already.
        """
        if not isinstance(metainfo, dict):
            raise AssertionError(f"metainfo should be a ``dict`` but got {type(metainfo)}")
        for name, value in copy.deepcopy(metainfo).items():
            self.set_field(name=name, value=value, field_type="metainfo", dtype=None)

    def set_data(self, data: dict[str, Any]) -> None:
        """Add or replace data fields (through ``setattr``, so subclasses' property setters run)."""
        if not isinstance(data, dict):
            raise AssertionError(f"data should be a `dict` but got {data}")
        for name, value in data.items():
            setattr(self, name, value)

    def update(self, instance: BaseDataElement) -> None:
        """Take ``instance``'s meta and data fields (overwriting those of the same name)."""
        if not isinstance(instance, BaseDataElement):
            raise AssertionError(f"instance should be a `BaseDataElement` but got {type(instance)}")
        self.set_metainfo(dict(instance.metainfo_items()))
        self.set_data(dict(instance.items()))

    def set_field(self, value: Any, name: str, dtype: type | tuple[type, ...] | None = None,
                  field_type: str = "data") -> None:
        """Store ``value`` as a data or meta field called ``name`` (checked against ``dtype`` when given).

        Raises:
            AssertionError: ``field_type`` is neither ``'data'`` nor ``'metainfo'``, or ``value`` is not a ``dtype``.
            AttributeError: ``name`` is a field of the other kind already.
        """
        if field_type not in ("metainfo", "data"):
            raise AssertionError(f"field_type should be 'metainfo' or 'data', got {field_type!r}")
        if dtype is not None and not isinstance(value, dtype):
            raise AssertionError(f"{value} should be a {dtype} but got {type(value)}")
        mine, other = (self._metainfo_fields, self._data_fields) if field_type == "metainfo" else \
            (self._data_fields, self._metainfo_fields)
        if name in other:
            other_kind = "data" if field_type == "metainfo" else "metainfo"
            raise AttributeError(f"Cannot set {name} to be a field of {field_type} because {name} is already a "
                                 f"{other_kind} field")
        mine.add(name)
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FIELD_SETS:
            if hasattr(self, name):
                raise AttributeError(f"{name} has been used as a private attribute, which is immutable.")
            object.__setattr__(self, name, value)
        else:
            self.set_field(name=name, value=value, field_type="data", dtype=None)

    def __delattr__(self, item: str) -> None:
        if item in _FIELD_SETS:
            raise AttributeError(f"{item} has been used as a private attribute, which is immutable.")
        object.__delattr__(self, item)
        self._metainfo_fields.discard(item)
        self._data_fields.discard(item)

    __delitem__ = __delattr__

    def pop(self, *args: Any) -> Any:
        """Remove a field and return its value; ``pop(name, default)`` returns ``default`` when it is absent.

        Raises:
            KeyError: no such field and no default.
        """
        if len(args) not in (1, 2):
            raise AssertionError("``pop`` takes a name and an optional default")
        name = args[0]
        for fields in (self._metainfo_fields, self._data_fields):
            if name in fields:
                fields.remove(name)
                return self.__dict__.pop(*args)
        if len(args) == 2:
            return args[1]
        raise KeyError(f"{name} is not contained in metainfo or data")

    def get(self, key: str, default: Any = None) -> Any:
        """The field (or attribute) ``key``, ``default`` when absent."""
        return getattr(self, key, default)

    def __contains__(self, item: str) -> bool:
        return item in self._data_fields or item in self._metainfo_fields

    # ---------------------------------------------------------------- reading
    def keys(self) -> list[str]:
        """Data field names (the private ``_x`` behind a ``x`` property is reported as ``x``'s storage, not listed)."""
        behind_properties = {"_" + name for name in self._data_fields
                             if isinstance(getattr(type(self), name, None), property)}
        return list(self._data_fields - behind_properties)

    def metainfo_keys(self) -> list[str]:
        return list(self._metainfo_fields)

    def values(self) -> list[Any]:
        return [getattr(self, name) for name in self.keys()]

    def metainfo_values(self) -> list[Any]:
        return [getattr(self, name) for name in self.metainfo_keys()]

    def all_keys(self) -> list[str]:
        return self.metainfo_keys() + self.keys()

    def all_values(self) -> list[Any]:
        return self.metainfo_values() + self.values()

    def items(self) -> Iterator[tuple[str, Any]]:
        for name in self.keys():
            yield name, getattr(self, name)

    def metainfo_items(self) -> Iterator[tuple[str, Any]]:
        for name in self.metainfo_keys():
            yield name, getattr(self, name)

    def all_items(self) -> Iterator[tuple[str, Any]]:
        for name in self.all_keys():
            yield name, getattr(self, name)

    @property
    def metainfo(self) -> dict[str, Any]:
        """The meta fields as a dict."""
        return dict(self.metainfo_items())

    # ---------------------------------------------------------------- copying
    def new(self: T, *, metainfo: dict[str, Any] | None = None, **kwargs: Any) -> T:
        """An element of the same class with ``metainfo`` (else this one's) and ``kwargs`` (else this one's data)."""
        fresh = self.__class__()
        fresh.set_metainfo(dict(self.metainfo_items()) if metainfo is None else metainfo)
        fresh.set_data(kwargs if kwargs else dict(self.items()))
        return fresh

    def clone(self: T) -> T:
        """A shallow copy: new containers, the same field values (meta information deep-copied)."""
        copied = self.__class__()
        copied.set_metainfo(dict(self.metainfo_items()))
        copied.set_data(dict(self.items()))
        return copied

    def _converted(self: T, convert: Any, applies: Any) -> T:
        """A new element whose data fields for which ``applies(value)`` are ``convert(value)``."""
        result = self.new()
        for name, value in self.items():
            if applies(value):
                result.set_data({name: convert(value)})
        return result

    def to(self: T, *args: Any, **kwargs: Any) -> T:
        """Apply ``.to(*args, **kwargs)`` to every data field that has it."""
        return self._converted(lambda v: v.to(*args, **kwargs), lambda v: hasattr(v, "to"))

    def _tensors(self: T, method: str) -> T:
        return self._converted(lambda v: getattr(v, method)(), _is_tensor_or_element)

    def cpu(self: T) -> T:
        return self._tensors("cpu")

    def cuda(self: T) -> T:
        return self._tensors("cuda")

    def npu(self: T) -> T:
        return self._tensors("npu")

    def mlu(self: T) -> T:
        return self._tensors("mlu")

    def musa(self: T) -> T:
        return self._tensors("musa")

    def detach(self: T) -> T:
        return self._tensors("detach")

    def numpy(self: T) -> T:
        """Tensors as numpy arrays (detached, on the CPU); nested elements converted too."""
        return self._converted(lambda v: v.numpy() if isinstance(v, BaseDataElement) else v.detach().cpu().numpy(),
                               _is_tensor_or_element)

    def to_tensor(self: T) -> T:
        """Numpy arrays as tensors; nested elements converted too."""
        return self._converted(lambda v: v.to_tensor() if isinstance(v, BaseDataElement) else torch.from_numpy(v),
                               lambda v: isinstance(v, (np.ndarray, BaseDataElement)))

    def to_dict(self) -> dict[str, Any]:
        """Meta and data fields as one dict (nested elements as dicts)."""
        return {name: value.to_dict() if isinstance(value, BaseDataElement) else value
                for name, value in self.all_items()}

    def __repr__(self) -> str:
        return _represent(self)


def _is_tensor_or_element(value: Any) -> bool:
    return isinstance(value, (torch.Tensor, BaseDataElement))


def _indent(text: str, spaces: int) -> str:
    first, *rest = text.split("\n")
    return "\n".join([first, *(" " * spaces + line for line in rest)])


def _represent(obj: Any) -> str:
    """MMEngine's layout: ``META INFORMATION`` then ``DATA FIELDS``, one ``name: value`` line each."""
    if isinstance(obj, dict):
        return "".join(f"\n{key}: {_indent(_represent(value), 4)}" for key, value in obj.items())
    if isinstance(obj, BaseDataElement):
        body = "\n\n    META INFORMATION" + _indent(_represent(dict(obj.metainfo_items())), 4)
        body += "\n\n    DATA FIELDS" + _indent(_represent(dict(obj.items())), 4)
        return f"<{type(obj).__name__}({body}\n) at {hex(id(obj))}>"
    return repr(obj)
