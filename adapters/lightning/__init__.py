"""The Lightning backend: MMEngine hooks as a Lightning Callback, and the config -> Trainer mapping."""

from __future__ import annotations

from mmhooks._lazy import lazy_exports

_MODULES = {
    "HookCallback": "mmhooks.adapters.lightning.hook_callback",
    "LightningRunner": "mmhooks.adapters.lightning.runner_facade",
    "MMModelModule": "mmhooks.adapters.lightning.model_module",
    "trainer_kwargs": "mmhooks.adapters.lightning.trainer_args",
}

__all__ = sorted(_MODULES)
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
