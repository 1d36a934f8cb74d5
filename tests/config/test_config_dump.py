"""Config.pretty_text, dump round trips, merge_from_dict, copying and pickling."""

from __future__ import annotations

import copy
import pickle

import pytest

from mmhooks.config import Config

VALUES = dict(
    model=dict(type="Net", depth=50, stages=(1, 2, 3), single=(4,), empty=(), act=None, flag=True),
    pipeline=[dict(type="Load", keys=["img", "gt"]), dict(type="Resize", scale=(640, 480), ratio=0.5)],
    long_list=[f"item_number_{i}" for i in range(12)],
    mapping={"not-an-identifier": 1, "class": 2, 3: "int key"},
    quotes="it's \"quoted\"\n",
    inf=float("inf"),
    neg=-1e-8,
    nested=dict(a=dict(b=dict(c=dict(d=[dict(e=1, f="x" * 70)])))),
)


def _values() -> dict:
    return copy.deepcopy(VALUES)


def test_pretty_text_is_python_that_reads_back_to_the_same_values():
    text = Config(_values()).pretty_text
    assert Config.fromstring(text, ".py").to_dict() == VALUES
    assert all(len(line) <= 79 for line in text.splitlines() if "x" * 70 not in line)


def test_pretty_text_layout():
    cfg = Config(dict(a=1, model=dict(type="Net", layers=[dict(n=1)]), m={"a-b": 1}))
    assert cfg.pretty_text == "a = 1\nmodel = dict(type='Net', layers=[dict(n=1)])\nm = {'a-b': 1}\n"


def test_pretty_text_splits_long_lines_one_item_per_line():
    text = Config(dict(model=dict(backbone=dict(type="ResNet", depth=50, out_indices=(0, 1, 2, 3)),
                                  neck=dict(type="FPN", in_channels=[256, 512, 1024, 2048])))).pretty_text
    assert text == (
        "model = dict(\n"
        "    backbone=dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3)),\n"
        "    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048]),\n"
        ")\n")


def test_pretty_text_writes_classes_as_import_paths_and_odd_top_level_keys():
    import torch

    cfg = Config({"optim": dict(type=torch.optim.SGD), "my-key": 1, "dict": dict(a=1)})
    text = cfg.pretty_text
    assert Config.fromstring(text, ".py").to_dict() == {"optim": {"type": "torch.optim.sgd.SGD"}, "my-key": 1,
                                                        "dict": {"a": 1}}


@pytest.mark.parametrize("extension", [".py", ".json", ".yaml", ".yml"], ids=lambda e: e[1:])
def test_dump_to_file_round_trips(extension, tmp_path):
    path = tmp_path / f"out{extension}"
    values = _values()
    del values["mapping"]  # JSON keys are strings only
    if extension == ".json":
        del values["inf"]
    assert Config(values).dump(path) is None
    loaded = Config.fromfile(path).to_dict()
    if extension == ".json":
        values = _tuples_to_lists(values)
    assert loaded == values


def _tuples_to_lists(value):
    if isinstance(value, dict):
        return {key: _tuples_to_lists(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tuples_to_lists(item) for item in value]
    return value


def test_dump_without_path_returns_text_in_the_format_read(write):
    assert Config(dict(a=1)).dump() == "a = 1\n"
    assert Config.fromfile(write("c.yaml", "a: 1\n")).dump() == "a: 1\n"
    assert Config.fromfile(write("c.json", '{"a": 1}')).dump() == '{"a": 1}'  # MMEngine's compact JSON


def test_dump_round_trips_through_mmengine(tmp_path):
    mmengine_config = pytest.importorskip("mmengine.config")
    values = _values()
    Config(values).dump(tmp_path / "cfg.py")
    assert mmengine_config.Config.fromfile(str(tmp_path / "cfg.py")).to_dict() == values


MERGES = {
    "nested_key": {"model.depth": 101},
    "new_key": {"model.new.deep": [1]},
    "list_index": {"pipeline.1.ratio": 0.25},
    "list_index_dict": {"pipeline.0": dict(type="LoadX")},
    "delete": {"model": dict(_delete_=True, type="Replaced")},
    "whole_list": {"pipeline": [dict(type="Only")]},
    "two_keys": {"model.type": "A", "model.depth": 1},
}


@pytest.mark.parametrize("options", MERGES.values(), ids=MERGES.keys())
def test_merge_from_dict_matches_mmengine(options):
    mmengine_config = pytest.importorskip("mmengine.config")
    ours, theirs = Config(_values()), mmengine_config.Config(_values())
    ours.merge_from_dict(copy.deepcopy(options))
    theirs.merge_from_dict(copy.deepcopy(options))
    assert ours.to_dict() == theirs.to_dict()


def test_merge_from_dict_list_element_scalar_and_no_list_keys():
    cfg = Config(dict(l=[1, 2], d=dict(l=[dict(a=1)])))
    cfg.merge_from_dict({"l.1": 5})  # MMEngine fails on a scalar list element
    assert cfg.l == [1, 5]
    with pytest.raises(TypeError):
        cfg.merge_from_dict({"d.l.0.a": 2}, allow_list_keys=False)


def test_config_mapping_interface_and_repr():
    cfg = Config(dict(a=1, b=dict(c=2)), filename="x.py")
    cfg.d = dict(e=3)
    cfg["f"] = 4
    assert (list(cfg), list(cfg.keys()), cfg.get("zz", 9), "a" in cfg, len(cfg)) == (
        ["a", "b", "d", "f"], ["a", "b", "d", "f"], 9, True, 4)
    assert cfg.d.e == 3 and dict(cfg.items())["b"] == {"c": 2}
    assert repr(cfg) == "Config (path: x.py): {'a': 1, 'b': {'c': 2}, 'd': {'e': 3}, 'f': 4}"


def test_copy_deepcopy_and_pickle_keep_values_and_filename():
    cfg = Config(dict(a=dict(b=[1])), cfg_text="a = ...", filename="x.py")
    shallow, deep, loaded = copy.copy(cfg), copy.deepcopy(cfg), pickle.loads(pickle.dumps(cfg))
    shallow.c = 1
    cfg.a.b.append(2)
    assert "c" not in cfg
    assert (shallow.a.b, deep.a.b, loaded.a.b) == ([1, 2], [1], [1])
    assert (deep.filename, loaded.filename, loaded.text) == ("x.py", "x.py", "a = ...")
    assert isinstance(loaded, Config) and loaded.a.b == [1]


@pytest.mark.parametrize("extension", [".json", ".yaml", ".yml"])
def test_json_and_yaml_dumps_are_mmengines_byte_for_byte(extension, tmp_path):
    mmengine_config = pytest.importorskip("mmengine.config")
    values = {"b": 2, "a": {"z": [1, 2, (3, 4)], "y": "s"}, "c": None, "d": 1.5, "e": True}
    Config(values).dump(tmp_path / f"mine{extension}")
    mmengine_config.Config(values).dump(str(tmp_path / f"theirs{extension}"))
    mine, theirs = (tmp_path / f"mine{extension}").read_text(), (tmp_path / f"theirs{extension}").read_text()
    assert mine == theirs
    assert Config.fromfile(tmp_path / f"theirs{extension}").dump() == \
        mmengine_config.Config.fromfile(str(tmp_path / f"mine{extension}")).dump()
