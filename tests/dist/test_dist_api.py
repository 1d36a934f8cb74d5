"""mmhooks.dist against mmengine.dist in one process, and with a one-process gloo group."""

from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as torch_dist

mm_dist = pytest.importorskip("mmengine.dist")

from mmhooks import dist  # noqa: E402


def test_every_mmengine_dist_name_is_provided():
    assert sorted(set(mm_dist.__all__) - set(dist.__all__)) == []


def _single_process_results(ns):
    tensor = torch.arange(4.0)
    ns.all_reduce(tensor, op="mean")
    ns.broadcast(tensor)
    data = {"a": torch.ones(2), "b": torch.zeros(1)}
    ns.all_reduce_dict(data)
    objects = [{"x": 1}]
    ns.broadcast_object_list(objects)
    return (ns.get_dist_info(), ns.get_rank(), ns.get_world_size(), ns.get_local_rank(), ns.get_local_size(),
            ns.is_main_process(), ns.is_distributed(), ns.get_backend(), tensor.tolist(),
            [t.tolist() for t in ns.all_gather(torch.ones(2))], [t.tolist() for t in ns.gather(torch.ones(2))],
            ns.all_gather_object({"k": 1}), ns.gather_object("o"), {k: v.tolist() for k, v in data.items()}, objects,
            ns.collect_results([3, 1, 2], 2), ns.collect_results([3, 1, 2], 5, device="gpu"),
            ns.collect_results_cpu([1], 1), ns.get_comm_device(), ns.get_data_device([torch.ones(1)]),
            ns.master_only(lambda: "ran")(), isinstance(ns.sync_random_seed(), int))


def test_single_process_behaviour_matches():
    assert not torch_dist.is_initialized()
    assert _single_process_results(dist) == _single_process_results(mm_dist)


def test_device_helpers_and_errors_match():
    data = {"a": torch.ones(1), "b": [torch.zeros(2)]}
    mine = dist.cast_data_device(data, torch.device("cpu"))
    theirs = mm_dist.cast_data_device(data, torch.device("cpu"))
    assert type(mine) is type(theirs) and mine.keys() == theirs.keys()
    out = torch.zeros(1)
    dist.cast_data_device(torch.ones(1), torch.device("cpu"), out=out)
    assert out.item() == 1.0
    for ns in (dist, mm_dist):
        with pytest.raises(TypeError):
            ns.cast_data_device(torch.ones(1), torch.device("cpu"), out=[torch.ones(1)])
        with pytest.raises(ValueError):
            ns.get_data_device([])
        with pytest.raises(TypeError):
            ns.get_data_device("text")
        with pytest.raises(NotImplementedError):
            ns.collect_results([1], 1, device="tpu")
        with pytest.raises(AssertionError):
            ns.broadcast_object_list("not a list")
        with pytest.raises(AssertionError):
            ns.all_reduce_dict("not a dict")
    for variable, launcher in (("WORLD_SIZE", "pytorch"), ("SLURM_NTASKS", "slurm"),
                               ("OMPI_COMM_WORLD_LOCAL_RANK", "mpi")):
        with pytest.MonkeyPatch.context() as patch:
            for name in ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_LOCAL_RANK"):
                patch.delenv(name, raising=False)
            assert dist.infer_launcher() == mm_dist.infer_launcher() == "none"
            patch.setenv(variable, "1")
            assert dist.infer_launcher() == mm_dist.infer_launcher() == launcher


def test_one_process_group_matches(tmp_path, monkeypatch):
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(29000 + os.getpid() % 1000))
    monkeypatch.chdir(tmp_path)
    torch_dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        for ns in (dist, mm_dist):
            tensor = torch.tensor([1.0, 3.0])
            ns.all_reduce(tensor, op="mean")
            assert tensor.tolist() == [1.0, 3.0]
            assert ns.get_backend() == "gloo" and ns.is_distributed()
            assert ns.all_gather_object(5) == [5]
            assert ns.collect_results([1, 2], 2, tmpdir=str(tmp_path / ns.__name__)) == [1, 2]
        assert dist.get_local_rank() == 0  # MMEngine raises here until init_local_group is called
    finally:
        torch_dist.destroy_process_group()
