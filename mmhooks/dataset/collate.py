"""Collate functions named by a dataloader's ``collate_fn=dict(type=...)``.

``pseudo_collate`` (the default) transposes a batch without stacking, so
samples of different sizes survive until the model's data preprocessor pads
them; ``default_collate`` stacks like PyTorch's but leaves data elements alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch.utils.data._utils.collate import default_collate as torch_default_collate

from mmhooks.registry import FUNCTIONS

__all__ = ["COLLATE_FUNCTIONS", "default_collate", "pseudo_collate"]

#: MMEngine's older name for the ``FUNCTIONS`` registry that ``collate_fn=dict(type=...)`` looks up.
COLLATE_FUNCTIONS = FUNCTIONS


def _transpose(batch: Sequence[Any], leaf: Callable[[Sequence[Any]], Any],
               recurse: Callable[[Sequence[Any]], Any]) -> Any:
    """Turn a list of samples into one structure of lists, calling ``leaf`` on each leaf column."""
    first = batch[0]
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # namedtuple
        return type(first)(*(recurse(column) for column in zip(*batch)))
    if isinstance(first, Sequence):
        sizes = [len(sample) for sample in batch]
        if len(set(sizes)) != 1:
            raise RuntimeError(
                f"collate: got samples of lengths {sizes}; expected sequences of one length. "
                "Fix: return samples with the same fields from the dataset, or pass a custom collate_fn."
            )
        columns = list(zip(*batch))
        if isinstance(first, tuple):
            return [recurse(column) for column in columns]  # tuples become lists, as in PyTorch
        try:
            return type(first)([recurse(column) for column in columns])  # type: ignore[call-arg]
        except TypeError:  # sequence types without a constructor from an iterable (range)
            return [recurse(column) for column in columns]
    if isinstance(first, Mapping):
        return type(first)({key: recurse([sample[key] for sample in batch]) for key in first})  # type: ignore[call-arg]
    return leaf(batch)


def pseudo_collate(data_batch: Sequence[Any]) -> Any:
    """Transpose a list of samples into one sample of lists; tensors are not stacked.

    Example:
        >>> pseudo_collate([{"x": 1, "tag": "a"}, {"x": 2, "tag": "b"}])
        {'x': [1, 2], 'tag': ['a', 'b']}
    """
    if isinstance(data_batch[0], (str, bytes)):
        return data_batch
    return _transpose(data_batch, leaf=lambda column: column, recurse=pseudo_collate)


def default_collate(data_batch: Sequence[Any]) -> Any:
    """Like :func:`pseudo_collate`, but stack tensors, arrays and numbers as PyTorch does.

    Data elements (objects with ``to_dict``), strings and bytes stay lists.

    Example:
        >>> default_collate([{"x": 1}, {"x": 2}])
        {'x': tensor([1, 2])}
    """
    first = data_batch[0]
    if isinstance(first, (str, bytes)) or (callable(getattr(first, "to_dict", None)) and hasattr(first, "to")):
        return data_batch
    return _transpose(data_batch, leaf=torch_default_collate, recurse=default_collate)


# Registered by call, not as decorators: register_module() is untyped.
FUNCTIONS.register_module(module=pseudo_collate)
FUNCTIONS.register_module(module=default_collate)
