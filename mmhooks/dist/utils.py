"""``mmengine.dist.utils``' module path: the rank, group and device helpers of :mod:`mmhooks.dist`."""

from __future__ import annotations

from mmhooks.dist import (
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

__all__ = ["barrier", "cast_data_device", "get_backend", "get_comm_device", "get_data_device", "get_default_group",
           "get_dist_info", "get_local_group", "get_local_rank", "get_local_size", "get_rank", "get_world_size",
           "infer_launcher", "init_dist", "init_local_group", "is_distributed", "is_main_process", "master_only"]
