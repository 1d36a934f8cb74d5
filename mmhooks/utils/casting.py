"""Casting, slicing and mapping helpers of ``mmengine.utils`` (``list_cast``, ``slice_list``, ``apply_to``...)."""

from __future__ import annotations

import collections.abc
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["apply_to", "concat_list", "iter_cast", "list_cast", "slice_list", "tuple_cast"]


def iter_cast(inputs: Iterable[Any], dst_type: type, return_type: type | None = None) -> Any:
    """``dst_type`` applied to each item: a lazy iterator, or a ``return_type`` container.

    Raises:
        TypeError: ``inputs`` is not iterable, or ``dst_type`` not a type.

    Example:
        >>> list_cast(['1', '2'], int), tuple_cast([1.5], str)
        ([1, 2], ('1.5',))
    """
    if not isinstance(inputs, collections.abc.Iterable):
        raise TypeError("inputs must be an iterable object")
    if not isinstance(dst_type, type):
        raise TypeError('"dst_type" must be a valid type')
    casted: Iterator[Any] = map(dst_type, inputs)
    return casted if return_type is None else return_type(casted)


def list_cast(inputs: Iterable[Any], dst_type: type) -> list[Any]:
    return iter_cast(inputs, dst_type, return_type=list)  # type: ignore[no-any-return]


def tuple_cast(inputs: Iterable[Any], dst_type: type) -> tuple[Any, ...]:
    return iter_cast(inputs, dst_type, return_type=tuple)  # type: ignore[no-any-return]


def slice_list(in_list: list[Any], lens: int | list[int]) -> list[list[Any]]:
    """``in_list`` cut into consecutive pieces of ``lens`` items (an int: equal pieces of that length).

    Raises:
        AssertionError: an int ``lens`` does not divide the list's length.
        TypeError: ``lens`` is neither an int nor a list.
        ValueError: the lengths do not add up to the list's length.

    Example:
        >>> slice_list([1, 2, 3, 4, 5], [2, 3]), concat_list([[1], [2, 3]])
        ([[1, 2], [3, 4, 5]], [1, 2, 3])
    """
    if isinstance(lens, int):
        if len(in_list) % lens:
            raise AssertionError(f"slice_list: {len(in_list)} items do not split into pieces of {lens}")
        lens = [lens] * (len(in_list) // lens)
    if not isinstance(lens, list):
        raise TypeError('"indices" must be an integer or a list of integers')
    if sum(lens) != len(in_list):
        raise ValueError(f"sum of lens and list length does not match: {sum(lens)} != {len(in_list)}")
    starts = itertools.accumulate([0, *lens])
    return [in_list[start:start + size] for start, size in zip(starts, lens)]


def concat_list(in_list: Iterable[Iterable[Any]]) -> list[Any]:
    """The items of every inner iterable, in order."""
    return list(itertools.chain(*in_list))


def apply_to(data: Any, expr: Callable[[Any], bool], apply_func: Callable[[Any], Any]) -> Any:
    """``data`` with ``apply_func`` applied to every leaf for which ``expr`` holds (dicts, lists, tuples walked).

    Example:
        >>> apply_to({'a': [1, 'x'], 'b': (2,)}, lambda v: isinstance(v, int), lambda v: v * 10)
        {'a': [10, 'x'], 'b': (20,)}
    """
    if isinstance(data, dict):
        result = type(data)()
        for key, value in data.items():
            result[key] = apply_to(value, expr, apply_func)
        return result
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a namedtuple takes positional fields
        return type(data)(*(apply_to(item, expr, apply_func) for item in data))
    if isinstance(data, (tuple, list)):
        return type(data)(apply_to(item, expr, apply_func) for item in data)
    return apply_func(data) if expr(data) else data
