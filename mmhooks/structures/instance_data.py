"""``InstanceData``: per-instance fields (boxes, labels, scores...) that all have one length, indexed together."""

from __future__ import annotations

import itertools
from collections.abc import Sized
from typing import Any, TypeVar

import numpy as np
import torch

from mmhooks.structures.base_data_element import BaseDataElement

__all__ = ["InstanceData"]

T = TypeVar("T", bound="InstanceData")
IndexType = (str, slice, int, list, torch.Tensor, np.ndarray)  # what ``instances[...]`` accepts (MMEngine's)


def _is_bool(index: torch.Tensor) -> bool:
    return index.dtype == torch.bool


class InstanceData(BaseDataElement):
    """Data fields of equal length: tensors, arrays, lists, strings, or objects with ``__getitem__`` and ``cat``.

    Indexing with an int, slice, list, index array or boolean mask selects
    the same instances from every field (an int keeps a length-1 field);
    indexing with a str reads the field. :meth:`cat` concatenates elements.

    Example:
        >>> instances = InstanceData(metainfo=dict(img_shape=(8, 8)))
        >>> instances.scores = torch.tensor([0.9, 0.2, 0.7])
        >>> instances.labels = [3, 1, 2]
        >>> kept = instances[instances.scores > 0.5]
        >>> len(kept), kept.labels, kept.img_shape
        (2, [3, 2], (8, 8))
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("_metainfo_fields", "_data_fields"):
            super().__setattr__(name, value)
            return
        if not isinstance(value, Sized):
            raise AssertionError("value must contain `__len__` attribute")
        if len(self) > 0 and len(value) != len(self):
            raise AssertionError(f"The length of values {len(value)} is not consistent with the length of this "
                                 f":obj:`InstanceData` {len(self)}")
        super().__setattr__(name, value)

    __setitem__ = __setattr__

    def __getitem__(self: T, item: Any) -> Any:
        if not isinstance(item, IndexType):
            raise AssertionError(f"InstanceData cannot be indexed with {type(item).__name__}")
        if isinstance(item, str):
            return getattr(self, item)
        if isinstance(item, list):
            item = np.array(item)
        if isinstance(item, np.ndarray):
            item = torch.from_numpy(item.astype(np.int64) if item.dtype == np.int32 else item)
        if isinstance(item, int):
            if not -len(self) <= item < len(self):
                raise IndexError(f"Index {item} out of range!")
            item = slice(item, None, len(self))  # one instance, still a field of length 1
        selected = self.__class__(metainfo=self.metainfo)
        if isinstance(item, torch.Tensor):
            self._select(selected, item)
        else:
            for name, value in self.items():
                selected[name] = value[item]
        return selected

    def _select(self, selected: InstanceData, index: torch.Tensor) -> None:
        """Fill ``selected`` with the instances an index tensor (positions or a mask) picks from each field."""
        if index.dtype.is_floating_point or index.is_complex():
            raise AssertionError(f"InstanceData cannot be indexed with a {index.dtype} tensor; expected a long or "
                                 f"bool tensor.")
        if index.dim() != 1:
            raise AssertionError("Only support to get the values along the first dimension.")
        if _is_bool(index) and len(index) != len(self):
            raise AssertionError(f"The shape of the input(BoolTensor) {len(index)} does not match the shape of the "
                                 f"indexed tensor in results_field {len(self)} at first dimension.")
        for name, value in self.items():
            if isinstance(value, torch.Tensor):
                selected[name] = value[index]
            elif isinstance(value, np.ndarray):
                selected[name] = value[index.cpu().numpy()]
            elif isinstance(value, (str, list, tuple)) or (hasattr(value, "__getitem__") and hasattr(value, "cat")):
                positions = (torch.nonzero(index).view(-1) if _is_bool(index) else index).cpu().numpy().tolist()
                pieces = [value[slice(i, None, len(value))] for i in positions] or [value[slice(None, 0, None)]]
                if isinstance(value, (str, list, tuple)):
                    joined = pieces[0]
                    for piece in pieces[1:]:
                        joined = joined + piece
                    selected[name] = joined
                else:
                    selected[name] = value.cat(pieces)
            else:
                raise ValueError(f"The type of `{name}` is `{type(value)}`, which has no attribute of `cat`, so it "
                                 f"does not support slice with `bool`")

    @staticmethod
    def cat(instances_list: list[Any]) -> Any:
        """One element holding the instances of every element of ``instances_list`` (same fields in each).

        Raises:
            AssertionError: the list is empty, holds something else, or its elements' fields differ.
            ValueError: a field's type cannot be concatenated.
        """
        if not all(isinstance(instances, InstanceData) for instances in instances_list):
            raise AssertionError("InstanceData.cat: every element must be an InstanceData")
        if not instances_list:
            raise AssertionError("InstanceData.cat: the list is empty")
        if len(instances_list) == 1:
            return instances_list[0]
        key_lists = [instances.all_keys() for instances in instances_list]
        if len({len(keys) for keys in key_lists}) != 1 or len(set(itertools.chain(*key_lists))) != len(key_lists[0]):
            raise AssertionError("There are different keys in `instances_list`, which may cause the cat operation to "
                                 "fail. Please make sure all elements in `instances_list` have the exact same key.")
        first = instances_list[0]
        joined = first.__class__(metainfo=first.metainfo)
        for name in first.keys():
            values = [instances[name] for instances in instances_list]
            head = values[0]
            if isinstance(head, torch.Tensor):
                joined[name] = torch.cat(values, dim=0)
            elif isinstance(head, np.ndarray):
                joined[name] = np.concatenate(values, axis=0)
            elif isinstance(head, (str, list, tuple)):
                combined = head[:]
                for value in values[1:]:
                    combined += value
                joined[name] = combined
            elif hasattr(head, "cat"):
                joined[name] = head.cat(values)
            else:
                raise ValueError(f"The type of `{name}` is `{type(head)}` which has no attribute of `cat`")
        return joined

    def __len__(self) -> int:
        """The number of instances (0 without data fields)."""
        values = self.values()
        return len(values[0]) if values else 0
