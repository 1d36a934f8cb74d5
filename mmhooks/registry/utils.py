"""What is registered where: MMEngine's ``traverse_registry_tree`` and ``count_registered_modules``."""

from __future__ import annotations

import datetime
import json
import logging
import os
import os.path as osp
from typing import Any

from mmhooks.registry.registry import Registry

__all__ = ["count_registered_modules", "traverse_registry_tree"]


def _log(message: str) -> None:
    from mmhooks.logging.logger import print_log

    print_log(message, "current", logging.INFO)


def traverse_registry_tree(registry: Registry, verbose: bool = True) -> list[dict[str, Any]]:
    """One summary per registry of ``registry``'s tree, from its root, depth first.

    Each summary holds ``num_modules``, ``scope``, and for each folder (the
    registered object's module path without its last part, ``/``-joined) the
    names registered from it. The result is the same from any node of a tree.

    Example:
        >>> ANIMALS = Registry("animal", scope="zoo")
        >>> @ANIMALS.register_module()
        ... class Cat:
        ...     pass
        >>> traverse_registry_tree(ANIMALS, verbose=False)[0]["num_modules"]
        1
    """
    summaries: list[dict[str, Any]] = []

    def visit(node: Registry) -> None:
        summary: dict[str, Any] = {"num_modules": len(node.module_dict), "scope": node.scope}
        for name, obj in node.module_dict.items():
            folder = "/".join(str(getattr(obj, "__module__", "") or "").split(".")[:-1])
            summary.setdefault(folder, []).append(name)
        if verbose:
            _log(f"Find {len(node.module_dict)} modules in {node.scope}'s '{node.name}' registry ")
        summaries.append(summary)
        for child in node.children.values():
            visit(child)

    visit(registry.root)
    return summaries


def count_registered_modules(save_path: str | None = None, verbose: bool = True) -> dict[str, Any]:
    """Summaries of every registry tree in :mod:`mmhooks.registry`, after importing mmhooks' classes.

    Args:
        save_path: A directory; the result is also written there as
            ``modules_statistic_results.json``.
        verbose: Log one line per registry and the result.

    Returns:
        ``{"scan_date": ..., "registries": {"HOOKS": [...], ...}}``, each value
        as :func:`traverse_registry_tree` gives it.
    """
    import mmhooks.registry as registries

    registries.import_builtins()
    found = {name: traverse_registry_tree(value, verbose)
             for name, value in sorted(vars(registries).items())
             if isinstance(value, Registry) and not name.startswith("_")}
    result = {"scan_date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), "registries": found}
    if verbose:
        _log(f"Finish registry analysis, got: {result}")
    if save_path is not None:
        os.makedirs(save_path, exist_ok=True)
        json_path = osp.join(save_path, "modules_statistic_results.json")
        with open(json_path, "w", encoding="utf-8") as file:
            json.dump(result, file, indent=2)
        if verbose:
            _log(f"Result has been saved to {json_path}")
    return result
