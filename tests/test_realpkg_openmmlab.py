"""mmpretrain's unchanged CIFAR-10 config under MMEngine's tools/train.py and under ``mmhooks train``.

Runs ``benchmarks/e2e_openmmlab.py`` (one scenario, a small generated CIFAR-10)
and requires it to find no difference. Needs mmpretrain 1.2.0, mmcv-lite and a
torchvision that loads with the installed torch; deselected unless
``pytest --realpkg``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.realpkg, pytest.mark.slow]

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "e2e_openmmlab.py")


@pytest.mark.parametrize("scenario", ["cifar10", "vis-autoscale"])
def test_mmpretrain_cifar10_config_leaves_what_mmengine_leaves(tmp_path, scenario):
    pytest.importorskip("mmpretrain")  # imports torchvision too
    done = subprocess.run([sys.executable, SCRIPT, "--scenarios", scenario, "--root", str(tmp_path),
                           "--train-images", "40", "--val-images", "16"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert done.stdout.rstrip().endswith("no differences")
