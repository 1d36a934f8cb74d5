"""``mmengine.dist.dist``' module path: the collectives of :mod:`mmhooks.dist`."""

from __future__ import annotations

from mmhooks.dist.collectives import (
    all_gather,
    all_gather_object,
    all_reduce,
    all_reduce_dict,
    all_reduce_params,
    broadcast,
    broadcast_object_list,
    collect_results,
    collect_results_cpu,
    collect_results_gpu,
    gather,
    gather_object,
    sync_random_seed,
)

__all__ = ["all_gather", "all_gather_object", "all_reduce", "all_reduce_dict", "all_reduce_params", "broadcast",
           "broadcast_object_list", "collect_results", "collect_results_cpu", "collect_results_gpu", "gather",
           "gather_object", "sync_random_seed"]
