"""Distributed helpers with ``mmengine.dist``'s names: ranks and groups, collectives, result collection.

Everything works in a single process too (rank 0 of 1, collectives are the
identity), so hooks and metrics call them unconditionally.
"""

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
from mmhooks.dist.utils import (
    barrier,
    cast_data_device,
    get_backend,
    get_comm_device,
    get_data_device,
    get_default_group,
    get_dist_info,
    get_local_group,
    get_local_rank,
    get_local_size,
    get_rank,
    get_world_size,
    infer_launcher,
    init_dist,
    init_local_group,
    is_distributed,
    is_main_process,
    master_only,
)

__all__ = ["all_gather", "all_gather_object", "all_reduce", "all_reduce_dict", "all_reduce_params", "barrier",
           "broadcast", "broadcast_object_list", "cast_data_device", "collect_results", "collect_results_cpu",
           "collect_results_gpu", "gather", "gather_object", "get_backend", "get_comm_device", "get_data_device",
           "get_default_group", "get_dist_info", "get_local_group", "get_local_rank", "get_local_size", "get_rank",
           "get_world_size", "infer_launcher", "init_dist", "init_local_group", "is_distributed", "is_main_process",
           "master_only", "sync_random_seed"]
