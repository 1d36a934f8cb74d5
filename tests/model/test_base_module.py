"""BaseModule.init_weights against MMEngine's: same weights under one seed, same initialisation log.

Each model is defined once, as a function of the base classes, and built with
mmhooks' classes and with MMEngine's; both copies are built and initialised
under the same seeds and every tensor is compared exactly.
"""

from __future__ import annotations

import re
import types
import uuid
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import mmhooks.model as ours

mmengine = pytest.importorskip("mmengine")
import mmengine.logging as mm_logging  # noqa: E402
import mmengine.model as theirs  # noqa: E402

import mmhooks.logging as our_logging  # noqa: E402


# ----------------------------------------------------------------------------- models, one definition per library
def mmpretrain_like(lib: types.ModuleType, classifier_init: Any = None, backbone_init: Any = "default") -> nn.Module:
    """ResNet-style classifier: mmpretrain's init_cfgs (Kaiming convs, BN constant 1, Normal(0.01) head)."""

    class BasicBlock(lib.BaseModule):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))

    class ResNet(lib.BaseModule):
        def __init__(self, init_cfg: Any) -> None:
            super().__init__(init_cfg=init_cfg)
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU())
            self.layer1 = lib.Sequential(BasicBlock(8), BasicBlock(8))
            self.layer2 = lib.ModuleList([BasicBlock(8)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.layer1(self.stem(x))
            for block in self.layer2:
                x = block(x)
            return x

    class LinearClsHead(lib.BaseModule):
        def __init__(self, init_cfg: Any = dict(type="Normal", layer="Linear", std=0.01)) -> None:
            super().__init__(init_cfg=init_cfg)
            self.fc = nn.Linear(8, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x.mean((2, 3)))

    class ImageClassifier(lib.BaseModel):
        def __init__(self) -> None:
            super().__init__(init_cfg=classifier_init)
            default = [dict(type="Kaiming", layer=["Conv2d"]), dict(type="Constant", val=1, layer=["_BatchNorm"])]
            self.backbone = ResNet(default if backbone_init == "default" else backbone_init)
            self.head = LinearClsHead(init_cfg=None if classifier_init else dict(type="Normal", layer="Linear",
                                                                                  std=0.01))

        def forward(self, inputs: torch.Tensor, data_samples: Any = None, mode: str = "tensor") -> Any:
            return self.head(self.backbone(inputs))

    return ImageClassifier()


def containers(lib: types.ModuleType) -> nn.Module:
    """Sequential / ModuleList / ModuleDict with their own init_cfg inside a parent with another."""

    class Net(lib.BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Constant", val=3, layer=["Linear", "Conv1d"]))
            self.seq = lib.Sequential(nn.Linear(4, 4), nn.Linear(4, 2), init_cfg=dict(type="Xavier", layer="Linear"))
            self.items = lib.ModuleList([nn.Linear(2, 2), nn.Conv1d(2, 2, 1)],
                                        init_cfg=dict(type="TruncNormal", std=0.1, layer="Linear"))
            self.named = lib.ModuleDict(dict(a=nn.Conv1d(2, 3, 1), b=nn.Linear(3, 3)),
                                        init_cfg=[dict(type="Uniform", a=-1, b=0, layer="Conv1d"),
                                                  dict(type="Caffe2Xavier", layer="Linear")])
            self.plain = nn.Linear(3, 1)

    return Net()


def with_user_init_weights(lib: types.ModuleType) -> nn.Module:
    """A child that overrides init_weights, one already initialised, and one wrapped in DataParallel."""

    class Custom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def init_weights(self) -> None:
            nn.init.constant_(self.fc.weight, 0.25)

    class Done(lib.BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Constant", val=9, layer="Linear"))
            self.fc = nn.Linear(2, 2)

    class Net(lib.BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Normal", std=0.5, layer="Linear"))
            self.custom = Custom()
            self.done = Done()
            self.done.is_init = True
            self.wrapped = nn.DataParallel(Done())
            self.untouched = nn.Linear(2, 2)

    return Net()


def override_head(lib: types.ModuleType) -> nn.Module:
    """The head initialised through the classifier's override (no init_cfg of its own)."""
    init = dict(type="Kaiming", layer="Conv2d", override=dict(type="Normal", name="head", std=0.01))
    return mmpretrain_like(lib, classifier_init=init, backbone_init=None)


MODELS = {"mmpretrain_like": mmpretrain_like, "containers": containers, "user_init_weights": with_user_init_weights,
          "override_head": override_head}


def build_and_init(factory: Any, lib: types.ModuleType, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = factory(lib)
    torch.manual_seed(seed + 1)
    model.init_weights()
    return model


def assert_same_tensors(mine: nn.Module, expected: nn.Module) -> None:
    mine_state, expected_state = mine.state_dict(), expected.state_dict()
    assert list(mine_state) == list(expected_state)
    for key, value in expected_state.items():
        torch.testing.assert_close(mine_state[key], value, rtol=0, atol=0, msg=key)


@pytest.fixture
def log_files(tmp_path):
    """A fresh current MMLogger with a log file in each library; yields the two paths."""
    name = f"init_{uuid.uuid4().hex}"
    paths = tmp_path / "ours.log", tmp_path / "theirs.log"
    our_logging.MMLogger.get_instance(name, log_file=str(paths[0]), log_level="DEBUG")
    mm_logging.MMLogger.get_instance(name, log_file=str(paths[1]), log_level="DEBUG")
    return paths


def masked(path: Any) -> list[str]:
    """Log lines without their timestamps and without the DEBUG lines of MMEngine's registry lookups."""
    return [re.sub(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", "T", line) for line in path.read_text().splitlines()
            if not re.search(r" - DEBUG - (Get class `|An `\w+` instance is built from registry)", line)]


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("factory", MODELS.values(), ids=MODELS.keys())
def test_weights_equal_mmengine(factory: Any, log_files: Any) -> None:
    mine, expected = build_and_init(factory, ours), build_and_init(factory, theirs)
    untouched = factory(ours)
    assert any(not torch.equal(a, b) for a, b in zip(untouched.state_dict().values(), mine.state_dict().values()))
    assert_same_tensors(mine, expected)


@pytest.mark.parametrize("factory", MODELS.values(), ids=MODELS.keys())
def test_init_log_equals_mmengine(factory: Any, log_files: Any) -> None:
    build_and_init(factory, ours)
    build_and_init(factory, theirs)
    our_file, their_file = log_files
    assert "Name of parameter - Initialization information" in their_file.read_text()
    assert masked(our_file) == masked(their_file)


def test_init_log_without_a_log_file_equals_mmengine(capsys: pytest.CaptureFixture[str]) -> None:
    name = f"console_{uuid.uuid4().hex}"

    def console_lines(lib: types.ModuleType, logging_module: Any) -> list[str]:
        logging_module.MMLogger.get_instance(name)
        capsys.readouterr()
        build_and_init(mmpretrain_like, lib)
        text = re.sub(r"\d{2}/\d{2} \d{2}:\d{2}:\d{2}", "T", capsys.readouterr().out)
        return text.splitlines()

    expected = console_lines(theirs, mm_logging)
    assert any("KaimingInit: a=0, mode=fan_out" in line for line in expected)
    assert console_lines(ours, our_logging) == expected


def test_second_call_warns_like_mmengine(log_files: Any) -> None:
    for lib in (ours, theirs):
        model = build_and_init(mmpretrain_like, lib)
        before = [p.clone() for p in model.parameters()]
        model.init_weights()
        assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    our_file, their_file = log_files
    assert "init_weights of ImageClassifier has been called more than once." in their_file.read_text()
    assert masked(our_file) == masked(their_file)


def test_is_init_and_table_cleanup() -> None:
    model = mmpretrain_like(ours)
    assert (model.is_init, model.backbone.is_init, model.head.is_init) == (False, False, False)
    model.init_weights()
    assert (model.is_init, model.backbone.is_init, model.head.is_init) == (True, True, True)
    assert not any(hasattr(m, "_params_init_info") for m in model.modules())


@pytest.mark.parametrize("order", ["pretrained_first", "pretrained_last"])
@pytest.mark.parametrize("prefix", [None, "backbone."], ids=["whole", "prefix"])
def test_pretrained_wins_and_matches_mmengine(tmp_path: Any, log_files: Any, order: str, prefix: str | None) -> None:
    torch.manual_seed(5)
    source = mmpretrain_like(ours)
    checkpoint = tmp_path / "pretrained.pth"
    # Without a prefix the file holds the backbone's own keys; with one, the whole classifier's.
    torch.save({"state_dict": (source if prefix else source.backbone).state_dict()}, checkpoint)
    pretrained = dict(type="Pretrained", checkpoint=str(checkpoint), prefix=prefix)
    kaiming = dict(type="Kaiming", layer="Conv2d")
    init_cfg = [pretrained, kaiming] if order == "pretrained_first" else [kaiming, pretrained]

    def factory(lib: types.ModuleType) -> nn.Module:
        return mmpretrain_like(lib, backbone_init=init_cfg)

    mine, expected = build_and_init(factory, ours), build_and_init(factory, theirs)
    assert_same_tensors(mine, expected)
    torch.testing.assert_close(mine.backbone.stem[0].weight, source.backbone.stem[0].weight, rtol=0, atol=0)
    our_file, their_file = log_files
    our_table = our_file.read_text().split("Name of parameter")[1]
    assert our_table == their_file.read_text().split("Name of parameter")[1]
    assert f"PretrainedInit: load from {checkpoint}" in our_table


@pytest.mark.parametrize("inner", [theirs, ours], ids=["mmengine_inside_ours", "ours_inside_mmengine"])
def test_mixed_libraries_initialise_as_mmengine(log_files: Any, inner: types.ModuleType) -> None:
    """An OpenMMLab backbone (MMEngine's BaseModule) inside an mmhooks model, and the reverse, initialise alike."""

    def mixed(lib: types.ModuleType) -> nn.Module:
        model = mmpretrain_like(inner)
        outer = lib.BaseModule(init_cfg=dict(type="Constant", val=0.5, layer="Linear"))
        outer.classifier = model
        outer.extra = nn.Linear(2, 2)
        return outer

    mine, expected = build_and_init(mixed, ours), build_and_init(mixed, theirs)
    assert_same_tensors(mine, expected)
    # Each library's modules log their DEBUG lines to that library's logger; the tables must agree.
    tables = []
    for path in log_files:
        text = path.read_text()
        assert text.count("Name of parameter - Initialization information\n") == 1  # written by the top module
        body = text.split("Name of parameter - Initialization information\n")[1].splitlines()
        tables.append([line for line in body if not re.match(r"^\d{4}/\d{2}/\d{2} ", line)])
    assert len(tables[1]) > 40
    assert tables[0] == tables[1]


def test_repr_shows_init_cfg_like_mmengine() -> None:
    cfg = dict(type="Normal", std=0.01, layer="Linear")
    assert repr(ours.Sequential(nn.Linear(1, 1), init_cfg=cfg)) == repr(theirs.Sequential(nn.Linear(1, 1),
                                                                                           init_cfg=cfg))


def test_init_cfg_entry_not_a_dict() -> None:
    from mmhooks.errors import ConfigError

    model = ours.BaseModule(init_cfg=[dict(type="Kaiming", layer="Conv2d"), "Normal"])
    with pytest.raises(TypeError) as info:
        model.init_weights()
    assert isinstance(info.value, ConfigError)
    assert str(info.value) == ("BaseModule.init_cfg[1]: got 'Normal'; expected a dict with a 'type'. "
                               "Fix: write each entry as dict(type='Kaiming', layer='Conv2d').")
