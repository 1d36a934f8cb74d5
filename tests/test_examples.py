"""The examples run end to end and leave the files README promises."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"mmhooks_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log_text(log_dir: str) -> str:
    (log_file,) = glob.glob(os.path.join(log_dir, "*.log"))
    return Path(log_file).read_text()


def test_quickstart_config_leaves_readme_files(tmp_path):
    from mmhooks.config import Config
    from mmhooks.runner import Runner

    cfg = Config.fromfile(str(EXAMPLES / "configs" / "quickstart.py"))
    cfg.merge_from_dict({
        "work_dir": str(tmp_path),
        "train_cfg.max_epochs": 2,
        "train_dataloader.dataset.num_samples": 64,
        "val_dataloader.dataset.num_samples": 32,
        "trainer": dict(enable_progress_bar=False),
    })
    runner = Runner.from_cfg(cfg)
    runner.train()

    work_dir = str(tmp_path)
    files = sorted(os.listdir(work_dir))
    assert {"epoch_1.pth", "epoch_2.pth", "last_checkpoint"} <= set(files)
    best = [f for f in files if re.fullmatch(r"best_accuracy_top1_epoch_[12]\.pth", f)]
    assert len(best) == 1
    assert Path(work_dir, "last_checkpoint").read_text().strip().endswith("epoch_2.pth")
    dumped = Path(work_dir, "quickstart.py").read_text()  # the config dump MMEngine leaves, under its own name
    assert "train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)" in dumped
    assert Path(work_dir, runner.timestamp, "vis_data", "config.py").read_text() == dumped

    checkpoint = torch.load(os.path.join(work_dir, "epoch_2.pth"), weights_only=False)
    assert (checkpoint["meta"]["epoch"], checkpoint["meta"]["iter"]) == (2, 8)
    state_keys = set(checkpoint["state_dict"])
    assert "head.weight" in state_keys and not any(k.startswith("mm_model.") for k in state_keys)
    assert "ema_state_dict" in checkpoint and "module.head.weight" in checkpoint["ema_state_dict"]

    log_dir = os.path.join(work_dir, runner.timestamp)
    text = log_text(log_dir)
    assert "Epoch(train) [2][4/4]" in text and "Epoch(val) [2][1/1]" in text and "accuracy/top1" in text
    vis_data = os.path.join(log_dir, "vis_data")
    records = [json.loads(line) for line in open(os.path.join(vis_data, "scalars.json"))]
    assert any("accuracy/top1" in r for r in records) and any("lr" in r for r in records)
    assert glob.glob(os.path.join(vis_data, "events.out.tfevents.*"))


def test_mmengine_runner_example(tmp_path):
    example = load_example("mmengine_runner")
    runner = example.main(work_dir=str(tmp_path), max_epochs=1)
    assert os.path.isfile(os.path.join(str(tmp_path), "epoch_1.pth"))
    text = log_text(os.path.join(str(tmp_path), runner.timestamp))
    assert re.search(r"Epoch\(val\) \[1\]\[4/4\]\s+accuracy: \d+\.\d+", text)
    assert "Epoch(train) [1][8/8]" in text


def test_lightning_dropin_example(tmp_path, monkeypatch, capsys):
    example = load_example("lightning_dropin")
    monkeypatch.setattr(example, "tempfile", types.SimpleNamespace(mkdtemp=lambda **kwargs: str(tmp_path)))
    example.main()
    assert str(tmp_path) in capsys.readouterr().out
    files = set(os.listdir(str(tmp_path)))
    assert {"epoch_1.pth", "epoch_2.pth", "epoch_3.pth", "last_checkpoint"} <= files
    assert any(re.fullmatch(r"best_loss_epoch_[123]\.pth", f) for f in files)
    checkpoint = torch.load(os.path.join(str(tmp_path), "epoch_3.pth"), weights_only=False)
    assert checkpoint["meta"]["epoch"] == 3 and "ema_state_dict" in checkpoint
    assert "layer.weight" in checkpoint["state_dict"]
    (log_dir,) = [d for d in files if os.path.isdir(os.path.join(str(tmp_path), d))]
    text = log_text(os.path.join(str(tmp_path), log_dir))
    assert "validated after epoch 3 (iteration 18)" in text


def test_mmcv_runner_example(tmp_path):
    example = load_example("mmcv_runner")
    example.main(work_dir=str(tmp_path), max_epochs=2)
    files = set(os.listdir(str(tmp_path)))
    assert {"epoch_1.pth", "epoch_2.pth", "latest.pth"} <= files  # MMCV's file set: no last_checkpoint
    checkpoint = torch.load(os.path.join(str(tmp_path), "epoch_2.pth"), weights_only=False)
    assert checkpoint["meta"]["epoch"] == 2


# ----------------------------------------------------------------------------- README's quick start, as a user runs it
REPO = EXAMPLES.parent
VAL_LINE = re.compile(r"Epoch\(val\) \[(\d+)\]\[\d+/\d+\]\s+accuracy/top1: (\d+\.\d+)")


def readme_commands() -> dict[str, list[str]]:
    """README's ``mmhooks train`` (the ci:main-job block, which CI runs) and ``mmhooks test`` commands, as argv."""
    lines = (REPO / "README.md").read_text().splitlines()
    block = lines[lines.index("<!-- ci:main-job -->") + 1:lines.index("<!-- /ci:main-job -->")]
    (main_job,) = [line for line in block if not line.startswith("```")]
    (test,) = [line for line in lines if line.startswith("mmhooks test ")]
    return {"train": shlex.split(main_job.split("&&")[-1]), "test": shlex.split(test)}


def run_readme_command(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mmhooks ARGS`` as ``python -m mmhooks ARGS`` (the same entry point) in ``cwd``."""
    assert argv[0] == "mmhooks"
    env = {k: v for k, v in os.environ.items() if k != "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"}
    return subprocess.run([sys.executable, "-m", "mmhooks", *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """README's main-job command, run in a copy of the repository's examples (it writes ./work_dirs)."""
    clone = tmp_path_factory.mktemp("clone")
    shutil.copytree(EXAMPLES, clone / "examples")
    return run_readme_command(readme_commands()["train"], clone), clone


@pytest.mark.slow
def test_readme_quick_start_learns(quickstart) -> None:
    result, _ = quickstart
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = {int(epoch): float(value) for epoch, value in VAL_LINE.findall(result.stdout + result.stderr)}
    assert sorted(accuracy) == [1, 2, 3, 4]  # the config's default: README's command does not shorten it
    # Chance is 25 %. EMA with momentum 0.01 validated near-initial weights: 26.6, 25.0, 60.9, 100.0.
    assert [epoch for epoch in (2, 3, 4) if accuracy[epoch] < 90.0] == [], accuracy


@pytest.mark.slow
def test_readme_quick_start_leaves_the_files_readme_lists(quickstart) -> None:
    _, clone = quickstart
    work_dir = clone / "work_dirs" / "quickstart"
    readme = (REPO / "README.md").read_text()
    for listed in ("epoch_4.pth", "best_accuracy_top1_epoch_", "last_checkpoint", "quickstart.py", "scalars.json"):
        assert listed in readme
    assert {"epoch_4.pth", "last_checkpoint", "quickstart.py"} <= {p.name for p in work_dir.iterdir()}
    assert len(list(work_dir.glob("best_accuracy_top1_epoch_*.pth"))) == 1
    (vis_data,) = work_dir.glob("*/vis_data")
    assert (vis_data / "scalars.json").is_file() and list(vis_data.glob("events.out.tfevents.*"))
    assert "tensorboard --logdir work_dirs" in readme


@pytest.mark.slow
def test_readme_test_command_tests_the_quick_start_checkpoint(quickstart) -> None:
    result, clone = quickstart
    assert result.returncode == 0
    tested = run_readme_command(readme_commands()["test"], clone)
    assert tested.returncode == 0, tested.stderr[-3000:]
    name, value = tested.stdout.splitlines()[-1].split(": ")
    assert name == "accuracy/top1" and float(value) >= 90.0  # a held-out set (seed 2), chance is 25 %
