"""``mmhooks.runner``'s MMEngine names: lazy exports, ``autocast`` and activation checkpointing vs MMEngine's."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

mm_runner = pytest.importorskip("mmengine.runner")

import mmhooks.runner as runner  # noqa: E402


def test_every_mmengine_runner_name_is_provided_except_flexible_runner():
    missing = sorted(set(mm_runner.__all__) - set(runner.__all__))
    assert missing == ["FlexibleRunner"]
    for name in runner.__all__:
        assert getattr(runner, name) is not None
    with pytest.raises(ImportError, match="trainer=dict\\(strategy="):
        from mmhooks.runner import FlexibleRunner  # noqa: F401
    assert not hasattr(runner, "NotAName")


def test_importing_mmhooks_runner_stays_cheap():
    code = "import sys, mmhooks.runner; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"


def test_checkpoint_helpers_are_the_checkpoint_modules():
    from mmhooks.runner import checkpoint

    for name in ("CheckpointLoader", "find_latest_checkpoint", "get_state_dict", "load_checkpoint", "load_state_dict",
                 "save_checkpoint", "weights_to_cpu"):
        assert getattr(runner, name) is getattr(checkpoint, name)


def test_autocast_matches_mmengine_on_cpu():
    a, b = torch.randn(3, 3), torch.randn(3, 3)
    with runner.autocast(device_type="cpu"):
        mine = a @ b
    with mm_runner.autocast(device_type="cpu"):
        theirs = a @ b
    assert mine.dtype == theirs.dtype == torch.bfloat16 and torch.equal(mine, theirs)
    with runner.autocast(device_type="cpu", enabled=False):
        assert (a @ b).dtype == torch.float32
    with runner.autocast():  # this machine's device
        pass
    for ns in (runner, mm_runner):
        with pytest.raises(AssertionError):
            with ns.autocast(device_type="cpu", dtype=torch.float16):
                pass
        with pytest.raises(ValueError):
            with ns.autocast(device_type="mps"):
                pass
        with ns.autocast(device_type="mps", enabled=False):
            pass


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 4), nn.ReLU()), nn.Linear(4, 1))


def test_activation_checkpointing_gives_mmengine_gradients():
    mine, theirs = _net(), _net()
    runner.turn_on_activation_checkpointing(mine, ["1", "2"])
    mm_runner.turn_on_activation_checkpointing(theirs, "1")
    x = torch.randn(2, 4, requires_grad=True)
    mine(x).sum().backward()
    theirs(x).sum().backward()
    for p_mine, p_theirs in zip(mine.parameters(), theirs.parameters()):
        assert torch.allclose(p_mine.grad, p_theirs.grad)


def test_activation_checkpointing_trains_a_module_whose_input_needs_no_gradient():
    """Torch's reentrant checkpointing (MMEngine's on this torch) leaves such a module without gradients."""
    net = nn.Sequential(nn.Linear(4, 4))
    runner.turn_on_activation_checkpointing(net, "0")
    net(torch.randn(2, 4)).sum().backward()
    assert net[0].weight.grad is not None
