"""Record what a real MMCV 1.7.2 runner shows its hooks and writes, as golden files for the legacy tests.

Run with an environment that has ``mmcv==1.7.2`` (pure Python, ``MMCV_WITH_OPS=0``) and torch::

    python tests/legacy/golden/mmcv_oracle.py     # rewrites tests/legacy/golden/mmcv172_*.json

The scenarios (model, data, configs) are defined in :mod:`scenarios` next to this file and are shared
with the tests, which run the same scenarios on :mod:`mmhooks.legacy` and compare. MMCV's
``time.sleep`` pauses are skipped; nothing else is changed. ``torchvision`` (imported by
``mmcv.runner.checkpoint`` only for model-zoo URLs) is stubbed when it is not installed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _stub_torchvision() -> None:
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - torchvision wheels may not load with this torch
        stub = types.ModuleType("torchvision")
        stub.models = types.ModuleType("torchvision.models")  # type: ignore[attr-defined]
        stub.__version__ = "0"  # type: ignore[attr-defined]
        sys.modules["torchvision"] = stub
        sys.modules["torchvision.models"] = stub.models  # type: ignore[attr-defined]


class _ListHandler(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def run_scenario(name: str) -> dict[str, Any]:
    import time

    import mmcv.runner as mmcv_runner
    from mmcv.runner import HOOKS, Hook

    sys.path.insert(0, str(HERE))
    import scenarios

    spec = scenarios.SCENARIOS[name]
    time.sleep = lambda seconds: None  # MMCV pauses 1-2 s around epochs; values do not depend on it

    class Recorder(Hook):
        pass

    for stage in scenarios.RECORDED_STAGES:
        def method(self: Any, runner: Any, _stage: str = stage) -> None:
            scenarios.RECORD(_stage, runner)
        setattr(Recorder, stage, method)

    scenarios.ROWS.clear()
    model = scenarios.MMCVNet()
    optimizer = scenarios.make_optimizer(model, spec)
    loaders = scenarios.make_loaders(spec)
    scenarios.LOADERS[:] = loaders
    logger = logging.getLogger("oracle")
    logger.setLevel(logging.INFO)
    lines: list[str] = []
    handler = _ListHandler(lines)
    logger.addHandler(handler)
    with tempfile.TemporaryDirectory() as work_dir:
        runner_cls = getattr(mmcv_runner, spec["runner"])
        kwargs = {"max_epochs": spec["max_epochs"]} if "max_epochs" in spec else {"max_iters": spec["max_iters"]}
        runner = runner_cls(model, optimizer=optimizer, work_dir=work_dir, logger=logger,
                            meta=spec.get("meta"), **kwargs)
        runner.timestamp = "oracle"
        runner.register_training_hooks(**scenarios.hook_configs(spec))
        runner.register_hook(Recorder(), priority="LOWEST")
        runner.run(loaders, spec["workflow"])
        files = sorted(os.listdir(work_dir))
        scalars = scenarios.read_scalars(os.path.join(work_dir, "tf_logs")) if "tf_logs" in files else []
        log_json = []
        if "oracle.log.json" in files:
            with open(os.path.join(work_dir, "oracle.log.json")) as handle:
                log_json = [json.loads(line) for line in handle if line.strip()]
        checkpoints = {}
        import torch

        for file in files:
            if file.endswith(".pth") and file != "latest.pth":
                meta = torch.load(os.path.join(work_dir, file), weights_only=False)["meta"]
                checkpoints[file] = {"epoch": meta["epoch"], "iter": meta["iter"]}
    del HOOKS  # registry imported to make sure the hooks are registered
    logger.removeHandler(handler)
    return {"log_lines": [line for line in lines if line.startswith(scenarios.LOGGED_LINE_STARTS)],"mmcv_version": __import__("mmcv").__version__, "scenario": name, "rows": list(scenarios.ROWS),
            "log_json": log_json, "files": files, "scalars": scalars, "checkpoints": checkpoints,
            "weights": [round(float(v), 6) for v in model.fc.weight.detach().flatten()]}


def main() -> None:
    _stub_torchvision()
    sys.path.insert(0, str(HERE))
    import scenarios

    for name in scenarios.SCENARIOS:
        result = run_scenario(name)
        (HERE / f"mmcv172_{name}.json").write_text(json.dumps(result, indent=1) + "\n")
        print(f"{name}: {len(result['rows'])} hook rows, {len(result['log_json'])} log.json records")


if __name__ == "__main__":
    main()
