"""Hook priorities: a lower value runs earlier (MMEngine's names and values)."""

from __future__ import annotations

from enum import Enum

__all__ = ["Priority", "get_priority", "priority_name"]


class Priority(Enum):
    """Named hook priorities, from ``HIGHEST`` (0) to ``LOWEST`` (100)."""

    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: int | str | Priority) -> int:
    """The integer value of ``priority``.

    Raises:
        ValueError: an int outside ``[0, 100]``.
        KeyError: a name that is not a :class:`Priority` member (any case).
        TypeError: any other type.

    Example:
        >>> get_priority("normal"), get_priority(Priority.LOW), get_priority(5)
        (50, 70, 5)
    """
    if isinstance(priority, bool):
        raise TypeError(f"priority: got {priority!r}; expected an int in [0, 100], a Priority or its name")
    if isinstance(priority, int):
        if priority < 0 or priority > 100:
            raise ValueError(
                f"priority: got {priority!r}; expected an int in [0, 100] or one of "
                f"{[p.name for p in Priority]}. Fix: use a value between 0 (runs first) and 100 (runs last)."
            )
        return priority
    if isinstance(priority, Priority):
        return priority.value
    if isinstance(priority, str):
        try:
            return Priority[priority.upper()].value
        except KeyError:
            raise KeyError(
                f"priority: got {priority!r}; expected one of {sorted(p.name for p in Priority)} "
                "or an int in [0, 100]. Fix: use one of those names."
            ) from None
    raise TypeError(
        f"priority: got {priority!r}; expected an int in [0, 100], a Priority or one of "
        f"{sorted(p.name for p in Priority)}."
    )


def priority_name(priority: int | str | Priority) -> str:
    """``Priority(value).name`` when the value is a named level, else the value as text."""
    value = get_priority(priority)
    try:
        return Priority(value).name
    except ValueError:
        return str(value)
