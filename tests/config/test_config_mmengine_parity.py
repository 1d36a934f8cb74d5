"""Config and ConfigDict against mmengine.config: the dict interface, diff, auto_argparser, conversions.

Scenarios follow MMEngine's tests/test_config (test_magic_methods,
test_merge_from_dict, test_diff, test_auto_argparser, TestConfigDict).
"""

from __future__ import annotations

import sys

import pytest

from mmhooks.config import Config, ConfigDict
from mmhooks.errors import ConfigError

mm_config = pytest.importorskip("mmengine.config")

SIMPLE = "item1 = [1, 2]\nitem2 = {'a': 0}\nitem3 = True\nitem4 = 'test'\n"


def test_values_and_items_are_lists_as_in_mmengine():
    raw = dict(a=1, b=dict(c=2, e=[dict(f=(2,))]))
    ours, theirs = ConfigDict(raw), mm_config.ConfigDict(raw)
    for method in ("values", "items"):
        assert type(getattr(ours, method)()) is type(getattr(theirs, method)()) is list
        assert getattr(ours, method)() == getattr(theirs, method)()
    assert type(Config(raw).items()) is type(mm_config.Config(raw).items()) is list
    assert type(ours.b.items()) is list and ours.items()[1][1] == raw["b"]

    class CustomDict(dict):
        pass

    kept = ConfigDict(dict(a=CustomDict(b=1)))
    assert type(kept.values()[0]) is type(kept.items()[0][1]) is CustomDict


def magic_methods(config_class, path):
    cfg = config_class.fromfile(str(path))
    seen = [len(cfg), sorted(cfg.keys()), [repr(v) for v in cfg.values()], [(k, repr(v)) for k, v in cfg.items()],
            cfg.item2.a, "item1" in cfg, "not_exist" in cfg, cfg.get("not_exist"), cfg.get("not_exist", 0)]
    for missing in (lambda: cfg.not_exist, lambda: cfg["not_exist"]):
        try:
            missing()
        except (AttributeError, KeyError) as err:
            seen.append(type(err).__name__)
    cfg.update(dict(item1=0))
    cfg.update(dict(item2=dict(b=1)))
    seen.append((cfg.item1, cfg.to_dict()["item2"]))
    empty = config_class()
    empty.item1 = [1, 2]
    empty["item5"] = {"a": {"b": None}}
    seen.append((empty.item1, empty.item5.a.b, empty.to_dict()))
    return seen


def test_dict_interface_matches_mmengine(tmp_path):
    path = tmp_path / "simple_config.py"
    path.write_text(SIMPLE)
    assert magic_methods(Config, path) == magic_methods(mm_config.Config, path)


def merge_scenario(config_class, tmp_path):
    simple = tmp_path / "simple_config.py"
    simple.write_text(SIMPLE)
    cfg = config_class.fromfile(str(simple))
    cfg.merge_from_dict({"item2.a": 1, "item2.b": 0.1, "item3": False, "new.key": 3})
    seen = [cfg.to_dict()]
    listed = tmp_path / "merge_list.py"
    listed.write_text("item = [{'a': 0}, {'b': 0, 'c': 0}]\n")
    cfg = config_class.fromfile(str(listed))
    cfg.merge_from_dict({"item.0.a": 1, "item.1.b": 1}, allow_list_keys=True)
    seen.append(cfg.to_dict())
    for options, allow in (({"item.0.a": 1}, False), ({"item.2.a": 1}, True)):
        try:
            cfg.merge_from_dict(options, allow_list_keys=allow)
        except Exception as err:  # noqa: BLE001 - the kind is the observation
            seen.append(isinstance(err, TypeError))
    return seen


def test_merge_from_dict_matches_mmengine(tmp_path):
    ours, theirs = merge_scenario(Config, tmp_path), merge_scenario(mm_config.Config, tmp_path)
    assert ours == theirs
    assert ours[:2] == [{"item1": [1, 2], "item2": {"a": 1, "b": 0.1}, "item3": False, "item4": "test",
                         "new": {"key": 3}}, {"item": [{"a": 1}, {"b": 1, "c": 0}]}]


def test_list_index_out_of_range_is_a_config_error():
    """Deliberate difference: MMEngine raises KeyError; mmhooks a ConfigError naming the index and the length."""
    cfg = Config(dict(item=[dict(a=0)]))
    with pytest.raises(ConfigError, match=r"^item\[2\]: got \{'a': 1\}; expected an index below 1"):
        cfg.merge_from_dict({"item.2.a": 1})


@pytest.mark.parametrize("before, after", [
    (dict(a=1, b=2), dict(a=1, b=3)),
    (dict(a=1, b=2), dict(b=3, a=1)),
    (dict(a=1, b="x"), dict(a=1, b="x")),
    (dict(lr=0.1, name="run", flag=True, none=None), dict(flag=False, lr=0.01, name="run2", none=None)),
])
def test_diff_matches_mmengine(before, after):
    """Flat configs: MMEngine writes scalars as mmhooks does (it formats lists and tuples differently)."""
    assert Config.diff(Config(before), Config(after)) == mm_config.Config.diff(mm_config.Config(before),
                                                                               mm_config.Config(after))


def test_diff_of_files_ignores_key_order_as_mmengine(tmp_path):
    first, second = tmp_path / "test_diff_1.py", tmp_path / "test_diff_2.py"
    first.write_text("a = 1\nb = 2\n")
    second.write_text("b = 3\na = 1\n")
    expected = "--- \n\n+++ \n\n@@ -1,3 +1,3 @@\n\n a = 1\n-b = 2\n+b = 3\n \n\n"
    assert Config.diff(str(first), str(second)) == mm_config.Config.diff(str(first), str(second)) == expected
    nested = dict(model=dict(type="Net", depth=18, act=dict(type="ReLU")), lr=0.1)
    reordered = dict(lr=0.1, model=dict(act=dict(type="ReLU"), depth=18, type="Net"))
    assert Config.diff(Config(nested), Config(reordered)) == mm_config.Config.diff(
        mm_config.Config(nested), mm_config.Config(reordered)) == "\n"
    changed = Config.diff(Config(nested), Config(dict(reordered, model=dict(reordered["model"], depth=50))))
    assert [line for line in changed.splitlines() if line.startswith(("+", "-"))
                                                      and not line.startswith(("---", "+++"))] == [
        "-model = dict(act=dict(type='ReLU'), depth=18, type='Net')",
        "+model = dict(act=dict(type='ReLU'), depth=50, type='Net')"]


ARGPARSE_CONFIG = """
item1 = [1, 2]
item2 = dict(a=0, b=dict(c=0.5))
item3 = False
item4 = 'test'
item_float = 1.0
item_none = None
"""


@pytest.mark.parametrize("argv", [[], ["--item1", "3", "4", "--item2.a", "5", "--item2.b.c", "0.1", "--item3",
                                       "--item4", "x", "--item_float", "2"]])
def test_auto_argparser_matches_mmengine(tmp_path, monkeypatch, argv):
    path = tmp_path / "cfg.py"
    path.write_text(ARGPARSE_CONFIG)
    monkeypatch.setattr(sys, "argv", ["train.py", str(path)])
    ours_parser, ours_cfg = Config.auto_argparser("desc")
    theirs_parser, theirs_cfg = mm_config.Config.auto_argparser("desc")
    assert ours_cfg.to_dict() == theirs_cfg.to_dict()
    assert ours_parser.description == theirs_parser.description == "desc"
    ours = vars(ours_parser.parse_args([str(path), *argv]))
    assert ours == vars(theirs_parser.parse_args([str(path), *argv]))
    assert ours["config"] == str(path)


def test_auto_argparser_accepts_an_empty_list(tmp_path, monkeypatch):
    """Deliberate difference: MMEngine fails with StopIteration on an empty list value."""
    path = tmp_path / "cfg.py"
    path.write_text("names = []\n")
    monkeypatch.setattr(sys, "argv", ["train.py", str(path)])
    parser, _ = Config.auto_argparser()
    assert parser.parse_args([str(path), "--names", "a", "b"]).names == ["a", "b"]


def test_from_any_keeps_an_mmengine_configs_filename_and_text(tmp_path):
    """Issue 11 item 4: Runner.from_cfg(mmengine.Config) must keep the filename (experiment name, config dump)."""
    (tmp_path / "base.py").write_text("model = dict(type='Net', depth=18)\nlr = 0.1\n")
    path = tmp_path / "resnet18_cifar.py"
    path.write_text("_base_ = ['./base.py']\nmodel = dict(depth=50)\n")
    theirs = mm_config.Config.fromfile(str(path))
    ours = Config.from_any(theirs)
    assert (ours.filename, ours.text, ours.env_variables) == (theirs.filename, theirs.text, theirs.env_variables)
    assert ours.to_dict() == theirs.to_dict() == {"model": {"type": "Net", "depth": 50}, "lr": 0.1}
    assert isinstance(ours.model, ConfigDict)
    assert Config.from_any(ours) is ours
    assert Config.from_any(dict(a=1)).to_dict() == {"a": 1}
    with pytest.raises(ConfigError, match=r"^cfg: got 3; expected a Config"):
        Config.from_any(3)


def test_from_any_builds_the_lazy_imports_of_pure_python_configs(tmp_path):
    import torch

    path = tmp_path / "lazy.py"
    path.write_text("from torch.optim import SGD\noptim_wrapper = dict(optimizer=dict(type=SGD, lr=0.1))\n")
    theirs = mm_config.Config.fromfile(str(path))
    ours = Config.from_any(theirs)
    assert ours.to_dict() == {"optim_wrapper": {"optimizer": {"type": torch.optim.SGD, "lr": 0.1}}}
    assert ours.filename == str(path)


def test_to_mmengine_for_code_that_checks_mmengines_type(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text("model = dict(type='Net', depth=18)\n")
    ours = Config.fromfile(path)
    theirs = ours.to_mmengine()
    assert isinstance(theirs, mm_config.Config)
    assert (theirs.filename, theirs.text, theirs.to_dict()) == (ours.filename, ours.text, ours.to_dict())
    path.unlink()  # a moved config file: the text travels with the object
    assert Config(ours.to_dict(), cfg_text=ours.text, filename=str(path)).to_mmengine().text == ours.text
    assert Config.from_any(theirs).to_dict() == ours.to_dict()
