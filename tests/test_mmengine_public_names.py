"""MMEngine's public names that mmhooks provides, checked against mmengine-lite's modules and behaviour.

The names each ``mmengine.<module>`` exports are either provided by
``mmhooks.<module>`` or listed in ``NOT_PROVIDED`` with the reason (README's
"MMEngine API coverage" table says the same).
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch

mmengine = pytest.importorskip("mmengine")

# mmengine module -> names mmhooks does not provide (README "MMEngine API coverage" gives the reasons).
NOT_PROVIDED = {
    "runner": {"FlexibleRunner"},
    "device": {"get_max_musa_memory"},
    "fileio": {"BaseFileHandler", "JsonHandler", "PickleHandler", "YamlHandler", "register_handler",
               "generate_presigned_url"},
    "utils": {"ManagerMeta", "ProgressBar", "call_command", "deprecated_function", "fopen", "get_git_hash",
              "get_installed_path", "install_package", "track_iter_progress", "track_parallel_progress",
              "track_progress", "track_progress_rich"},
}
MODULES = ["config", "dataset", "device", "dist", "evaluator", "fileio", "hooks", "logging", "model", "optim",
           "optim.scheduler", "registry", "runner", "structures", "testing", "utils", "visualization"]


@pytest.mark.parametrize("module", MODULES)
def test_mmengine_exports_are_provided_or_listed(module):
    theirs = importlib.import_module(f"mmengine.{module}")
    mine = importlib.import_module(f"mmhooks.{module}")
    missing = {name for name in theirs.__all__ if not _provides(mine, name)}
    assert missing == NOT_PROVIDED.get(module, set())
    assert not NOT_PROVIDED.get(module, set()) & set(getattr(mine, "__all__", ())), "listed but exported"


def _provides(module, name):
    try:
        getattr(module, name)
    except (AttributeError, ImportError):
        return False
    return True


def test_top_level_exports_cover_mmengines_except_submodule_gaps():
    import mmhooks

    import types

    skipped = set().union(*NOT_PROVIDED.values()) | {"version", "version_info"}
    public = {name for name in dir(mmengine) if not name.startswith("_")
              and not isinstance(getattr(mmengine, name), types.ModuleType)}
    assert len(public) > 100
    assert {name for name in public - skipped if not _provides(mmhooks, name)} == set()
    code = "import sys, mmhooks; from mmhooks import Config, MODELS, print_log; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", "import sys, mmhooks; print('torch' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"  # `import mmhooks` stays light
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).returncode == 0


def test_module_paths_mmengine_code_imports():
    from mmengine.optim.optimizer import builder as mm_builder

    from mmhooks.dataset import utils as dataset_utils
    from mmhooks.optim.optimizer import builder
    from mmhooks.registry import root

    assert root.MODELS is importlib.import_module("mmhooks.registry").MODELS
    from mmhooks.dist import dist as dist_module
    from mmhooks.dist import utils as dist_utils

    assert dist_module.sync_random_seed is importlib.import_module("mmhooks.dist").sync_random_seed
    assert dist_utils.get_rank is importlib.import_module("mmhooks.dist").get_rank
    assert dataset_utils.pseudo_collate is importlib.import_module("mmhooks.dataset").pseudo_collate
    for name in ("BITSANDBYTES_OPTIMIZERS", "DADAPTATION_OPTIMIZERS", "LION_OPTIMIZERS", "TRANSFORMERS_OPTIMIZERS",
                 "SOPHIA_OPTIMIZERS"):
        assert getattr(builder, name) == getattr(mm_builder, name), name  # the same optional packages here
    from mmhooks.config.lazy import LazyObject

    assert LazyObject is importlib.import_module("mmengine.config.lazy").LazyObject
    from mmhooks.config import read_base

    with read_base():
        pass


def test_hook_level_names_match_mmengine():
    from mmengine.hooks import PrepareTTAHook as MMPrepareTTAHook
    from mmengine.hooks.profiler_hook import check_kineto as mm_check_kineto
    from mmengine.logging import HistoryBuffer as MMHistoryBuffer

    from mmhooks.hooks import NPUProfilerHook, PrepareTTAHook
    from mmhooks.hooks.profiler_hook import check_kineto
    from mmhooks.logging import HistoryBuffer

    assert check_kineto() == mm_check_kineto()
    tta_cfg = {"type": "ToyTTAModel"}
    assert PrepareTTAHook(tta_cfg).tta_cfg is MMPrepareTTAHook(tta_cfg).tta_cfg is tta_cfg
    mine, theirs = HistoryBuffer([1, 2, 3], [1, 1, 2]), MMHistoryBuffer([1, 2, 3], [1, 1, 2])
    assert np.array_equal(mine._log_history, theirs._log_history)
    assert np.array_equal(mine._count_history, theirs._count_history)
    with pytest.raises(ImportError, match="ProfilerHook"):
        NPUProfilerHook()


def test_checkpoint_hook_file_backends_match_mmengine(tmp_path):
    from unittest.mock import MagicMock

    from mmengine.hooks import CheckpointHook as MMCheckpointHook

    from mmhooks.hooks import CheckpointHook

    runner = MagicMock()
    runner.work_dir = str(tmp_path)
    runner.message_hub.runtime_info = {}
    results = []
    for cls, kwargs in ((CheckpointHook, {}), (MMCheckpointHook, {}), (CheckpointHook, {"file_client_args":
                        {"backend": "disk"}}), (MMCheckpointHook, {"file_client_args": {"backend": "disk"}})):
        hook = cls(interval=1, **kwargs)
        hook.before_train(runner)
        results.append((type(hook.file_client).__name__, type(hook.file_backend).__name__,
                        hook.file_backend is hook.file_client))
    assert results[0] == results[1] and results[2] == results[3]


@pytest.mark.slow
def test_multi_process_test_case_runs_each_rank_and_reports_failures(tmp_path):
    test_file = tmp_path / "test_ranks.py"
    test_file.write_text(
        "import os\n"
        "import torch, torch.distributed as dist\n"
        "from mmhooks.testing._internal import MultiProcessTestCase\n"
        "class TestRanks(MultiProcessTestCase):\n"
        "    def setUp(self):\n"
        "        super().setUp()\n"
        "        self._spawn_processes()\n"
        "    def test_all_reduce(self):\n"
        "        os.environ['MASTER_ADDR'] = '127.0.0.1'\n"
        f"        os.environ['MASTER_PORT'] = '{29000 + (hash(str(tmp_path)) % 900)}'\n"
        "        dist.init_process_group('gloo', rank=self.rank, world_size=self.world_size)\n"
        "        value = torch.tensor([float(self.rank + 1)])\n"
        "        dist.all_reduce(value)\n"
        "        assert value.item() == 3.0\n"
        "    def test_fails_on_rank_one(self):\n"
        "        assert self.rank == 0, 'rank one fails'\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert "1 failed, 1 passed" in result.stdout, result.stdout[-2000:]
    assert "rank one fails" in result.stdout


def test_profiler_hook_trace_helpers_match_mmengine(tmp_path):
    """MMEngine's tests call these two private helpers; a profiler left running used to crash the process at exit."""
    import os
    from unittest.mock import MagicMock

    from mmengine.hooks import ProfilerHook as MMProfilerHook
    from mmengine.logging import MMLogger as MMEngineLogger

    from mmhooks.hooks import ProfilerHook
    from mmhooks.logging import MMLogger

    for cls, logger in ((ProfilerHook, MMLogger.get_instance("mmtests_prof")),
                        (MMProfilerHook, MMEngineLogger.get_instance("mmtests_prof_mm"))):
        runner = MagicMock()
        runner.max_epochs = 10
        runner.logger = logger
        path = tmp_path / f"{cls.__module__.split('.')[0]}.json"
        hook = cls(json_trace_path=str(path))
        hook.before_run(runner)
        hook._export_chrome_trace(runner)
        assert os.path.isfile(path)
        hook.on_trace_ready = dict(type="unknown")
        with pytest.raises(ValueError):
            hook._parse_trace_config(runner)
        hook.on_trace_ready = dict(type="log_trace", row_limit=5)
        assert callable(hook._parse_trace_config(runner))


@pytest.mark.parametrize("cuda, local_rank, visible", [(False, None, "0,1,2,3"), (False, "1", "0,100,2,3"),
                                                       (True, None, "0,1,2,3"), (True, "2", "0,1,3,5")])
def test_log_file_device_id_matches_mmengine(monkeypatch, cuda, local_rank, visible):
    from mmengine.logging.logger import _get_device_id as mm_get_device_id

    from mmhooks.logging.logger import _get_device_id

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    if local_rank is None:
        monkeypatch.delenv("LOCAL_RANK", raising=False)
    else:
        monkeypatch.setenv("LOCAL_RANK", local_rank)
    assert _get_device_id() == mm_get_device_id()
