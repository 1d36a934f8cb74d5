"""Files only MMEngine can read go through mmengine.Config when it is installed, and fail clearly when not."""

from __future__ import annotations

import pytest

import mmhooks.config.config as config_module
import mmhooks.config.mmengine_bridge as bridge
from mmhooks.config import Config, ConfigFileError

LAZY_BASE = """
from torch.optim import SGD
optim_wrapper = dict(optimizer=dict(type=SGD, lr=0.1))
epochs = 3
"""
LAZY_CHILD = """
from mmengine.config import read_base
with read_base():
    from .base import *
from torch.nn import Linear
model = dict(type=Linear, in_features=2)
optim_wrapper.optimizer.lr = 0.2
"""


@pytest.fixture
def without_mmengine(monkeypatch):
    monkeypatch.setattr(bridge, "mmengine_available", lambda: False)
    monkeypatch.setattr(config_module, "mmengine_available", lambda: False)


def test_pure_python_config_is_read_by_mmengine(write):
    mmengine_config = pytest.importorskip("mmengine.config")
    import torch

    write("base.py", LAZY_BASE)
    path = write("child.py", LAZY_CHILD)
    ours = Config.fromfile(path)
    theirs = mmengine_config.Config.fromfile(str(path))
    assert ours.to_dict() == {"optim_wrapper": {"optimizer": {"type": torch.optim.SGD, "lr": 0.2}}, "epochs": 3,
                              "model": {"type": torch.nn.Linear, "in_features": 2}}
    assert (theirs.model.type, theirs.optim_wrapper.optimizer.type) == (torch.nn.Linear, torch.optim.SGD)
    assert Config.fromstring(ours.pretty_text, ".py").model.type == "torch.nn.modules.linear.Linear"


def test_pure_python_config_without_mmengine_is_a_clear_error(write, without_mmengine):
    write("base.py", LAZY_BASE)
    path = write("child.py", LAZY_CHILD)
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    assert str(excinfo.value) == (
        f"{path}: got '`with read_base():` at line 2'; expected a construct mmhooks reads without MMEngine. "
        "Fix: install MMEngine to read this file (pip install 'mmengine-lite>=0.10,<0.11'), or rewrite it as a "
        "classic config with `_base_ = [...]` and `type='Name'` strings.")


def test_package_base_without_mmengine_is_a_clear_error(write, without_mmengine):
    path = write("cfg.py", "_base_ = 'mmdet::_base_/default_runtime.py'\n")
    with pytest.raises(ConfigFileError, match=r"got \"the package base 'mmdet::_base_/default_runtime.py'\"; "
                                              r"expected a construct mmhooks reads without MMEngine"):
        Config.fromfile(path)


def test_third_party_imports_run_as_plain_python_without_mmengine(write, without_mmengine):
    import torch

    path = write("cfg.py", "import torch\nfrom torch.nn import Linear\nmodel = dict(type=Linear, dtype=torch.float16)\n")
    assert Config.fromfile(path).to_dict() == {"Linear": torch.nn.Linear,
                                               "model": {"type": torch.nn.Linear, "dtype": torch.float16}}


def test_third_party_imports_follow_mmengine_when_installed(write):
    mmengine_config = pytest.importorskip("mmengine.config")
    import torch

    path = write("cfg.py", "import torch\nfrom torch.nn import Linear\nmodel = dict(type=Linear, dtype=torch.float16)\n")
    theirs = mmengine_config.Config.fromfile(str(path))
    assert Config.fromfile(path).to_dict() == {"model": {"type": torch.nn.Linear, "dtype": torch.float16}}
    assert (theirs.model.type, theirs.model.dtype) == (torch.nn.Linear, torch.float16)


def test_mmengine_failure_is_wrapped_with_the_file(write):
    pytest.importorskip("mmengine.config")
    path = write("child.py", "from mmengine.config import read_base\nwith read_base():\n    from .absent import *\n")
    with pytest.raises(ConfigFileError, match=rf"^{path}: got 'ConfigParsingError: .*absent.py not found"):
        Config.fromfile(path)
