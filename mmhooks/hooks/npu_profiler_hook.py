"""``NPUProfilerHook``: MMEngine's Ascend NPU profiler, named so that configs and imports fail clearly.

mmhooks runs on the devices Lightning supports and does not provide the
Ascend profiler; building the hook raises ``ImportError`` that names
:class:`~mmhooks.hooks.ProfilerHook` (``torch.profiler``) instead.
"""

from __future__ import annotations

from typing import Any

from mmhooks.hooks.hook import Hook
from mmhooks.registry import HOOKS

__all__ = ["NPUProfilerHook"]


@HOOKS.register_module()
class NPUProfilerHook(Hook):
    """Not provided: raises ``ImportError`` when built (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError("NPUProfilerHook (Ascend NPU profiling through torch_npu) is not provided by mmhooks. "
                          "Fix: use dict(type='ProfilerHook', ...), which profiles with torch.profiler.")
