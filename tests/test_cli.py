"""The ``mmhooks`` command line, run as a user runs it: ``python -m mmhooks ...`` in a subprocess.

Every run is two batches of 4x4 images per epoch, so the whole file stays
within a few seconds per command (most of it is importing torch and Lightning).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from mmhooks.cli import main
from mmhooks.config import Config
from mmhooks.errors import ConfigError
from mmhooks.runner.checkpoint import load_checkpoint_file

TINY_CONFIG = """
custom_imports = dict(imports=["mmhooks.testing.examples"], allow_failed_imports=False)
_data = dict(type="SyntheticImages", size=4, num_classes=2)
_loader = dict(batch_size=4, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
               collate_fn=dict(type="default_collate"))
model = dict(type="SmallCNN", num_classes=2, width=4)
train_dataloader = dict(_loader, dataset=dict(_data, num_samples=8))
val_dataloader = dict(_loader, dataset=dict(_data, num_samples=4, seed=1))
test_dataloader = val_dataloader
val_evaluator = dict(type="TopOneAccuracy")
test_evaluator = val_evaluator
train_cfg = dict(by_epoch=True, max_epochs=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9))
param_scheduler = [dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(type="LoggerHook", interval=1), checkpoint=dict(type="CheckpointHook", interval=1))
randomness = dict(seed=0)
trainer = dict(enable_progress_bar=False, enable_model_summary=False)
"""

EXPLODING_HOOK = """
from mmhooks.hooks import Hook
from mmhooks.registry import HOOKS


@HOOKS.register_module()
class ExplodeHook(Hook):
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        raise RuntimeError(f"boom at iter {runner.iter}")
"""

TRAIN_LINE = re.compile(r"Epoch\(train\) \[(\d+)\]\[(\d+)/\d+\]")


def mmhooks(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mmhooks ARGS`` in ``cwd`` (which is also on the import path, for custom_imports)."""
    env = dict(os.environ)
    env.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)  # the CLI must load its own checkpoints without it
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "mmhooks", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def trained(result: subprocess.CompletedProcess[str]) -> list[tuple[int, int]]:
    """(epoch, batch) of every training log line of a run."""
    return [(int(e), int(b)) for e, b in TRAIN_LINE.findall(result.stdout + result.stderr)]


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the tiny config, a config adding a hook that raises, and an MMCV 1.x config."""
    root = tmp_path_factory.mktemp("cli")
    (root / "tiny.py").write_text(TINY_CONFIG)
    (root / "explode_hook.py").write_text(EXPLODING_HOOK)
    (root / "explode.py").write_text(textwrap.dedent("""
        _base_ = ["./tiny.py"]
        custom_imports = dict(imports=["mmhooks.testing.examples", "explode_hook"], allow_failed_imports=False)
        custom_hooks = [dict(type="ExplodeHook")]
    """))
    (root / "broken.py").write_text("train_cfg = dict(max_epochs=1\n")
    return root


@pytest.fixture(scope="module")
def two_epochs(project: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``mmhooks train tiny.py --work-dir run --cfg-options train_cfg.max_epochs=2``."""
    result = mmhooks("train", "tiny.py", "--work-dir", "run", "--cfg-options", "train_cfg.max_epochs=2",
                     cwd=project)
    return result, project / "run"


@pytest.mark.slow
def test_help_answers_without_importing_torch_or_lightning(project: Path) -> None:
    script = textwrap.dedent("""
        import runpy, sys
        sys.argv = ["mmhooks", "--help"]
        try:
            runpy.run_module("mmhooks", run_name="__main__")
        except SystemExit as stop:
            code = stop.code
        heavy = sorted({name.split(".")[0] for name in sys.modules} & {"torch", "lightning", "pytorch_lightning"})
        print("HEAVY", heavy, "EXIT", code)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "HEAVY [] EXIT 0"
    assert result.stdout.startswith("usage: mmhooks")
    for command in ("train", "test", "migrate", "plot-schedule"):
        assert command in result.stdout


@pytest.mark.slow
def test_train_with_work_dir_and_cfg_options_leaves_checkpoints(two_epochs) -> None:
    result, work_dir = two_epochs
    assert result.returncode == 0, result.stderr
    assert trained(result) == [(1, 1), (1, 2), (2, 1), (2, 2)]  # the --cfg-options value won over the file's 1
    assert {"epoch_1.pth", "epoch_2.pth", "last_checkpoint"} <= {p.name for p in work_dir.iterdir()}
    assert load_checkpoint_file(work_dir / "epoch_2.pth")["meta"]["epoch"] == 2


@pytest.mark.slow
def test_train_ends_by_saying_where_everything_went(two_epochs) -> None:
    result, work_dir = two_epochs
    tail = result.stdout[result.stdout.index("Finished."):]
    assert f"work_dir: {work_dir}" in tail
    assert f"last checkpoint: {work_dir / 'epoch_2.pth'}" in tail
    log_lines = [line for line in tail.splitlines() if "log: " in line]
    assert len(log_lines) == 1 and os.path.isfile(log_lines[0].split("log: ", 1)[1])


@pytest.fixture(scope="module")
def resumed(project: Path, two_epochs) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    """``--resume`` (from last_checkpoint) to epoch 3, and ``--resume epoch_1.pth`` to epoch 2 in a new work_dir."""
    _, work_dir = two_epochs
    auto_dir = project / "resume_auto"
    shutil.copytree(work_dir, auto_dir)
    auto = mmhooks("train", "tiny.py", "--work-dir", "resume_auto", "--resume",
                   "--cfg-options", "train_cfg.max_epochs=3", cwd=project)
    explicit = mmhooks("train", "tiny.py", "--work-dir", "resume_explicit", "--cfg-options", "train_cfg.max_epochs=2",
                       "--resume", str(work_dir / "epoch_1.pth"), cwd=project)
    return {"auto": (auto, auto_dir), "explicit": (explicit, project / "resume_explicit")}


@pytest.mark.slow
@pytest.mark.parametrize("how, batches", [("auto", [(3, 1), (3, 2)]), ("explicit", [(2, 1), (2, 2)])],
                         ids=["resume-last-checkpoint", "resume-given-checkpoint"])
def test_resume_continues_after_the_checkpoint(resumed, how: str, batches: list[tuple[int, int]]) -> None:
    result, _ = resumed[how]
    assert result.returncode == 0, result.stderr
    assert trained(result) == batches


@pytest.mark.slow
@pytest.mark.parametrize("how, epoch", [("auto", 3), ("explicit", 2)],
                         ids=["resume-last-checkpoint", "resume-given-checkpoint"])
def test_resume_saves_the_next_epoch_checkpoint(resumed, how: str, epoch: int) -> None:
    _, work_dir = resumed[how]
    checkpoint = load_checkpoint_file(work_dir / f"epoch_{epoch}.pth")
    assert (checkpoint["meta"]["epoch"], checkpoint["meta"]["iter"]) == (epoch, 2 * epoch)
    assert Path((work_dir / "last_checkpoint").read_text().strip()).name == f"epoch_{epoch}.pth"


@pytest.mark.slow
def test_test_command_prints_metrics(project: Path, two_epochs) -> None:
    _, work_dir = two_epochs
    result = mmhooks("test", "tiny.py", str(work_dir / "epoch_2.pth"), "--work-dir", "test_run", cwd=project)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"accuracy/top1: \d+\.\d+", result.stdout.splitlines()[-1])


@pytest.mark.slow
def test_migrate_writes_an_mmengine_config(project: Path) -> None:
    (project / "old.py").write_text(textwrap.dedent("""
        model = dict(type="SmallCNN", num_classes=2, width=4)
        optimizer = dict(type="SGD", lr=0.1, momentum=0.9)
        optimizer_config = dict(grad_clip=None)
        lr_config = dict(policy="step", step=[1])
        runner = dict(type="EpochBasedRunner", max_epochs=2)
        checkpoint_config = dict(interval=1)
        log_config = dict(interval=5, hooks=[dict(type="TextLoggerHook")])
    """))
    result = mmhooks("migrate", "old.py", "-o", "new.py", cwd=project)
    assert result.returncode == 0, result.stderr
    new = Config.fromfile(project / "new.py").to_dict()
    assert new["train_cfg"] == dict(by_epoch=True, max_epochs=2)
    assert new["optim_wrapper"]["optimizer"] == dict(type="SGD", lr=0.1, momentum=0.9)
    assert new["param_scheduler"] == [dict(type="MultiStepLR", milestones=[1], gamma=0.1, by_epoch=True)]
    assert new["default_hooks"]["checkpoint"] == dict(type="CheckpointHook", interval=1)


@pytest.mark.slow
def test_plot_schedule_prints_a_table(project: Path) -> None:
    result = mmhooks("plot-schedule", "tiny.py", "--cfg-options", "train_cfg.max_epochs=2", cwd=project)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.strip().splitlines()]
    assert rows[0] == ["iter", "epoch", "lr", "momentum"]
    # LinearLR from 0.5 x 0.1 to 0.1 over two iterations, then flat; two batches per epoch.
    assert [(int(i), int(e), float(lr)) for i, e, lr, _ in rows[1:]] == [
        (0, 0, 0.05), (1, 0, 0.1), (2, 1, 0.1), (3, 1, 0.1)]


@pytest.mark.slow
def test_bad_config_exits_2_with_one_error_line(project: Path) -> None:
    result = mmhooks("train", "tiny.py", "--work-dir", "bad", "--cfg-options", "train_cfg.max_iters=3", cwd=project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: train_cfg.max_epochs: got {'max_epochs': 1, 'max_iters': 3}; expected exactly one of max_epochs or "
        "max_iters. Fix: set max_epochs=N for epoch-based or max_iters=N for iteration-based training."]
    assert not (project / "bad").exists()


# The same front door in-process (each subprocess costs seconds of torch import): exit code and the one line.
BAD_COMMANDS = {
    "cfg-option-without-value": (["train", "tiny.py", "--cfg-options", "train_cfg.max_epochs"],
                                 "error: train_cfg.max_epochs: got 'train_cfg.max_epochs'; expected a --cfg-options "
                                 "item of the form KEY=VALUE. Fix: write the value after an '=', e.g. "
                                 "'train_cfg.max_epochs=1'."),
    "config-syntax-error": (["plot-schedule", "broken.py"], "error: {root}/broken.py:1: got 'train_cfg = "
                            "dict(max_epochs=1'; expected valid Python ('(' was never closed). Fix: correct the "
                            "syntax at line 1, column 17."),
    "missing-config-file": (["test", "absent.py", "x.pth"], "error: absent.py: got 'absent.py'; expected an "
                            "existing config file. Fix: check the path; it resolves to '{root}/absent.py', which "
                            "does not exist."),
    "missing-checkpoint": (["test", "tiny.py", "absent.pth", "--work-dir", "bad"],
                           "error: load_from: got 'absent.pth'; expected an existing checkpoint file. Fix: check the "
                           "path (a relative path is relative to the current directory)."),
}


@pytest.mark.parametrize("args, expected", list(BAD_COMMANDS.values()), ids=list(BAD_COMMANDS))
def test_bad_input_exits_2_with_one_error_line(project: Path, args: list[str], expected: str, capsys,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    assert main(args) == 2
    assert capsys.readouterr().err.splitlines()[-1:] == [expected.replace("{root}", str(project))]
    assert "Traceback" not in capsys.readouterr().err


def test_debug_reraises_for_the_traceback(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    with pytest.raises(ConfigError, match=r"^train_cfg\.max_epochs: got 'train_cfg\.max_epochs'; expected a "):
        main(["--debug", "train", "tiny.py", "--cfg-options", "train_cfg.max_epochs"])


@pytest.mark.slow
def test_failure_during_the_run_exits_1_without_traceback(project: Path) -> None:
    result = mmhooks("train", "explode.py", "--work-dir", "explode_run", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert error_lines(result) == ["error: HookError: ExplodeHook.after_train_iter raised RuntimeError: boom at iter 0"]


# ----------------------------------------------------------------------------- help text
@pytest.mark.parametrize("command", ["train", "test"])
def test_every_argument_of_the_subcommand_has_help(command: str) -> None:
    from mmhooks.cli import build_parser

    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    arguments = [a for a in commands.choices[command]._actions
                 if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]
    assert arguments
    undocumented = [a.dest for a in arguments if not (a.help and a.help.strip())]
    assert undocumented == []


@pytest.mark.slow
def test_test_help_documents_config_and_checkpoint(project: Path) -> None:
    result = mmhooks("test", "-h", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in ("config", "checkpoint", "--work-dir DIR", "--cfg-options KEY=VALUE"):
        (index,) = [i for i, line in enumerate(lines) if line.startswith(f"  {name} ")]  # its entry, not usage
        explained = lines[index][len(name) + 2:].strip() or lines[index + 1].strip()
        assert len(explained) > 10, f"{name!r} has no help text in:\n{result.stdout}"
    assert "  mmhooks test examples/configs/quickstart.py " in result.stdout


# ----------------------------------------------------------------------------- errors before torch
WITHOUT = textwrap.dedent("""
    # python -m mmhooks ARGS, as if the packages in MMHOOKS_TEST_HIDE were not installed;
    # the last line says whether torch was imported.
    import os, runpy, sys
    for name in filter(None, os.environ.get("MMHOOKS_TEST_HIDE", "").split(",")):
        sys.modules[name] = None
    sys.argv = ["mmhooks", *sys.argv[1:]]
    try:
        runpy.run_module("mmhooks", run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        print("EXIT", stop.code, "TORCH", "torch" in sys.modules)
""")


def mmhooks_without(*args: str, cwd: Path, hide: Sequence[str] = ()) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m mmhooks ARGS`` with ``hide`` uninstallable, and its wall time in seconds."""
    env = dict(os.environ, MMHOOKS_TEST_HIDE=",".join(hide))
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), env.get("PYTHONPATH", "")])
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", WITHOUT, *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=120)
    return result, time.perf_counter() - start


EARLY_ERRORS = {
    "missing-config-file": (["train", "absent.py"], "error: absent.py: got 'absent.py'; expected an existing "
                            "config file."),
    "missing-config-file-test": (["test", "absent.py", "x.pth"], "error: absent.py: got 'absent.py'; expected an "
                                 "existing config file."),
    "config-syntax-error": (["train", "broken.py"], "error: {root}/broken.py:1: got 'train_cfg = dict(max_epochs=1'"),
    "cfg-option-without-value": (["train", "tiny.py", "--cfg-options", "train_cfg.max_epochs"],
                                 "error: train_cfg.max_epochs: got 'train_cfg.max_epochs'; expected a --cfg-options "
                                 "item of the form KEY=VALUE."),
    "missing-checkpoint": (["test", "tiny.py", "absent.pth", "--work-dir", "early"],
                           "error: load_from: got 'absent.pth'; expected an existing checkpoint file."),
    "missing-resume-checkpoint": (["train", "tiny.py", "--work-dir", "early", "--resume", "absent.pth"],
                                  "error: resume: got 'absent.pth'; expected an existing checkpoint file."),
}


@pytest.fixture(scope="module")
def no_test_set(project: Path) -> Path:
    """A config without test_dataloader, test_evaluator and test_cfg, and a file to pass as its checkpoint."""
    (project / "no_test_set.py").write_text(textwrap.dedent("""
        _base_ = ["./tiny.py"]
        test_dataloader = None
        test_evaluator = None
        test_cfg = None
    """))
    (project / "weights.pth").write_bytes(b"not read: the config is refused first")
    return project / "no_test_set.py"


EARLY_ERRORS["test-without-test-set"] = (
    ["test", "no_test_set.py", "weights.pth", "--work-dir", "early"],
    "error: test_dataloader: got None; expected a test set to run 'mmhooks test' on (test_dataloader, "
    "test_evaluator and test_cfg). Fix: add them to the config; to test on the validation set write "
    "test_dataloader = val_dataloader, test_evaluator = val_evaluator, test_cfg = dict().")


@pytest.mark.slow
@pytest.mark.parametrize("args, expected", list(EARLY_ERRORS.values()), ids=list(EARLY_ERRORS))
def test_errors_that_need_no_torch_come_before_importing_it(project: Path, no_test_set: Path, args: list[str],
                                                            expected: str) -> None:
    result, seconds = mmhooks_without(*args, cwd=project)
    assert result.stdout.splitlines()[-1] == "EXIT 2 TORCH False", result.stderr
    (line,) = error_lines(result)
    assert line.startswith(expected.replace("{root}", str(project)))
    assert not (project / "early").exists()
    assert seconds < 1.0  # seconds of torch and Lightning imports before the answer, until now


# ----------------------------------------------------------------------------- missing optional packages
@pytest.fixture(scope="module")
def without_tensorboard(project: Path) -> subprocess.CompletedProcess[str]:
    """Train a config that logs to TensorBoard (and names mmdet as its scope) with neither package installed."""
    (project / "tensorboard_cfg.py").write_text(textwrap.dedent("""
        _base_ = ["./tiny.py"]
        default_scope = "mmdet"
        visualizer = dict(type="Visualizer",
                          vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")])
    """))
    result, _ = mmhooks_without("train", "tensorboard_cfg.py", "--work-dir", "no_tensorboard", cwd=project,
                                hide=["tensorboard", "mmdet"])
    return result


@pytest.mark.slow
def test_missing_tensorboard_fails_first_with_the_install_command(project: Path, without_tensorboard) -> None:
    assert without_tensorboard.stdout.splitlines()[-1] == "EXIT 2 TORCH False"
    assert error_lines(without_tensorboard) == [
        "error: visualizer.vis_backends[1].type: got 'TensorboardVisBackend'; expected a backend whose package is "
        "installed (TensorboardVisBackend needs 'tensorboard'). Fix: pip install tensorboard, or remove it from "
        "visualizer.vis_backends."]
    assert not (project / "no_tensorboard").exists()  # before: the log and the config dump were already written


@pytest.mark.slow
def test_missing_scope_package_warns_with_the_install_command(without_tensorboard) -> None:
    # MMEngine also warns (and goes on) when the default_scope's package does not import.
    assert without_tensorboard.stderr.splitlines()[0] == (
        "warning: default_scope: 'mmdet' is not installed, so the classes it registers cannot be built. "
        "Fix: pip install mmdet (or mim install mmdet).")


NEEDS_OPENCV_HOOK = """
from mmhooks.hooks import Hook
from mmhooks.registry import HOOKS


@HOOKS.register_module()
class DrawHook(Hook):
    def before_train(self, runner):
        import cv2  # an optional package that only this hook needs
"""


@pytest.mark.slow
def test_package_missing_during_the_run_gets_the_install_command(project: Path) -> None:
    (project / "draw_hook.py").write_text(NEEDS_OPENCV_HOOK)
    (project / "draw.py").write_text(textwrap.dedent("""
        _base_ = ["./tiny.py"]
        custom_imports = dict(imports=["mmhooks.testing.examples", "draw_hook"], allow_failed_imports=False)
        custom_hooks = [dict(type="DrawHook")]
    """))
    result, _ = mmhooks_without("train", "draw.py", "--work-dir", "draw_run", cwd=project, hide=["cv2"])
    assert result.stdout.splitlines()[-1] == "EXIT 1 TORCH True"
    assert error_lines(result) == [
        "error: HookError: DrawHook.before_train raised ModuleNotFoundError: import of cv2 halted; None in "
        "sys.modules. Fix: install the package that provides 'cv2': pip install opencv-python-headless"]


GC_PROBE = """
import gc

from mmhooks.hooks import Hook
from mmhooks.registry import HOOKS

STATES = [("imported", gc.isenabled())]


@HOOKS.register_module()
class GcProbeHook(Hook):
    def before_run(self, runner):
        STATES.append(("before_run", gc.isenabled()))

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        STATES.append(("before_train_iter", gc.isenabled()))
"""


def test_train_pauses_the_collector_from_the_imports_to_the_first_iteration(project: Path, monkeypatch) -> None:
    """``mmhooks train`` owns its process: custom imports and start-up run paused, training collects."""
    import gc
    import importlib

    (project / "gc_probe_hook.py").write_text(GC_PROBE)
    (project / "gc_probe.py").write_text(textwrap.dedent("""
        _base_ = ["./tiny.py"]
        custom_imports = dict(imports=["mmhooks.testing.examples", "gc_probe_hook"], allow_failed_imports=False)
        custom_hooks = [dict(type="GcProbeHook")]
    """))
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    assert gc.isenabled()
    assert main(["train", "gc_probe.py", "--work-dir", "gc_run"]) == 0
    states = importlib.import_module("gc_probe_hook").STATES
    assert states == [("imported", False), ("before_run", False), ("before_train_iter", True),
                      ("before_train_iter", True)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
