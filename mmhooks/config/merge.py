"""Merging a child config into its base: ``_base_`` inheritance and ``merge_from_dict``.

The rules are MMEngine's: a child dict merges key by key into a base dict; any
other child value replaces the base value; ``_delete_=True`` in a child dict
drops the base dict first; with ``allow_list_keys`` a key made of digits
addresses an element of a base list (``{"pipeline": {"0": {...}}}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmhooks.config.errors import ConfigListIndexError, ConfigMergeError
from mmhooks.errors import ConfigError, join_path

__all__ = ["DELETE_KEY", "merge_into", "strip_delete_keys"]

DELETE_KEY = "_delete_"


def merge_into(child: Mapping[Any, Any], base: Any, allow_list_keys: bool = False, where: str = "") -> Any:
    """A new container: ``base`` (a dict, or a list with ``allow_list_keys``) updated by ``child``.

    Neither argument is modified.

    Args:
        child: The overriding values.
        base: What they override.
        allow_list_keys: Let digit keys address elements of a base list.
        where: Key path of ``base`` from the config root, for error messages.

    Raises:
        ConfigMergeError: A child dict meets a base value that is not a dict
            (also a ``TypeError``, as in MMEngine).
        ConfigError: A list index that is not a number or is out of range.

    MMEngine parity:
        ``_delete_`` keys that have nothing to delete are dropped instead of
        staying in the result (MMEngine keeps them, and building such a dict
        then fails on the unknown ``_delete_`` argument). A digit key with a
        non-dict value replaces the list element (MMEngine fails on it).
    """
    if isinstance(base, list):
        return _merge_into_list(child, base, allow_list_keys, where)
    result = dict(base)
    for key, value in child.items():
        if key == DELETE_KEY:
            continue  # consumed by the caller, which decided between merging and replacing
        path = join_path(where, str(key))
        if not isinstance(value, Mapping):
            result[key] = value
            continue
        delete = bool(value.get(DELETE_KEY, False))
        if key not in result or delete:
            result[key] = strip_delete_keys(value)
            continue
        current = result[key]
        if isinstance(current, Mapping) or (allow_list_keys and isinstance(current, list)):
            result[key] = merge_into(value, current, allow_list_keys, path)
            continue
        raise ConfigMergeError(
            path, strip_delete_keys(value),
            f"a value that can merge into the base value {current!r} ({type(current).__name__})",
            f"a dict merges only into a dict; add {DELETE_KEY}=True to the child dict to replace the base "
            "value instead of merging into it.")
    return result


def _merge_into_list(child: Mapping[Any, Any], base: list[Any], allow_list_keys: bool, where: str) -> list[Any]:
    result = list(base)
    for key, value in child.items():
        if not (allow_list_keys and isinstance(key, str) and key.isdigit()):
            raise ConfigError(str(key), value, f"a list index (the base value at {where or 'the root'} is a list)",
                              "address list elements by their position, e.g. 'pipeline.0.type'.", where)
        index = int(key)
        if index >= len(result):
            raise ConfigListIndexError(f"[{index}]", value, f"an index below {len(result)}, the length of the base list",
                              f"use an index from 0 to {len(result) - 1}, or replace the whole list.", where)
        current = result[index]
        if isinstance(value, Mapping) and (isinstance(current, Mapping) or isinstance(current, list)) \
                and not value.get(DELETE_KEY, False):
            result[index] = merge_into(value, current, allow_list_keys, f"{where}[{index}]")
        else:
            result[index] = strip_delete_keys(value) if isinstance(value, Mapping) else value
    return result


def strip_delete_keys(value: Any) -> Any:
    """A copy of ``value`` without ``_delete_`` keys at any depth (lists and tuples keep their type)."""
    if isinstance(value, Mapping):
        return {key: strip_delete_keys(item) for key, item in value.items() if key != DELETE_KEY}
    if type(value) in (list, tuple):
        return type(value)(strip_delete_keys(item) for item in value)
    return value
