"""Priorities, hook registration and the config-driven ``Runner``."""

from __future__ import annotations

from typing import Any

from mmhooks.runner.priority import Priority, get_priority

__all__ = ["Priority", "Runner", "get_priority"]


def __getattr__(name: str) -> Any:
    # The Runner pulls in model, optim and backend code; import it on first use so
    # that ``from mmhooks.runner import Priority`` stays cheap.
    if name == "Runner":
        from mmhooks.runner.runner import Runner

        return Runner
    raise AttributeError(f"module 'mmhooks.runner' has no attribute {name!r}")
