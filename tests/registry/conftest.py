"""Registry tests start with no default scope, in mmhooks and in MMEngine, and leave none behind."""

from __future__ import annotations

from collections import OrderedDict

import pytest


def _scope_classes():
    from mmhooks.registry import DefaultScope

    classes = [DefaultScope]
    try:
        from mmengine.registry import DefaultScope as MMDefaultScope
    except ImportError:
        return classes
    return [*classes, MMDefaultScope]


@pytest.fixture(autouse=True)
def no_default_scope():
    classes = _scope_classes()
    saved = [OrderedDict(cls._instance_dict) for cls in classes]
    for cls in classes:
        cls._instance_dict = OrderedDict()
    yield
    for cls, instances in zip(classes, saved):
        cls._instance_dict = instances


@pytest.fixture
def child_registry():
    """``child_registry(parent, scope, name=...)`` creates a child registry and removes it after the test."""
    created = []

    def make(parent, scope, name=None, registry_cls=None):
        registry_cls = registry_cls or type(parent)
        child = registry_cls(name or parent.name, parent=parent, scope=scope)
        created.append((parent, scope))
        return child

    yield make
    for parent, scope in created:
        parent._children.pop(scope, None)
