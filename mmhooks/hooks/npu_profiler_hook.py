"""``NPUProfilerHook``: MMEngine's Ascend NPU profiler, named so that configs and imports fail clearly.

mmhooks does not provide the Ascend profiler: building this class raises
``ImportError`` that names :class:`~mmhooks.hooks.ProfilerHook`
(``torch.profiler``). It is not registered in ``HOOKS``, so a config's
``type='NPUProfilerHook'`` still resolves to MMEngine's hook where MMEngine is
installed (the registries' fallback).
"""

from __future__ import annotations

from typing import Any

from mmhooks.hooks.hook import Hook

__all__ = ["NPUProfilerHook"]


class NPUProfilerHook(Hook):
    """Not provided: raises ``ImportError`` when built (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError("NPUProfilerHook (Ascend NPU profiling through torch_npu) is not provided by mmhooks. "
                          "Fix: use dict(type='ProfilerHook', ...), which profiles with torch.profiler.")
