from __future__ import annotations

import pytest

from mmhooks.runner import Priority, get_priority

mmengine = pytest.importorskip("mmengine")


def test_names_and_values_match_mmengine():
    from mmengine.runner import Priority as MMPriority

    assert [(p.name, p.value) for p in Priority] == [(p.name, p.value) for p in MMPriority]


@pytest.mark.parametrize("value", [0, 37, 100, "normal", "VERY_LOW", Priority.HIGH], ids=repr)
def test_get_priority_matches_mmengine(value):
    from mmengine.runner import Priority as MMPriority
    from mmengine.runner import get_priority as mm_get_priority

    mm_value = MMPriority[value.name] if isinstance(value, Priority) else value
    assert get_priority(value) == mm_get_priority(mm_value)


@pytest.mark.parametrize(
    "value,error",
    [(-1, ValueError), (101, ValueError), ("nromal", KeyError), (1.5, TypeError), (None, TypeError)],
    ids=["negative", "above-100", "misspelt", "float", "none"],
)
def test_get_priority_errors_are_mmengine_types(value, error):
    with pytest.raises(error):
        get_priority(value)


def test_out_of_range_message_names_the_range():
    with pytest.raises(ValueError) as info:
        get_priority(101)
    assert str(info.value) == (
        "priority: got 101; expected an int in [0, 100] or one of ['HIGHEST', 'VERY_HIGH', 'HIGH', "
        "'ABOVE_NORMAL', 'NORMAL', 'BELOW_NORMAL', 'LOW', 'VERY_LOW', 'LOWEST']. Fix: use a value between "
        "0 (runs first) and 100 (runs last)."
    )
