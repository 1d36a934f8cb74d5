"""The legacy runners against recordings of a real MMCV 1.7.2 run (``golden/mmcv172_*.json``).

``golden/mmcv_oracle.py`` ran each scenario of ``golden/scenarios.py`` on MMCV's own ``EpochBasedRunner`` /
``IterBasedRunner`` with a recording hook at priority LOWEST. Here the same scenarios run on
:mod:`mmhooks.legacy`; every mount point must show the same counters, run lengths (``before_run``
included), ``data_loader``, ``data_batch``, ``outputs``, lr and momentum, and the run must leave the same
files, checkpoint counters and ``{timestamp}.log.json`` records (times excepted).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from mmhooks.legacy import EpochBasedRunner, IterBasedRunner, LegacyHook


def _load_scenarios() -> Any:
    """``golden/scenarios.py``, the definitions the MMCV recording used (shared, not copied)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("mmcv_golden_scenarios", Path(__file__).parent / "golden" /
                                                  "scenarios.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module

GOLDEN = Path(__file__).parent / "golden"
scenarios = _load_scenarios()
TIMES = ("time", "data_time")


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"mmcv172_{name}.json").read_text())
    assert data["mmcv_version"] == "1.7.2"
    return data


class Recorder(LegacyHook):
    """Notes what MMCV hooks can read at every mount point (``scenarios.RECORD``)."""


for _stage in scenarios.RECORDED_STAGES:
    def _method(self: Recorder, runner: Any, _stage: str = _stage) -> None:
        scenarios.RECORD(_stage, runner)

    setattr(Recorder, _stage, _method)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def run_scenario(name: str, work_dir: Path) -> dict[str, Any]:
    spec = scenarios.SCENARIOS[name]
    logger = logging.getLogger(f"mmcv_golden_{name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    lines = _Lines()
    logger.addHandler(lines)
    scenarios.ROWS.clear()
    model = scenarios.MMCVNet()
    loaders = scenarios.make_loaders(spec)
    scenarios.LOADERS[:] = loaders
    runner_cls = EpochBasedRunner if spec["runner"] == "EpochBasedRunner" else IterBasedRunner
    length = {"max_epochs": spec["max_epochs"]} if "max_epochs" in spec else {"max_iters": spec["max_iters"]}
    runner = runner_cls(model, optimizer=scenarios.make_optimizer(model, spec), work_dir=str(work_dir),
                        logger=logger, meta=spec.get("meta"), **length)
    runner.timestamp = "oracle"
    runner.register_training_hooks(**scenarios.hook_configs(spec))
    runner.register_hook(Recorder(), priority="LOWEST")
    runner.run(loaders, spec["workflow"])
    files = sorted(os.listdir(work_dir))
    scalars = scenarios.read_scalars(str(work_dir / "tf_logs")) if "tf_logs" in files else []
    log_path = work_dir / "oracle.log.json"
    records = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    checkpoints = {}
    for file in files:
        if file.endswith(".pth") and file != "latest.pth":
            meta = torch.load(work_dir / file, weights_only=False)["meta"]
            checkpoints[file] = {"epoch": meta["epoch"], "iter": meta["iter"]}
    logger.removeHandler(lines)
    return {"log_lines": [line for line in lines.lines if line.startswith(scenarios.LOGGED_LINE_STARTS)],
            "rows": list(scenarios.ROWS), "log_json": records, "scalars": scalars, "files": files, "checkpoints": checkpoints,
            "weights": [float(v) for v in model.fc.weight.detach().flatten()]}


def _masked(lines: list[str]) -> list[str]:
    import re

    return [re.sub(r"eta: [0-9:]+, time: [0-9.]+, data_time: [0-9.]+", "eta: <t>, time: <t>, data_time: <t>", line)
            for line in lines]


def _without_times(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: ("<time>" if k in TIMES else v) for k, v in record.items()} for record in records]


@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
def test_hook_view_and_files_match_mmcv_1_7_2(name: str, tmp_path: Path) -> None:
    want = golden(name)
    got = run_scenario(name, tmp_path)
    assert len(got["rows"]) == len(want["rows"])
    for mine, theirs in zip(got["rows"], want["rows"]):
        assert mine == theirs, f"at {theirs['stage']} (epoch {theirs['epoch']}, iter {theirs['iter']})"
    assert got["files"] == want["files"]
    assert got["checkpoints"] == want["checkpoints"]
    # record for record, keys in MMCV's order; the measured times differ by nature
    assert [list(r) for r in got["log_json"]] == [list(r) for r in want["log_json"]]
    assert _without_times(got["log_json"]) == _without_times(want["log_json"])
    assert _masked(got["log_lines"]) == _masked(want["log_lines"])  # TextLoggerHook's console lines
    # TensorboardLoggerHook: same tags, steps and values (times excepted)
    assert [s for s in got["scalars"] if not s[0].endswith(TIMES)] == [
        s for s in want["scalars"] if not s[0].endswith(TIMES)]
    assert [s[:2] for s in got["scalars"]] == [s[:2] for s in want["scalars"]]
    assert got["weights"] == pytest.approx(want["weights"], abs=2e-6)


def test_before_run_sees_the_run_length_for_self_sizing_hooks(tmp_path: Path) -> None:
    """Cyclic / OneCycle read max_iters in before_run; so does any user hook that sizes itself there."""
    rows = golden("epoch_cyclic")["rows"]
    assert rows[0]["stage"] == "before_run" and (rows[0]["max_epochs"], rows[0]["max_iters"]) == (3, 9)
    got = run_scenario("epoch_cyclic", tmp_path)["rows"][0]
    assert (got["max_epochs"], got["max_iters"], got["data_loader"]) == (3, 9, "absent")
