"""``PixelData``: per-pixel maps (masks, heatmaps) that share one height and width."""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

import numpy as np
import torch

from mmhooks.structures.base_data_element import BaseDataElement

__all__ = ["PixelData"]

T = TypeVar("T", bound="PixelData")


class PixelData(BaseDataElement):
    """Data fields that are ``(C, H, W)`` tensors or arrays of one ``(H, W)``; a 2-d map becomes ``(1, H, W)``.

    Indexing with ``[rows, cols]`` (ints or slices) crops every field.

    Example:
        >>> pixels = PixelData(sem_seg=torch.zeros(1, 4, 6))
        >>> pixels.shape, pixels[1:3, 2:5].shape
        ((4, 6), (2, 3))
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("_metainfo_fields", "_data_fields"):
            super().__setattr__(name, value)
            return
        if not isinstance(value, (torch.Tensor, np.ndarray)):
            raise AssertionError(f"Can not set {type(value)}, only support {(torch.Tensor, np.ndarray)}")
        if self.shape and tuple(value.shape[-2:]) != self.shape:
            raise AssertionError(f"The height and width of values {tuple(value.shape[-2:])} is not consistent with "
                                 f"the shape of this :obj:`PixelData` {self.shape}")
        if value.ndim not in (2, 3):
            raise AssertionError(f"The dim of value must be 2 or 3, but got {value.ndim}")
        if value.ndim == 2:
            value = value[None]
            warnings.warn(f"The shape of value will convert from {value.shape[-2:]} to {value.shape}", stacklevel=2)
        super().__setattr__(name, value)

    def __getitem__(self: T, item: Any) -> T:
        if not isinstance(item, tuple):
            raise TypeError(f"Unsupported type {type(item)} for slicing PixelData")
        if len(item) != 2:
            raise AssertionError("Only support to slice height and width")
        shape = self.shape or (0, 0)
        index: list[slice] = []
        for position, size in zip(item, shape):
            if isinstance(position, int):
                index.append(slice(position, None, size))  # one row or column, kept as a dimension
            elif isinstance(position, slice):
                index.append(position)
            else:
                raise TypeError(f"The type of element in input must be int or slice, but got {type(position)}")
        cropped = self.__class__(metainfo=self.metainfo)
        for name, value in self.items():
            setattr(cropped, name, value[(slice(None), *index)])
        return cropped

    @property
    def shape(self) -> tuple[int, ...] | None:
        """``(H, W)`` of the fields, ``None`` without data fields."""
        values = self.values()
        return tuple(values[0].shape[-2:]) if values else None
