"""The core builds a Runner and answers the CLI's help and config checks with Lightning unimportable.

Runs in a fresh interpreter whose import system refuses ``lightning`` and
``pytorch_lightning``: only starting a run needs a backend.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # a subprocess

SCRIPT = textwrap.dedent("""
    import sys

    class RefuseLightning:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("lightning", "pytorch_lightning"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, RefuseLightning())

    import torch
    from torch import nn

    from mmhooks.cli import main
    from mmhooks.errors import ConfigError
    from mmhooks.runner import Runner

    try:
        main(["--help"])
    except SystemExit as done:
        assert done.code == 0, done.code
    assert main(["train", "{missing}"]) == 2

    runner = Runner(model=nn.Linear(2, 1), work_dir="{work_dir}", train_dataloader=[(torch.zeros(1, 2),)],
                    train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)))
    assert runner.max_epochs == 1 and runner.epoch == 0 and runner.train_loop.max_epochs == 1
    try:
        Runner(model=nn.Linear(2, 1), work_dir="{work_dir}", train_dataloader=[(torch.zeros(1, 2),)],
               train_cfg=dict(by_epoch=True, max_epoch=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)))
    except ConfigError as err:
        assert "max_epoch" in str(err), err
    else:
        raise AssertionError("a bad train_cfg was accepted")
    try:
        runner.train()
    except ConfigError as err:
        assert "pip install" in str(err) and "lightning" in str(err), err
    else:
        raise AssertionError("train() ran without a backend")
    assert "lightning" not in sys.modules and "lightning.pytorch" not in sys.modules
    print("OK")
""")


def test_runner_and_cli_checks_without_lightning(tmp_path):
    script = SCRIPT.replace("{missing}", str(tmp_path / "missing.py")).replace("{work_dir}", str(tmp_path / "w"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=str(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.strip().endswith("OK")
