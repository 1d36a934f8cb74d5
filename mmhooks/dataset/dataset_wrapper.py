"""Dataset wrappers named in configs: ``ConcatDataset``, ``RepeatDataset``, ``ClassBalancedDataset``.

Each takes built datasets or ``DATASETS`` configs, initialises lazily like
``BaseDataset`` and maps its own indices to the wrapped datasets'.
"""

from __future__ import annotations

import bisect
import copy
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np
from torch.utils.data.dataset import ConcatDataset as _TorchConcatDataset

from mmhooks.dataset.base_dataset import BaseDataset, force_full_init
from mmhooks.logging.logger import print_log
from mmhooks.registry import DATASETS

__all__ = ["ClassBalancedDataset", "ConcatDataset", "RepeatDataset"]


def _build(dataset: Any) -> Any:
    if isinstance(dataset, dict):
        return DATASETS.build(dataset)
    if isinstance(dataset, BaseDataset):
        return dataset
    raise TypeError(f"elements in datasets sequence should be config or `BaseDataset` instance, but got "
                    f"{type(dataset)}")


def _no_subset(name: str) -> NoReturn:
    raise NotImplementedError(f"`{name}` does not support `get_subset` and `get_subset_`: the result would be "
                              f"ambiguous. Fix: take the subset of the wrapped dataset, then wrap it.")


def _warn_lazy() -> None:
    print_log("Please call `full_init` method manually to accelerate the speed.", logger="current",
              level=logging.WARNING)


def _same_meta(first: Any, other: Any) -> bool:
    if isinstance(first, np.ndarray):
        return bool(np.array_equal(first, other))
    return bool(first == other)


@DATASETS.register_module()
class ConcatDataset(_TorchConcatDataset[Any]):
    """Datasets one after the other; their meta information must agree (except ``ignore_keys``).

    Raises:
        TypeError: an element is neither a dataset nor a config; ``ignore_keys`` is not a str or list; a meta
            value's type differs between datasets.
        ValueError: a meta key is missing from a dataset, or its value differs.
    """

    def __init__(self, datasets: Sequence[BaseDataset | dict[str, Any]], lazy_init: bool = False,
                 ignore_keys: str | list[str] | None = None) -> None:
        self.datasets: list[Any] = [_build(dataset) for dataset in datasets]
        if ignore_keys is None:
            self.ignore_keys: list[str] = []
        elif isinstance(ignore_keys, str):
            self.ignore_keys = [ignore_keys]
        elif isinstance(ignore_keys, list):
            self.ignore_keys = ignore_keys
        else:
            raise TypeError(f"ignore_keys should be a list or str, but got {type(ignore_keys)}")
        keys: set[str] = set()
        for dataset in self.datasets:
            keys |= dataset.metainfo.keys()
        self._metainfo = self.datasets[0].metainfo
        for number, dataset in enumerate(self.datasets, 1):
            meta = dataset.metainfo
            for key in keys - set(self.ignore_keys):
                if key not in meta:
                    raise ValueError(f"{key} does not in the meta information of the {number}-th dataset")
                if type(self._metainfo[key]) is not type(meta[key]):
                    raise TypeError(f"The type {type(meta[key])} of {key} in the {number}-th dataset should be the "
                                    f"same with the first dataset {type(self._metainfo[key])}")
                if not _same_meta(self._metainfo[key], meta[key]):
                    raise ValueError(f"The meta information of the {number}-th dataset does not match meta "
                                     f"information of the first dataset")
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict[str, Any]:
        """The first dataset's meta information (a copy)."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        for dataset in self.datasets:
            dataset.full_init()
        super().__init__(self.datasets)
        self._fully_initialized = True

    @force_full_init
    def _get_ori_dataset_idx(self, idx: int) -> tuple[int, int]:
        """``(dataset index, index in that dataset)`` of ``idx`` (negative counts from the end)."""
        if idx < 0:
            if -idx > len(self):
                raise ValueError(f"absolute value of index({idx}) should not exceed datasetlength({len(self)}).")
            idx += len(self)
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        return dataset_idx, idx - (self.cumulative_sizes[dataset_idx - 1] if dataset_idx else 0)

    @force_full_init
    def get_data_info(self, idx: int) -> Any:
        dataset_idx, sample_idx = self._get_ori_dataset_idx(idx)
        return self.datasets[dataset_idx].get_data_info(sample_idx)

    @force_full_init
    def __len__(self) -> int:
        return super().__len__()

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            _warn_lazy()
            self.full_init()
        dataset_idx, sample_idx = self._get_ori_dataset_idx(idx)
        return self.datasets[dataset_idx][sample_idx]

    def get_subset_(self, indices: list[int] | int) -> None:
        _no_subset("ConcatDataset")

    def get_subset(self, indices: list[int] | int) -> Any:
        _no_subset("ConcatDataset")


class _IndexMappedDataset:
    """A wrapper of one dataset whose samples are the wrapped one's at mapped indices."""

    dataset: Any
    _name = ""

    def __init__(self, dataset: BaseDataset | dict[str, Any], lazy_init: bool) -> None:
        self.dataset = _build(dataset)
        self._metainfo = self.dataset.metainfo
        self._fully_initialized = False

    @property
    def metainfo(self) -> dict[str, Any]:
        """The wrapped dataset's meta information (a copy)."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        raise NotImplementedError

    def _get_ori_dataset_idx(self, idx: int) -> int:
        raise NotImplementedError

    @force_full_init
    def get_data_info(self, idx: int) -> Any:
        return self.dataset.get_data_info(self._get_ori_dataset_idx(idx))

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            _warn_lazy()
            self.full_init()
        return self.dataset[self._get_ori_dataset_idx(idx)]

    def get_subset_(self, indices: list[int] | int) -> None:
        _no_subset(type(self).__name__)

    def get_subset(self, indices: list[int] | int) -> Any:
        _no_subset(type(self).__name__)


@DATASETS.register_module()
class RepeatDataset(_IndexMappedDataset):
    """The wrapped dataset ``times`` times over (sample ``i`` is the wrapped one's ``i % len``)."""

    def __init__(self, dataset: BaseDataset | dict[str, Any], times: int, lazy_init: bool = False) -> None:
        super().__init__(dataset, lazy_init)
        self.times = times
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        self.dataset.full_init()
        self._ori_len = len(self.dataset)
        self._fully_initialized = True

    @force_full_init
    def _get_ori_dataset_idx(self, idx: int) -> int:
        return idx % self._ori_len

    @force_full_init
    def __len__(self) -> int:
        return self.times * self._ori_len


@DATASETS.register_module()
class ClassBalancedDataset(_IndexMappedDataset):
    """Repeat samples of rare categories (LVIS's repeat-factor sampling).

    A category in a fraction ``f`` of the samples gets the factor
    ``max(1, sqrt(oversample_thr / f))``; a sample is repeated
    ``ceil(max factor of its categories)`` times. Needs ``get_cat_ids``.
    """

    def __init__(self, dataset: BaseDataset | dict[str, Any], oversample_thr: float, lazy_init: bool = False) -> None:
        super().__init__(dataset, lazy_init)
        self.oversample_thr = oversample_thr
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        self.dataset.full_init()
        factors = self._get_repeat_factors(self.dataset, self.oversample_thr)
        self.repeat_indices = [index for index, factor in enumerate(factors) for _ in range(math.ceil(factor))]
        self._fully_initialized = True

    def _get_repeat_factors(self, dataset: Any, repeat_thr: float) -> list[float]:
        """Each sample's repeat factor (see the class docstring)."""
        num_images = len(dataset)
        frequency: defaultdict[Any, float] = defaultdict(float)
        categories = [set(self.dataset.get_cat_ids(idx)) for idx in range(num_images)]
        for cat_ids in categories:
            for cat_id in cat_ids:
                frequency[cat_id] += 1
        category_repeat = {cat_id: max(1.0, math.sqrt(repeat_thr / (count / num_images)))
                           for cat_id, count in frequency.items()}
        return [max(category_repeat[cat_id] for cat_id in cat_ids) if cat_ids else 1.0 for cat_ids in categories]

    @force_full_init
    def _get_ori_dataset_idx(self, idx: int) -> int:
        return int(self.repeat_indices[idx])

    @force_full_init
    def get_cat_ids(self, idx: int) -> Any:
        return self.dataset.get_cat_ids(self._get_ori_dataset_idx(idx))

    @force_full_init
    def __len__(self) -> int:
        return len(self.repeat_indices)
