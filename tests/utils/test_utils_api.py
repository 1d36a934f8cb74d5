"""mmhooks.utils, mmhooks.fileio and mmhooks.device against MMEngine's counterparts."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch

mm_utils = pytest.importorskip("mmengine.utils")

import mmhooks.device as device  # noqa: E402
import mmhooks.fileio as fileio  # noqa: E402
from mmhooks import utils  # noqa: E402
from mmhooks.utils import dl_utils  # noqa: E402


@pytest.mark.parametrize("version", ["1.6", "2.1.0", "2.1.0rc1", "2.1.0b2", "2.1.0a0", "2.1.0.post3", "1.2.3.4.5",
                                     "2.13.0+cpu", "2.0.0.dev20230101"])
def test_digit_version_matches(version):
    assert utils.digit_version(version) == mm_utils.digit_version(version)


def test_type_checks_and_tuples_match():
    cases = [([1, 2], int), ((1, "a"), int), ("ab", str), ([], float), ((1.0,), float)]
    for seq, kind in cases:
        assert utils.is_seq_of(seq, kind) == mm_utils.is_seq_of(seq, kind)
        assert utils.is_list_of(seq, kind) == mm_utils.is_list_of(seq, kind)
        assert utils.is_tuple_of(seq, kind) == mm_utils.is_tuple_of(seq, kind)
    for value in (3, "ab", [1, 2], (4,)):
        assert utils.to_2tuple(value) == mm_utils.to_2tuple(value)
    assert utils.is_str("x") and not utils.is_str(b"x")
    assert utils.has_method([], "append") == mm_utils.has_method([], "append")
    assert utils.is_method_overridden("step", torch.optim.Optimizer, torch.optim.SGD) == \
        mm_utils.is_method_overridden("step", torch.optim.Optimizer, torch.optim.SGD)
    assert utils.get_object_from_string("torch.nn.Linear") is mm_utils.get_object_from_string("torch.nn.Linear")
    assert utils.get_object_from_string("torch.nope") is mm_utils.get_object_from_string("torch.nope") is None
    assert utils.import_modules_from_strings(["os", "nope_module"], allow_failed_imports=True) == [os, None]
    assert utils.ManagerMixin.__name__ == "ManagerMixin"


def test_paths_match(tmp_path):
    for name in ("a.py", "b.txt", ".hidden.py", "sub/c.PY", "sub/deeper/d.py"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    for kwargs in ({}, {"suffix": ".py"}, {"suffix": ".py", "recursive": True},
                   {"suffix": (".py", ".txt"), "recursive": True, "case_sensitive": False}):
        assert sorted(utils.scandir(tmp_path, **kwargs)) == sorted(mm_utils.scandir(str(tmp_path), **kwargs))
    with pytest.raises(TypeError):
        list(utils.scandir(3))
    utils.mkdir_or_exist(tmp_path / "new" / "dir")
    assert (tmp_path / "new" / "dir").is_dir()
    with pytest.raises(FileNotFoundError):
        utils.check_file_exist(tmp_path / "missing")
    assert utils.is_installed("torch") == mm_utils.is_installed("torch") if _has_pkg_resources() else \
        utils.is_installed("torch")
    assert not utils.is_installed("surely_not_installed_pkg")


def _has_pkg_resources() -> bool:
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        return False
    return True


def test_dl_utils_match():
    from mmengine.utils import dl_utils as mm_dl

    assert dl_utils.TORCH_VERSION == mm_dl.TORCH_VERSION
    assert dl_utils.mmcv_full_available() == mm_dl.mmcv_full_available()
    bn = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.BatchNorm1d(1))
    assert dl_utils.has_batch_norm(bn) == mm_dl.has_batch_norm(bn) is True
    assert dl_utils.is_norm(torch.nn.GroupNorm(1, 2)) == mm_dl.is_norm(torch.nn.GroupNorm(1, 2)) is True


def test_fileio_round_trips_match_mmengine(tmp_path):
    import mmengine.fileio as mm_fileio

    obj = {"a": [1, 2], "b": {"c": "d"}, "n": np.int64(3), "arr": np.arange(2), "s": {1}}
    for suffix in ("json", "yaml", "pkl"):
        payload = obj if suffix == "json" else {"a": [1, 2], "t": (1, 2)}
        mine, theirs = tmp_path / f"mine.{suffix}", tmp_path / f"theirs.{suffix}"
        fileio.dump(payload, mine)
        mm_fileio.dump(payload, str(theirs))
        assert fileio.load(theirs) == mm_fileio.load(str(mine)) == mm_fileio.load(str(theirs))
    assert fileio.dump(obj, file_format="json") == mm_fileio.dump(obj, file_format="json")
    assert fileio.load(io.StringIO('{"x": 1}'), file_format="json") == {"x": 1}
    with pytest.raises(TypeError):
        fileio.load(tmp_path / "x.txt")
    with pytest.raises(ValueError):
        fileio.dump(obj)
    lines = tmp_path / "lines.txt"
    lines.write_text("a 1\nb 2 3\nc 4\n")
    assert fileio.list_from_file(lines, prefix="p/", offset=1, max_num=1) == \
        mm_fileio.list_from_file(str(lines), prefix="p/", offset=1, max_num=1)
    assert fileio.dict_from_file(lines) == mm_fileio.dict_from_file(str(lines))
    with pytest.raises(ValueError, match="local files only"):
        fileio.load("s3://bucket/a.json")


def test_device_helpers_match_mmengine():
    import mmengine.device as mm_device

    for name in mm_device.__all__:
        if name.startswith("is_") or name == "get_device":
            assert getattr(device, name)() == getattr(mm_device, name)(), name


def test_casting_slicing_and_mapping_match():
    assert utils.list_cast(["1", "2"], int) == mm_utils.list_cast(["1", "2"], int)
    assert utils.tuple_cast([1, 2], str) == mm_utils.tuple_cast([1, 2], str)
    assert list(utils.iter_cast("12", int)) == list(mm_utils.iter_cast("12", int))
    for lens in (2, [1, 3], [4]):
        assert utils.slice_list([1, 2, 3, 4], lens) == mm_utils.slice_list([1, 2, 3, 4], lens)
    for bad, error in ((3, AssertionError), ("x", TypeError), ([1, 1], ValueError)):
        for ns in (utils, mm_utils):
            with pytest.raises(error):
                ns.slice_list([1, 2, 3, 4], bad)
    assert utils.concat_list([[1], (2, 3), []]) == mm_utils.concat_list([[1], (2, 3), []])
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    data = {"x": [1, "s", (2.0, Pair(3, "t"))]}
    expr, func = (lambda v: isinstance(v, (int, float))), (lambda v: v + 1)
    assert utils.apply_to(data, expr, func) == mm_utils.apply_to(data, expr, func)


def test_timer_and_decorators_match(capsys):
    timer = utils.Timer()
    assert timer.is_running and timer.since_start() >= 0 and timer.since_last_check() >= 0
    with utils.Timer(print_tmpl="took {:.1f}"):
        pass
    assert capsys.readouterr().out.startswith("took 0.")
    with pytest.raises(utils.TimerError):
        utils.Timer(start=False).since_start()
    assert utils.check_time("mmtests") == 0 and utils.check_time("mmtests") >= 0

    def resize(img_scale=None, scale=None):
        return scale

    for ns in (utils, mm_utils):
        wrapped = ns.deprecated_api_warning({"img_scale": "scale"}, cls_name="Resize")(resize)
        with pytest.warns(DeprecationWarning, match="img_scale"):
            assert wrapped(img_scale=3) == 3
        with pytest.raises(AssertionError):
            wrapped(img_scale=3, scale=4)
        needs = ns.requires_package("surely_not_installed_pkg")(lambda: 1)
        with pytest.raises(RuntimeError):
            needs()
        assert ns.requires_package("os")(lambda: 1)() == 1
        assert ns.requires_executable("sh")(lambda: 2)() == 2
    capsys.readouterr()
