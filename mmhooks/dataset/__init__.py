"""Data loading as MMEngine configures it: datasets and their wrappers, samplers, collate functions, ``build_dataloader``."""

from __future__ import annotations

from mmhooks._lazy import import_modules, lazy_exports

_MODULES = {
    "BaseDataset": "mmhooks.dataset.base_dataset",
    "COLLATE_FUNCTIONS": "mmhooks.dataset.collate",
    "ClassBalancedDataset": "mmhooks.dataset.dataset_wrapper",
    "Compose": "mmhooks.dataset.base_dataset",
    "ConcatDataset": "mmhooks.dataset.dataset_wrapper",
    "RepeatDataset": "mmhooks.dataset.dataset_wrapper",
    "force_full_init": "mmhooks.dataset.base_dataset",
    "DefaultSampler": "mmhooks.dataset.samplers",
    "InfiniteSampler": "mmhooks.dataset.samplers",
    "SlicedDataset": "mmhooks.dataset.builder",
    "build_dataloader": "mmhooks.dataset.builder",
    "default_collate": "mmhooks.dataset.collate",
    "pseudo_collate": "mmhooks.dataset.collate",
    "sync_random_seed": "mmhooks.dataset.samplers",
    "worker_init_fn": "mmhooks.dataset.worker_init",
}

__all__ = sorted(["import_all", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import the samplers and collate functions so that they are registered."""
    import_modules(sorted(set(_MODULES.values())))
