"""Name resolution with MMEngine's scope rule, over mmhooks' registry tree joined to MMEngine's.

The tree searched is MMEngine's, with mmhooks' root registries in place of
MMEngine's roots:

- the children of an mmhooks root are its own children plus the children of
  the MMEngine root it stands in for (downstream scopes such as ``mmpretrain``);
- walking up from a registry ends at the mmhooks root, then MMEngine's root
  (for names that only MMEngine registers).

On that tree the rules are MMEngine's: a bare name is searched in the
current default scope's registry and its parents (so ``EMAHook`` under
``default_scope='mmpretrain'`` is mmpretrain's when it registers one, and
mmhooks' otherwise), then in the registry asked; a ``scope.Name`` goes to the
registry of that scope; a dotted import path is imported. With
``default_scope`` ``None``, ``'mmengine'`` or ``'mmhooks'`` mmhooks' own classes
come first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mmhooks.registry.default_scope import ROOT_SCOPES
from mmhooks.registry.mmengine_tree import import_scope_registry, is_mmengine_root, mmengine_root

if TYPE_CHECKING:
    from mmhooks.registry.registry import Registry

__all__ = ["find_scope_registry", "lookup", "split_scope_key"]

_NOT_FOUND = object()
_warned_scopes: set[tuple[str, str]] = set()


def split_scope_key(key: str) -> tuple[str | None, str]:
    """``'mmdet.ResNet'`` -> ``('mmdet', 'ResNet')``; ``'ResNet'`` -> ``(None, 'ResNet')`` (first dot only)."""
    scope, dot, rest = key.partition(".")
    return (scope, rest) if dot else (None, key)


def lookup(registry: Registry, key: str, scope_name: str | None, building: bool = False) -> Any:
    """The object ``key`` names for ``registry`` under the default scope ``scope_name``; ``None`` if nothing.

    ``building``: the lookup is for a build, which is where MMEngine warns about a scope without a
    registry in this tree (its ``Registry.get`` never warns: mmpretrain has no ``function``
    registry, and MMEngine's Runner looks ``collate_fn`` up with ``get``).
    """
    root = registry.root
    if scope_name is not None and scope_name not in ROOT_SCOPES and scope_name != root.scope:
        scoped = find_scope_registry(root, scope_name)
        if scoped is None:
            if building:
                _warn_scope_not_found(registry, scope_name)
        elif scoped is not registry:
            found = _get(scoped, key, root)
            if found is not _NOT_FOUND:
                return found
    found = _get(registry, key, root)
    return None if found is _NOT_FOUND else found


def find_scope_registry(root: Registry, scope_name: str) -> Any:
    """The registry of ``scope_name`` below ``root``: mmhooks' own tree first, then MMEngine's (or ``None``)."""
    found = root._search_child(scope_name)
    if found is not None:
        return found
    import_scope_registry(scope_name)
    found = root._search_child(scope_name)
    if found is not None:
        return found
    mm_root = mmengine_root(root.mmengine_name)
    if mm_root is None:
        return None
    found = mm_root._search_child(scope_name)
    return None if found is mm_root else found


def _get(node: Any, key: str, root: Registry) -> Any:
    """MMEngine's ``Registry.get`` from ``node`` on the joined tree; ``_NOT_FOUND`` if nothing."""
    node.import_from_location()
    scope, real_key = split_scope_key(key)
    at_root = node is root or is_mmengine_root(node)
    if scope is None or scope == node.scope or (at_root and _names_root(scope, root)):
        chain = _ancestors(node, root) if scope is None else ([root] if at_root else [node])
        return _first_in(chain, real_key, root)
    child = _children(node, root).get(scope)
    if child is None:
        import_scope_registry(scope)
        child = _children(node, root).get(scope)
    if child is not None:
        return _get(child, real_key, root)
    if not at_root and (_names_root(scope, root) or scope in _children(root, root)):
        return _get(root, key, root)
    return _NOT_FOUND


def _names_root(scope: str, root: Registry) -> bool:
    """Whether ``scope`` is ``root``'s; ``'mmengine'`` and ``'mmhooks'`` also name mmhooks' own roots."""
    return scope == root.scope or (scope in ROOT_SCOPES and root.mmengine_name is not None)


def _children(node: Any, root: Registry) -> dict[str, Any]:
    """``node``'s children; an mmhooks root also adopts its MMEngine root's (its own win on a clash)."""
    if node is not root and not is_mmengine_root(node):
        return dict(node.children)
    mm_root = mmengine_root(root.mmengine_name)
    adopted = dict(mm_root.children) if mm_root is not None else {}
    return {**adopted, **root.children}


def _ancestors(node: Any, root: Registry) -> list[Any]:
    """``node`` and its parents up to (not including) an MMEngine root, then the mmhooks root."""
    chain = []
    while node is not None and not is_mmengine_root(node) and node is not root:
        chain.append(node)
        node = node.parent
    chain.append(root)
    return chain


def _first_in(chain: list[Any], key: str, root: Registry) -> Any:
    """The first registration of ``key`` along ``chain``; the chain's mmhooks root also means MMEngine's root."""
    for node in chain:
        if node is root:
            found = _in_root(root, key)
            if found is not _NOT_FOUND:
                return found
        elif key in node.module_dict:
            return node.module_dict[key]
    return _NOT_FOUND


def _in_root(root: Registry, key: str) -> Any:
    """``key`` in mmhooks' root (after importing mmhooks' built-in classes), else in MMEngine's root."""
    if key not in root.module_dict and root.mmengine_name is not None:
        from mmhooks.registry.registry import import_builtins_once

        import_builtins_once()
    if key in root.module_dict:
        return root.module_dict[key]
    mm_root = mmengine_root(root.mmengine_name)
    if mm_root is not None and key in mm_root.module_dict:
        return mm_root.module_dict[key]
    return _NOT_FOUND


def _warn_scope_not_found(registry: Registry, scope_name: str) -> None:
    """MMEngine's warning for a default scope with no registry in the tree (once per scope and registry)."""
    marker = (scope_name, registry.name)
    if marker in _warned_scopes:
        return
    _warned_scopes.add(marker)
    from mmhooks.logging.logger import print_log

    print_log(f'Failed to search registry with scope "{scope_name}" in the "{registry.root.name}" registry tree. '
              f'As a workaround, the current "{registry.name}" registry in "{registry.scope}" is used to build '
              f'instance. This may cause unexpected failure when running the built modules. Please check whether '
              f'"{scope_name}" is a correct scope, or whether the registry is initialized.',
              "current", logging.WARNING)
