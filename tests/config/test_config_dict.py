"""ConfigDict: attribute access, nesting, copying and pickling."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import pytest

from mmhooks.config import ConfigDict


class UserDict(dict):
    pass


def test_nested_dicts_in_dicts_lists_and_tuples_become_config_dicts():
    cfg = ConfigDict(a=dict(b=[dict(c=1), (dict(d=2),)]), o=OrderedDict(x=1), u=UserDict(y=1))
    assert (cfg.a.b[0].c, cfg.a.b[1][0].d, cfg.o.x) == (1, 2, 1)
    assert type(cfg.u) is UserDict  # user-defined dict types are left alone, as in MMEngine
    assert isinstance(cfg.a.b, list) and isinstance(cfg.a.b[1], tuple)


def test_attribute_and_item_writes_convert_and_locate_values():
    cfg = ConfigDict()
    cfg.model = dict(head=dict(n=1))
    cfg["data"] = [dict(x=1)]
    assert isinstance(cfg.model.head, ConfigDict) and isinstance(cfg.data[0], ConfigDict)
    with pytest.raises(AttributeError, match=r"^data\[0\].y: no such key"):
        cfg.data[0].y
    with pytest.raises(AttributeError, match=r"^model.head.m: no such key"):
        cfg.model.head.m


def test_missing_item_is_key_error_and_get_default_works():
    cfg = ConfigDict(a=1)
    with pytest.raises(KeyError):
        cfg["b"]
    assert (cfg.get("b", 5), hasattr(cfg, "b"), hasattr(cfg, "a")) == (5, False, True)


def test_setting_a_method_name_as_attribute_is_refused():
    cfg = ConfigDict()
    with pytest.raises(AttributeError, match=r"^keys: 'keys' is a ConfigDict method"):
        cfg.keys = 1
    cfg["keys"] = 1
    assert cfg["keys"] == 1


def test_delattr():
    cfg = ConfigDict(a=1, b=2)
    del cfg.a
    assert cfg == {"b": 2}
    with pytest.raises(AttributeError, match=r"^a: no such key"):
        del cfg.a


def test_update_merges_nested_dicts_like_mmengine():
    mmengine_config = pytest.importorskip("mmengine.config")
    ours, theirs = (cls(a=dict(x=1, y=2), b=1) for cls in (ConfigDict, mmengine_config.ConfigDict))
    for cfg in (ours, theirs):
        cfg.update(dict(a=dict(y=3, z=4), b=dict(k=1)))
    assert ours.to_dict() == theirs.to_dict() == {"a": {"x": 1, "y": 3, "z": 4}, "b": {"k": 1}}


def test_copy_is_shallow_and_deepcopy_is_deep():
    cfg = ConfigDict(a=dict(b=[1]))
    shallow, deep = copy.copy(cfg), copy.deepcopy(cfg)
    cfg.a.b.append(2)
    assert (type(shallow), type(deep)) == (ConfigDict, ConfigDict)
    assert (shallow.a.b, deep.a.b) == ([1, 2], [1])
    assert isinstance(deep.a, ConfigDict)


def test_pickle_round_trip():
    cfg = ConfigDict(a=dict(b=(1, dict(c=2))))
    loaded = pickle.loads(pickle.dumps(cfg))
    assert loaded == cfg and loaded.a.b[1].c == 2 and isinstance(loaded.a, ConfigDict)


def test_to_dict_is_plain_all_the_way_down():
    plain = ConfigDict(a=dict(b=[dict(c=1)], t=(dict(d=1),))).to_dict()
    assert type(plain["a"]) is dict and type(plain["a"]["b"][0]) is dict and type(plain["a"]["t"][0]) is dict
    assert plain == {"a": {"b": [{"c": 1}], "t": ({"d": 1},)}}
