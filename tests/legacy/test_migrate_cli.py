"""``mmhooks migrate`` and ``mmhooks plot-schedule`` as a user runs them (in-process ``main``)."""

from __future__ import annotations

import importlib.util
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mmhooks.cli import main
from mmhooks.config import Config

LOSSY = """
    optimizer = dict(type='SGD', lr=0.1, momentum=0.9)
    lr_config = dict(policy='inv', gamma=0.5, power=1.0)
    runner = dict(type='EpochBasedRunner', max_epochs=3)
    checkpoint_config = dict(interval=1, create_symlink=False)
    """


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_each_lossy_item_is_reported_once(tmp_path: Path, capsys: Any) -> None:
    old = write(tmp_path / "old.py", LOSSY)
    assert main(["migrate", str(old)]) == 0
    printed = capsys.readouterr()
    both = printed.out + printed.err
    assert both.count("lr_config.policy: 'inv' has no MMEngine scheduler") == 1
    assert both.count("checkpoint_config.create_symlink") == 1
    assert main(["migrate", str(old), "-o", str(tmp_path / "new.py")]) == 0
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.count("lr_config.policy: 'inv'") == 1
    assert "keep MMCV's formula with --exact" in printed.err  # the flag the CLI has


def test_iters_per_epoch_flag_makes_poly_by_iteration_exact(tmp_path: Path, capsys: Any) -> None:
    old = write(tmp_path / "old.py", """
        optimizer = dict(type='SGD', lr=0.1)
        lr_config = dict(policy='poly', power=1.0, min_lr=0.0, by_epoch=False)
        runner = dict(type='EpochBasedRunner', max_epochs=3)
        """)
    assert main(["migrate", str(old), "-o", str(tmp_path / "a.py")]) == 0
    assert "--iters-per-epoch N" in capsys.readouterr().err
    assert main(["migrate", str(old), "-o", str(tmp_path / "b.py"), "--iters-per-epoch", "4"]) == 0
    assert "0 lossy items" in capsys.readouterr().err
    scheduler = Config.fromfile(tmp_path / "b.py").param_scheduler[0]
    assert (scheduler.end, scheduler.by_epoch) == (13, False)  # P + 1 iterations
    assert main(["migrate", str(old), "--iters-per-epoch", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --iters-per-epoch: got 0")


def test_epochs_and_iterations_stay_integers(tmp_path: Path, capsys: Any) -> None:
    old = write(tmp_path / "old.py", """
        optimizer = dict(type='AdamW', lr=0.001, betas=(0.95, 0.99))
        lr_config = dict(policy='cyclic', target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4)
        runner = dict(type='EpochBasedRunner', max_epochs=40)
        """)
    assert main(["migrate", str(old)]) == 0
    text = capsys.readouterr().out
    assert "T_max=16," in text and "T_max=24," in text and "begin=16," in text
    assert "16.0" not in text and "24.0" not in text


def test_folder_is_migrated_as_a_tree_with_a_report(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path / "configs/_base_/schedule.py", """
        optimizer = dict(type='SGD', lr=0.02)
        lr_config = dict(policy='step', step=[8, 11])
        runner = dict(type='EpochBasedRunner', max_epochs=12)
        """)
    write(tmp_path / "configs/_base_/runtime.py", "log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])\n"
          "workflow = [('train', 1)]\n")
    write(tmp_path / "configs/a.py", "_base_ = ['./_base_/schedule.py', './_base_/runtime.py']\n")
    write(tmp_path / "configs/b.py", "_base_ = './a.py'\nlr_config = dict(policy='WCosineAnnealing')\n")
    assert main(["migrate", str(tmp_path / "configs")]) == 2
    assert "error: --output: got None; expected an output folder" in capsys.readouterr().err
    code = main(["migrate", str(tmp_path / "configs"), "-o", str(tmp_path / "new")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    statuses = {line.split()[1]: line.split()[0] for line in lines if not line.startswith(" ") and "files:" not in line}
    assert statuses == {"_base_/runtime.py": "converted", "_base_/schedule.py": "exact", "a.py": "exact",
                        "b.py": "warned"}
    assert any("lr_config.policy: 'WCosineAnnealing' is not one of MMCV's policies" in line for line in lines)
    assert lines[-1] == "4 files: 1 converted, 2 exact, 1 warned, 0 failed"
    assert "train_cfg" not in Config.fromfile(tmp_path / "new/_base_/runtime.py")


def _lr_rows(text: str) -> list[tuple[int, float]]:
    rows = [line.split() for line in text.strip().splitlines()[1:]]
    return [(int(row[0]), float(row[2])) for row in rows]


def test_plot_schedule_runs_the_mmcv_formula_of_an_exact_output(tmp_path: Path, capsys: Any) -> None:
    old = write(tmp_path / "old.py", LOSSY)
    new = tmp_path / "new.py"
    assert main(["migrate", str(old), "-o", str(new), "--exact"]) == 0
    capsys.readouterr()
    assert main(["plot-schedule", str(new), "--epoch-length", "2"]) == 0
    rows = _lr_rows(capsys.readouterr().out)
    # MMCV's inv policy by epoch: b * (1 + gamma * epoch) ** -power
    assert rows == [(t, pytest.approx(0.1 * (1 + 0.5 * (t // 2)) ** -1.0, rel=1e-5)) for t in range(6)]


@pytest.mark.slow
def test_plot_schedule_draws_an_exact_output(tmp_path: Path, capsys: Any) -> None:
    pytest.importorskip("matplotlib")
    new = tmp_path / "new.py"
    assert main(["migrate", str(write(tmp_path / "old.py", LOSSY)), "-o", str(new), "--exact"]) == 0
    capsys.readouterr()
    image = tmp_path / "lr.png"
    assert main(["plot-schedule", str(new), "--epoch-length", "2", "-o", str(image)]) == 0
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and capsys.readouterr().out.strip() == str(image)


def test_plot_schedule_refuses_what_it_cannot_run(tmp_path: Path, capsys: Any) -> None:
    custom = write(tmp_path / "custom.py", """
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
        train_cfg = dict(by_epoch=True, max_epochs=2)
        custom_hooks = [dict(type='WCosineAnnealingLrUpdaterHook', priority='VERY_HIGH')]
        """)
    assert main(["plot-schedule", str(custom), "--epoch-length", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: custom_hooks[0].type: got 'WCosineAnnealingLrUpdaterHook'")


def test_plot_without_matplotlib_exits_non_zero_with_the_install_command(tmp_path: Path, capsys: Any,
                                                                         monkeypatch: Any) -> None:
    config = write(tmp_path / "c.py", """
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
        train_cfg = dict(by_epoch=False, max_iters=4)
        param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=2)]
        """)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.split(".")[0] == "matplotlib" else real(name, *a))
    image = tmp_path / "x.png"
    assert main(["plot-schedule", str(config), "-o", str(image)]) == 2
    assert "pip install 'mmhooks[plot]'" in capsys.readouterr().err
    assert not image.exists()
    assert main(["plot-schedule", str(config)]) == 0  # the table needs no matplotlib
    rows = _lr_rows(capsys.readouterr().out)
    assert rows[0] == (0, 0.05) and all(math.isclose(lr, 0.1) for _, lr in rows[1:])
