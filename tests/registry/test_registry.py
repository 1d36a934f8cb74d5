from __future__ import annotations

import pytest

from mmhooks.errors import ConfigError
from mmhooks.registry import HOOKS, Registry


@pytest.fixture
def things():
    registry = Registry("thing")

    @registry.register_module()
    class Widget:
        def __init__(self, size=1):
            self.size = size

    registry.register_module(name="Gadget", module=lambda colour="red": ("gadget", colour))
    return registry


def test_build_by_registered_name(things):
    assert things.build(dict(type="Widget", size=3)).size == 3


def test_build_by_class_and_callable(things):
    widget_cls = things.get("Widget")
    assert things.build(dict(type=widget_cls, size=5)).size == 5
    assert things.build(dict(type="Gadget", colour="blue")) == ("gadget", "blue")


def test_build_by_dotted_import_path(things):
    built = things.build(dict(type="collections.OrderedDict"))
    assert type(built).__name__ == "OrderedDict"


def test_built_object_passes_through(things):
    obj = object()
    assert things.build(obj) is obj


def test_unknown_type_names_path_value_and_closest(things):
    with pytest.raises(ConfigError) as info:
        things.build(dict(type="Widgit"), path="custom_hooks[2]")
    assert str(info.value) == (
        "custom_hooks[2].type: got 'Widgit'; expected a registered thing (Gadget, Widget). Fix: did you mean 'Widget'?"
    )


def test_unknown_dotted_type_names_the_package(things):
    with pytest.raises(ConfigError) as info:
        things.build(dict(type="mmdet_missing.models.RetinaNet"), path="model")
    assert "install the package that defines it ('mmdet_missing')" in str(info.value)
    assert str(info.value).startswith("model.type: got 'mmdet_missing.models.RetinaNet'")


def test_unknown_argument_suggests_rename(things):
    with pytest.raises(ConfigError) as info:
        things.build(dict(type="Widget", sise=2), path="model")
    assert str(info.value) == "model.sise: got 2; expected an argument of Widget (size). Fix: rename it to 'size'."


def test_missing_type(things):
    with pytest.raises(ConfigError) as info:
        things.build(dict(size=2), path="model")
    assert str(info.value) == "model.type: got None; expected a registered thing name. Fix: add type='Gadget' or another name."


def test_duplicate_registration_needs_force(things):
    with pytest.raises(KeyError):
        things.register_module(name="Widget", module=dict)
    things.register_module(name="Widget", module=dict, force=True)
    assert things.get("Widget") is dict


def test_hooks_registry_builds_a_registered_hook():
    from mmhooks.hooks import Hook

    HOOKS.register_module(module=Hook, force=True)
    assert HOOKS.build(dict(type="Hook")).__class__ is Hook
