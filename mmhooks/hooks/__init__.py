"""MMEngine-style hooks: the ``Hook`` base class and the built-in hooks (imported on first use)."""

from __future__ import annotations

from mmhooks._lazy import import_modules, lazy_exports
from mmhooks.hooks.hook import DATA_BATCH, Hook

_MODULES = {
    "CheckpointHook": "mmhooks.hooks.checkpoint_hook",
    "ClosureHook": "mmhooks.hooks.closure_hook",
    "DistSamplerSeedHook": "mmhooks.hooks.dist_sampler_seed_hook",
    "EMAHook": "mmhooks.hooks.ema_hook",
    "EarlyStoppingHook": "mmhooks.hooks.early_stopping_hook",
    "EmptyCacheHook": "mmhooks.hooks.empty_cache_hook",
    "IterTimerHook": "mmhooks.hooks.iter_timer_hook",
    "LoggerHook": "mmhooks.hooks.logger_hook",
    "NPUProfilerHook": "mmhooks.hooks.npu_profiler_hook",
    "NaiveVisualizationHook": "mmhooks.hooks.naive_visualization_hook",
    "ParamSchedulerHook": "mmhooks.hooks.param_scheduler_hook",
    "PrepareTTAHook": "mmhooks.hooks.prepare_tta_hook",
    "ProfilerHook": "mmhooks.hooks.profiler_hook",
    "RuntimeInfoHook": "mmhooks.hooks.runtime_info_hook",
    "SyncBuffersHook": "mmhooks.hooks.sync_buffers_hook",
}

__all__ = sorted(["DATA_BATCH", "Hook", "import_all", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import every built-in hook so that each is registered in ``HOOKS``."""
    import_modules(sorted(set(_MODULES.values())))
