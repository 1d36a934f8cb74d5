"""``BaseDataset``: MMEngine's dataset protocol (annotation file -> data list -> pipeline), and ``Compose``.

OpenMMLab datasets subclass it and override ``load_data_list``,
``parse_data_info``, ``filter_data`` or ``get_cat_ids``; they read and write the
same attributes as MMEngine's (``data_list``, ``data_prefix``, ``_metainfo``,
``filter_cfg``, ``test_mode``, ``serialize_data``...), which are kept here.

``serialize_data=True`` (the default) pickles the data list into one numpy
byte array, so dataloader workers forked from the main process share pages
instead of copying Python objects on access.
"""

from __future__ import annotations

import copy
import functools
import gc
import logging
import os.path as osp
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
from torch.utils.data import Dataset

from mmhooks.fileio import list_from_file, load
from mmhooks.logging.logger import print_log
from mmhooks.registry import TRANSFORMS

__all__ = ["BaseDataset", "Compose", "force_full_init"]

F = TypeVar("F", bound=Callable[..., Any])
D = TypeVar("D", bound="BaseDataset")


class Compose:
    """Apply transforms in order; a transform returning ``None`` drops the sample (the result is ``None``).

    Args:
        transforms: Callables or ``TRANSFORMS`` configs.

    Raises:
        TypeError: an entry is neither, or its config builds something not callable.

    Example:
        >>> Compose([lambda d: {**d, 'x': 1}, lambda d: {**d, 'y': d['x'] + 1}])({})
        {'x': 1, 'y': 2}
    """

    def __init__(self, transforms: Sequence[dict[str, Any] | Callable[..., Any]] | None) -> None:
        self.transforms: list[Callable[..., Any]] = []
        for transform in transforms or []:
            if isinstance(transform, dict):
                transform = TRANSFORMS.build(transform)
                if not callable(transform):
                    raise TypeError(f"transform should be a callable object, but got {type(transform)}")
            elif not callable(transform):
                raise TypeError(f"transform must be a callable object or dict, but got {type(transform)}")
            self.transforms.append(transform)

    def __call__(self, data: Any) -> Any:
        for transform in self.transforms:
            data = transform(data)
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        lines = "".join(f"\n    {transform}" for transform in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


def force_full_init(method: F) -> F:
    """Decorate a dataset method so that ``full_init()`` runs first when the dataset is not initialised yet.

    Raises:
        AttributeError: the object has no ``full_init``.
    """

    @functools.wraps(method)
    def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not hasattr(obj, "full_init"):
            raise AttributeError(f"{type(obj)} does not have full_init method.")
        if not getattr(obj, "_fully_initialized", False):
            print_log(f"Attribute `_fully_initialized` is not defined in {type(obj)} or "
                      f"`type(obj)._fully_initialized is False, `full_init` will be called and "
                      f"{type(obj)}._fully_initialized will be set to True", logger="current", level=logging.WARNING)
            obj.full_init()
            obj._fully_initialized = True
        return method(obj, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _join(prefix: str, path: str) -> str:
    return osp.join(prefix, path) if prefix else path


def _is_abs(path: str) -> bool:
    return osp.isabs(path) or "://" in path


class BaseDataset(Dataset[Any]):
    """A dataset read from an annotation file with ``metainfo`` and ``data_list`` keys (MMEngine's format).

    Args:
        ann_file: Annotation file, relative to ``data_root`` unless absolute.
        metainfo: Meta information that overrides the class's ``METAINFO`` (a
            str value naming a file is read as its lines).
        data_root: Root of ``ann_file`` and of relative ``data_prefix`` entries.
        data_prefix: Keys of each data info to prefix with a directory.
        filter_cfg: Read by subclasses' ``filter_data``.
        indices: Keep only these samples (an int: the first ``n``, or last ``-n``).
        serialize_data: Keep the data list as one pickled byte array.
        pipeline: Transforms applied by ``__getitem__``.
        test_mode: A sample the pipeline drops is an error instead of being replaced.
        lazy_init: Defer loading the annotations to ``full_init()``.
        max_refetch: Random replacements tried for dropped samples before giving up.

    Example:
        >>> class Numbers(BaseDataset):
        ...     METAINFO = dict(name='numbers')
        ...     def load_data_list(self):
        ...         return [dict(value=i) for i in range(4)]
        >>> numbers = Numbers(data_prefix={}, indices=[1, 3])
        >>> len(numbers), numbers[1], numbers.metainfo
        (2, {'value': 3, 'sample_idx': 1}, {'name': 'numbers'})
    """

    METAINFO: ClassVar[dict[str, Any]] = {}
    _fully_initialized: bool = False

    def __init__(self, ann_file: str | None = "", metainfo: Mapping[str, Any] | None = None,
                 data_root: str | None = "", data_prefix: dict[str, str] | None = None,
                 filter_cfg: dict[str, Any] | None = None, indices: int | Sequence[int] | None = None,
                 serialize_data: bool = True, pipeline: Sequence[dict[str, Any] | Callable[..., Any]] = (),
                 test_mode: bool = False, lazy_init: bool = False, max_refetch: int = 1000) -> None:
        self.ann_file = ann_file
        self._metainfo = self._load_metainfo(copy.deepcopy(metainfo))
        self.data_root = data_root
        self.data_prefix = copy.copy(data_prefix) if data_prefix is not None else {"img_path": ""}
        self.filter_cfg = copy.deepcopy(filter_cfg)
        self._indices = indices
        self.serialize_data = serialize_data
        self.test_mode = test_mode
        self.max_refetch = max_refetch
        self.data_list: list[dict[str, Any]] = []
        self.data_bytes: np.ndarray[Any, Any]
        self.data_address: np.ndarray[Any, Any]
        self._join_prefix()
        self.pipeline = Compose(pipeline)
        if not lazy_init:
            self.full_init()

    # ------------------------------------------------------------ loading
    def full_init(self) -> None:
        """Load, filter, subset and (optionally) serialise the data list; once."""
        if self._fully_initialized:
            return
        self.data_list = self.load_data_list()
        self.data_list = self.filter_data()
        if self._indices is not None:
            self.data_list = self._get_unserialized_subset(self._indices)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True

    def load_data_list(self) -> list[dict[str, Any]]:
        """The data infos of ``ann_file``; its ``metainfo`` fills keys not set already.

        Raises:
            TypeError: the file does not hold a dict, or ``parse_data_info`` returns something else than dicts.
            ValueError: the file lacks ``data_list`` or ``metainfo``.
        """
        annotations = load(self.ann_file) if self.ann_file else None
        if not isinstance(annotations, dict):
            raise TypeError(f"The annotations loaded from annotation file should be a dict, but got "
                            f"{type(annotations)}!")
        if "data_list" not in annotations or "metainfo" not in annotations:
            raise ValueError("Annotation must have data_list and metainfo keys")
        for key, value in annotations["metainfo"].items():
            self._metainfo.setdefault(key, value)
        data_list: list[dict[str, Any]] = []
        for raw_data_info in annotations["data_list"]:
            parsed = self.parse_data_info(raw_data_info)
            if isinstance(parsed, dict):
                data_list.append(parsed)
            elif isinstance(parsed, list):
                for item in parsed:
                    if not isinstance(item, dict):
                        raise TypeError(f"data_info must be list of dict, but got {type(item)}")
                data_list.extend(parsed)
            else:
                raise TypeError(f"data_info should be a dict or list of dict, but got {type(parsed)}")
        return data_list

    def parse_data_info(self, raw_data_info: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
        """``raw_data_info`` with each ``data_prefix`` key joined to its directory.

        Raises:
            KeyError: a ``data_prefix`` key is missing from the raw info (MMEngine: ``AssertionError``).
        """
        for key, prefix in self.data_prefix.items():
            if key not in raw_data_info:
                raise _PrefixKeyError(f"raw_data_info: {raw_data_info} dose not contain prefix key{key}, please "
                                      f"check your data_prefix.")
            raw_data_info[key] = _join(prefix, raw_data_info[key])
        return raw_data_info

    def filter_data(self) -> list[dict[str, Any]]:
        """The data infos to keep (all of them; subclasses filter with ``filter_cfg``)."""
        return self.data_list

    def get_cat_ids(self, idx: int) -> list[int]:
        """The category ids in sample ``idx`` (needed by ``ClassBalancedDataset``)."""
        raise NotImplementedError(f"{type(self)} must implement `get_cat_ids` method")

    @classmethod
    def _load_metainfo(cls, metainfo: Mapping[str, Any] | None = None) -> dict[str, Any]:
        merged = copy.deepcopy(cls.METAINFO)
        if metainfo is None:
            return merged
        if not isinstance(metainfo, Mapping):
            to_dict = getattr(metainfo, "to_dict", None)  # a Config (mmhooks' or MMEngine's) is not a Mapping
            if not callable(to_dict):
                raise TypeError(f"metainfo should be a Mapping or Config, but got {type(metainfo)}")
            metainfo = to_dict()
        for key, value in metainfo.items():
            if isinstance(value, str):
                try:
                    merged[key] = list_from_file(value)
                    continue
                except (TypeError, FileNotFoundError, ValueError):
                    print_log(f"{value} is not a meta file, simply parsed as meta information", logger="current",
                              level=logging.WARNING)
            merged[key] = value
        return merged

    def _join_prefix(self) -> None:
        if self.ann_file and not _is_abs(self.ann_file) and self.data_root:
            self.ann_file = _join(self.data_root, self.ann_file)
        for key, prefix in self.data_prefix.items():
            if not isinstance(prefix, str):
                raise TypeError(f"prefix should be a string, but got {type(prefix)}")
            self.data_prefix[key] = _join(self.data_root, prefix) if self.data_root and not _is_abs(prefix) \
                else prefix

    @property
    def metainfo(self) -> dict[str, Any]:
        """A deep copy of the meta information."""
        return copy.deepcopy(self._metainfo)

    # ------------------------------------------------------------ reading
    @force_full_init
    def get_data_info(self, idx: int) -> dict[str, Any]:
        """A copy of sample ``idx``'s data info, with ``sample_idx`` (non-negative)."""
        if self.serialize_data:
            start = 0 if idx == 0 else int(self.data_address[idx - 1])
            info: dict[str, Any] = pickle.loads(self.data_bytes[start:int(self.data_address[idx])].tobytes())
        else:
            info = copy.deepcopy(self.data_list[idx])
        info["sample_idx"] = idx if idx >= 0 else len(self) + idx
        return info

    def prepare_data(self, idx: int) -> Any:
        """Sample ``idx`` through the pipeline."""
        return self.pipeline(self.get_data_info(idx))

    def __getitem__(self, idx: int) -> Any:
        """The prepared sample; one the pipeline drops is replaced by a random other (not in test mode).

        Raises:
            Exception: in test mode, a dropped sample; otherwise ``max_refetch`` replacements dropped too.
        """
        if not self._fully_initialized:
            print_log("Please call `full_init()` method manually to accelerate the speed.", logger="current",
                      level=logging.WARNING)
            self.full_init()
        if self.test_mode:
            data = self.prepare_data(idx)
            if data is None:
                raise Exception("Test time pipline should not get `None` data_sample")
            return data
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            idx = self._rand_another()
        raise Exception(f"Cannot find valid image after {self.max_refetch}! Please check your image path and "
                        f"pipeline")

    def _rand_another(self) -> int:
        return int(np.random.randint(0, len(self)))

    @force_full_init
    def __len__(self) -> int:
        return len(self.data_address) if self.serialize_data else len(self.data_list)

    # ------------------------------------------------------------ subsets
    @force_full_init
    def get_subset_(self, indices: int | Sequence[int]) -> None:
        """Keep only ``indices`` (an int: the first ``n``, or the last ``-n``), in place."""
        if self.serialize_data:
            self.data_bytes, self.data_address = self._get_serialized_subset(indices)
        else:
            self.data_list = self._get_unserialized_subset(indices)

    @force_full_init
    def get_subset(self: D, indices: int | Sequence[int]) -> D:
        """A copy of this dataset with only ``indices`` (see :meth:`get_subset_`)."""
        subset = self._copy_without_annotation()
        if self.serialize_data:
            data_bytes, data_address = self._get_serialized_subset(indices)
            subset.data_bytes, subset.data_address = data_bytes.copy(), data_address.copy()
        else:
            subset.data_list = copy.deepcopy(self._get_unserialized_subset(indices))
        return subset

    def _positions(self, indices: int | Sequence[int], length: int) -> list[int]:
        if isinstance(indices, int):
            if indices >= 0:
                if indices >= max(length, 1) and length:
                    raise _IndexAssertion(f"{indices} is out of dataset length({length}")
                return list(range(min(indices, length)))
            if -indices > length:
                raise _IndexAssertion(f"{indices} is out of dataset length({length}")
            return list(range(length + indices, length))
        if isinstance(indices, Sequence):
            return list(indices)
        raise TypeError(f"indices should be a int or sequence of int, but got {type(indices)}")

    def _get_serialized_subset(self, indices: int | Sequence[int]) -> tuple[np.ndarray[Any, Any],
                                                                          np.ndarray[Any, Any]]:
        length = len(self.data_address)
        pieces, sizes = [], []
        for idx in self._positions(indices, length):
            if not -length <= idx < length:
                raise _IndexAssertion(f"index {idx} is out of dataset length({length})")
            start = 0 if idx in (0, -length) else int(self.data_address[idx - 1])
            end = int(self.data_address[idx])
            pieces.append(self.data_bytes[start:end])
            sizes.append(end - start)
        if not pieces:
            return np.array([]), np.array([])
        return np.concatenate(pieces), np.cumsum(sizes)

    def _get_unserialized_subset(self, indices: int | Sequence[int]) -> list[dict[str, Any]]:
        if isinstance(indices, int):
            return self.data_list[:indices] if indices >= 0 else self.data_list[indices:]
        if isinstance(indices, Sequence):
            return [self.data_list[idx] for idx in indices]
        raise TypeError(f"indices should be a int or sequence of int, but got {type(indices)}")

    def _serialize_data(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        pickled = [np.frombuffer(pickle.dumps(info, protocol=4), dtype=np.uint8) for info in self.data_list]
        address = np.cumsum(np.asarray([len(p) for p in pickled], dtype=np.int64))
        data_bytes = np.concatenate(pickled) if pickled else np.array([], dtype=np.uint8)
        self.data_list.clear()
        gc.collect()
        return data_bytes, address

    def _copy_without_annotation(self: D, memo: dict[int, Any] | None = None) -> D:
        """A deep copy of everything but the data (``data_list``, ``data_bytes``, ``data_address``)."""
        memo = {} if memo is None else memo
        other = self.__class__.__new__(self.__class__)
        memo[id(self)] = other
        for key, value in self.__dict__.items():
            if key not in ("data_list", "data_address", "data_bytes"):
                object.__setattr__(other, key, copy.deepcopy(value, memo))
        return other


class _PrefixKeyError(KeyError, AssertionError):
    """A ``data_prefix`` key missing from a raw data info (MMEngine asserts)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _IndexAssertion(IndexError, AssertionError):
    """A subset index out of range (MMEngine asserts)."""
