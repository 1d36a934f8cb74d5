"""Checkpoint file utilities: atomic writes, weights_only reads, MMEngine-compatible state-dict loading."""

from __future__ import annotations

import io
import json
import os
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from mmhooks.runner.checkpoint import (
    ALLOW_UNSAFE_ENV,
    CheckpointLoadError,
    UnsafeCheckpointError,
    atomic_save,
    find_latest_checkpoint,
    get_state_dict,
    load_checkpoint,
    load_checkpoint_file,
    load_state_dict,
    weights_to_cpu,
    write_last_checkpoint,
)


class Unpicklable:
    """Fails half-way through serialisation, like a save interrupted by an error."""

    def __reduce__(self) -> tuple:
        raise RuntimeError("boom while pickling")


class NotAllowlisted:
    """A user class: loading it needs full unpickling."""

    def __init__(self) -> None:
        self.value = 3


def tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


# ----------------------------------------------------------------------------- atomic writes
def test_atomic_save_roundtrip_creates_parent_dirs(tmp_path):
    target = tmp_path / "a" / "b" / "epoch_1.pth"
    atomic_save({"state_dict": {"w": torch.arange(3.0)}}, target)
    loaded = torch.load(target, weights_only=True)
    torch.testing.assert_close(loaded["state_dict"]["w"], torch.arange(3.0))
    assert os.listdir(target.parent) == ["epoch_1.pth"]


def test_atomic_save_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "epoch_1.pth"
    atomic_save({"version": "old"}, target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="boom while pickling"):
        atomic_save({"version": "new", "bad": Unpicklable()}, target)
    assert target.read_bytes() == before
    assert torch.load(target, weights_only=True) == {"version": "old"}
    assert os.listdir(tmp_path) == ["epoch_1.pth"]


def test_write_last_checkpoint_is_absolute_without_newline_and_mmengine_reads_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = write_last_checkpoint("work", os.path.join("work", "epoch_3.pth"))
    expected = str(tmp_path / "work" / "epoch_3.pth")
    assert written == expected
    assert (tmp_path / "work" / "last_checkpoint").read_text() == expected
    assert find_latest_checkpoint("work") == expected
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    assert mm_checkpoint.find_latest_checkpoint("work") == expected


def test_find_latest_checkpoint_without_record_is_none(tmp_path):
    assert find_latest_checkpoint(tmp_path) is None


# ----------------------------------------------------------------------------- reading
def test_weights_only_load_accepts_what_mmhooks_writes(tmp_path):
    state = tiny_net().state_dict()
    checkpoint = {
        "meta": {"epoch": 2, "iter": 6, "cfg": "", "seed": 0},
        "state_dict": weights_to_cpu(state),
        "message_hub": {"runtime_info": {"best_score": np.float64(0.75), "hist": np.arange(3.0)}},
    }
    path = tmp_path / "epoch_2.pth"
    atomic_save(checkpoint, path)
    loaded = load_checkpoint_file(path)
    assert loaded["meta"] == checkpoint["meta"]
    assert loaded["message_hub"]["runtime_info"]["best_score"] == np.float64(0.75)
    np.testing.assert_array_equal(loaded["message_hub"]["runtime_info"]["hist"], np.arange(3.0))
    assert loaded["state_dict"]._metadata == state._metadata


def test_mmhooks_message_hub_state_loads_weights_only(tmp_path):
    message_hub = pytest.importorskip("mmhooks.logging.message_hub")
    hub = message_hub.MessageHub("test_mmhooks_message_hub_state_loads_weights_only")
    hub.update_scalar("train/loss", 0.5)
    hub.update_scalar("train/loss", 0.25)
    hub.update_info("keep_ckpt_ids", [1, 2])
    path = tmp_path / "epoch_1.pth"
    atomic_save({"message_hub": hub.state_dict()}, path)
    restored = message_hub.MessageHub("test_mmhooks_message_hub_state_loads_weights_only_2")
    restored.load_state_dict(load_checkpoint_file(path)["message_hub"])
    np.testing.assert_array_equal(restored.get_scalar("train/loss").data[0], [0.5, 0.25])
    assert restored.get_info("keep_ckpt_ids") == [1, 2]


def test_unsafe_checkpoint_is_refused_with_opt_in_instructions(tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOW_UNSAFE_ENV, raising=False)
    path = tmp_path / "custom.pth"
    torch.save({"obj": NotAllowlisted()}, path)
    expected = (
        f"{path}: this checkpoint cannot be loaded with torch.load(weights_only=True) because it pickles "
        f"{__name__}.NotAllowlisted; loading it fully can run arbitrary code. Fix: if you trust the file, pass "
        f"allow_unsafe=True or set the environment variable {ALLOW_UNSAFE_ENV}=1."
    )
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_file(path)
    assert str(info.value) == expected


@pytest.mark.parametrize("how", ["argument", "env"], ids=["allow_unsafe=True", "MMHOOKS_ALLOW_UNSAFE_LOAD=1"])
def test_unsafe_checkpoint_loads_after_opt_in(tmp_path, monkeypatch, how):
    path = tmp_path / "custom.pth"
    torch.save({"obj": NotAllowlisted()}, path)
    if how == "env":
        monkeypatch.setenv(ALLOW_UNSAFE_ENV, "1")
        loaded = load_checkpoint_file(path)
    else:
        monkeypatch.delenv(ALLOW_UNSAFE_ENV, raising=False)
        loaded = load_checkpoint_file(path, allow_unsafe=True)
    assert loaded["obj"].value == 3


def test_mmengine_checkpoint_loads_without_opt_in(tmp_path, monkeypatch):
    mm_logging = pytest.importorskip("mmengine.logging")
    monkeypatch.delenv(ALLOW_UNSAFE_ENV, raising=False)
    hub = mm_logging.MessageHub("test_mmengine_checkpoint_needs_opt_in")
    hub.update_scalar("train/loss", 0.5)
    path = tmp_path / "mmengine.pth"
    torch.save({"meta": {}, "state_dict": {}, "message_hub": hub.state_dict()}, path)
    buffer = load_checkpoint_file(path)["message_hub"]["log_scalars"]["train/loss"]
    assert float(buffer.current()) == 0.5


def _zip_checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"state_dict": tiny_net().state_dict()}, buffer)
    return buffer.getvalue()


def _legacy_checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"state_dict": tiny_net().state_dict()}, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        lambda: _zip_checkpoint_bytes()[: len(_zip_checkpoint_bytes()) // 2],
        lambda: _legacy_checkpoint_bytes()[:-10],
        lambda: b"not a checkpoint",
        lambda: b"",
    ],
    ids=["truncated-zip", "truncated-legacy", "garbage", "empty"],
)
def test_damaged_file_error_names_the_file(tmp_path, content, monkeypatch):
    monkeypatch.setenv(ALLOW_UNSAFE_ENV, "1")  # even with the opt-in, damage is reported as damage
    path = tmp_path / "epoch_1.pth"
    path.write_bytes(content())
    with pytest.raises(CheckpointLoadError) as info:
        load_checkpoint_file(path)
    assert not isinstance(info.value, UnsafeCheckpointError)
    assert str(info.value).startswith(f"{path}: cannot read this checkpoint (")
    assert str(info.value).endswith(
        "); the file is damaged (truncated or corrupt) or is not a checkpoint written by torch.save. Fix: re-copy "
        "or re-create it, or resume from an earlier checkpoint."
    )
    assert "weights_only" not in str(info.value)  # torch's advice to unpickle fully is never passed on


def test_missing_file_error_names_the_file(tmp_path):
    path = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match=re.escape(f"{path}: checkpoint file not found.")):
        load_checkpoint_file(path)


# ----------------------------------------------------------------------------- state dicts
def test_weights_to_cpu_keeps_metadata_and_nesting():
    state = tiny_net().state_dict()
    converted = weights_to_cpu({"a": torch.ones(1), "nested": [torch.zeros(2), {"b": torch.ones(3)}]})
    assert converted["nested"][1]["b"].device.type == "cpu"
    assert weights_to_cpu(state)._metadata == state._metadata
    assert list(weights_to_cpu(state)) == list(state)


def test_get_state_dict_unwraps_data_parallel():
    net = tiny_net()
    wrapped = nn.DataParallel(net)
    assert list(get_state_dict(wrapped)) == list(net.state_dict())
    assert all(not key.startswith("module.") for key in get_state_dict(wrapped))


def _mismatched_state() -> OrderedDict:
    state = tiny_net().state_dict()
    del state["1.running_var"]
    del state["1.num_batches_tracked"]
    state["extra.weight"] = torch.zeros(1)
    state["0.bias"] = torch.zeros(5)  # shape mismatch: reported, not raised, as in MMEngine
    return state


def test_load_state_dict_reports_like_mmengine(capsys):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    net = tiny_net()
    with pytest.warns(UserWarning) as record:
        missing, unexpected = load_state_dict(net, _mismatched_state(), source="ckpt.pth")
    ours = str(record[0].message)

    mm_checkpoint.load_state_dict(tiny_net(), _mismatched_state())
    theirs = capsys.readouterr().out.strip()
    assert missing == ["1.running_var"]
    assert unexpected == ["extra.weight"]
    assert ours.startswith("ckpt.pth: the model and loaded state dict do not match exactly\n")
    assert ours.split("\n", 1)[1].strip() == theirs.split("\n", 1)[1].strip()


def test_load_state_dict_strict_raises_naming_the_keys():
    with pytest.raises(RuntimeError, match="unexpected key in source state_dict: extra.weight"):
        load_state_dict(tiny_net(), _mismatched_state(), strict=True, source="ckpt.pth")


def test_load_checkpoint_strips_module_prefix_and_returns_checkpoint(tmp_path):
    source = tiny_net()
    with torch.no_grad():
        for param in source.parameters():
            param.add_(1.0)
    wrapped_state = OrderedDict((f"module.{key}", value) for key, value in source.state_dict().items())
    path = tmp_path / "epoch_1.pth"
    atomic_save({"meta": {"epoch": 1}, "state_dict": wrapped_state}, path)
    target = tiny_net()
    checkpoint = load_checkpoint(target, path)
    assert checkpoint["meta"] == {"epoch": 1}
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value, rtol=0, atol=0)


def test_load_checkpoint_warns_naming_the_file(tmp_path):
    path = tmp_path / "partial.pth"
    atomic_save({"state_dict": {"0.weight": torch.zeros(2, 3)}}, path)
    with pytest.warns(UserWarning, match=re.escape(f"{path}: the model and loaded state dict do not match")):
        load_checkpoint(tiny_net(), path)


def test_load_checkpoint_rejects_non_dict(tmp_path):
    path = tmp_path / "tensor.pth"
    atomic_save(torch.zeros(1), path)
    with pytest.raises(CheckpointLoadError, match=re.escape(f"{path}: expected a dict with a 'state_dict' key")):
        load_checkpoint(tiny_net(), path)


# ----------------------------------------------------------------------------- MMEngine's API, differential
class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.norm = nn.BatchNorm2d(3)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.conv = nn.Conv2d(3, 3, 1)


def _assert_same_state(ours, theirs):
    assert list(ours) == list(theirs)
    for key in theirs:
        assert torch.equal(ours[key], theirs[key]), key


def test_get_state_dict_strips_nested_wrappers_like_mmengine():
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    torch.manual_seed(0)
    net = Net()
    for name, child in list(net._modules.items()):
        net._modules[name] = nn.DataParallel(child)  # wrapped children: keys must not carry ".module"
    wrapped = nn.DataParallel(net)
    ours, theirs = get_state_dict(wrapped), mm_checkpoint.get_state_dict(wrapped)
    _assert_same_state(ours, theirs)
    assert "block.conv.weight" in ours and not any(".module." in key or key.startswith("module.") for key in ours)
    assert ours._metadata == theirs._metadata
    kept = get_state_dict(wrapped, keep_vars=True)
    assert isinstance(kept["block.conv.weight"], nn.Parameter)
    assert kept["block.conv.weight"] is mm_checkpoint.get_state_dict(wrapped, keep_vars=True)["block.conv.weight"]


def test_get_state_dict_runs_state_dict_hooks():
    net = Net()
    net.block._register_state_dict_hook(lambda module, state, prefix, meta: state.pop(f"{prefix}norm.bias"))
    assert "block.norm.bias" not in get_state_dict(nn.DataParallel(net))
    assert "block.norm.bias" not in net.state_dict()


MMENGINE_SCHEME_CASES = [
    "http://xx.xx/xx.pth", "https://xx.xx/xx.pth", "modelzoo://xx.xx/xx.pth", "torchvision://xx.xx/xx.pth",
    "open-mmlab://xx.xx/xx.pth", "openmmlab://xx.xx/xx.pth", "mmcls://xx.xx/xx.pth", "pavi://xx.xx/xx.pth",
    "s3://xx.xx/xx.pth", "ss3://xx.xx/xx.pth", " s3://xx.xx/xx.pth", "open-mmlab:s3://xx.xx/xx.pth",
    "openmmlab:s3://xx.xx/xx.pth", "openmmlabs3://xx.xx/xx.pth", ":s3://xx.xx/xx.path", "petrel://b/x.pth",
    "work_dirs/epoch_1.pth", "~/epoch_1.pth",
]


@pytest.mark.parametrize("filename", MMENGINE_SCHEME_CASES)
def test_checkpoint_loader_dispatches_like_mmengine(filename):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    from mmhooks.runner.checkpoint import CheckpointLoader

    ours = CheckpointLoader._get_checkpoint_loader(filename)
    theirs = mm_checkpoint.CheckpointLoader._get_checkpoint_loader(filename)
    assert ours.__name__ == theirs.__name__


@pytest.fixture
def scheme_registries():
    """Both registries, restored afterwards (registering is process-wide)."""
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    from mmhooks.runner.checkpoint import CheckpointLoader

    saved = (OrderedDict(CheckpointLoader._schemes), OrderedDict(mm_checkpoint.CheckpointLoader._schemes))
    yield CheckpointLoader, mm_checkpoint.CheckpointLoader
    CheckpointLoader._schemes, mm_checkpoint.CheckpointLoader._schemes = saved


def test_register_scheme_force_and_longest_prefix_like_mmengine(scheme_registries, capsys):
    for registry in scheme_registries:
        @registry.register_scheme(prefixes="ftp://")
        def load_from_ftp(filename, map_location):
            return dict(filename=filename)

        def load_from_ftp1(filename, map_location):
            return dict(filename=filename, second=True)

        with pytest.raises(KeyError):
            registry.register_scheme("ftp://", load_from_ftp1)
        assert registry._get_checkpoint_loader("ftp://xx/xx.pth").__name__ == "load_from_ftp"
        registry.register_scheme("ftp://", load_from_ftp1, force=True)

        @registry.register_scheme(prefixes="a/b")
        def load_from_ab(filename, map_location):
            return dict(filename=filename)

        @registry.register_scheme(prefixes=["a/b/c", "zz://"])
        def load_from_abc(filename, map_location):
            return dict(filename=filename)

    ours, theirs = scheme_registries
    assert list(ours._schemes) == list(theirs._schemes)
    for path in ("a/b/c/d", "a/b/d", "zz://x", "ftp://xx/xx.pth"):
        assert ours._get_checkpoint_loader(path).__name__ == theirs._get_checkpoint_loader(path).__name__
    capsys.readouterr()
    assert ours.load_checkpoint("ftp://xx/xx.pth", logger=None) == theirs.load_checkpoint("ftp://xx/xx.pth", None,
                                                                                         None)
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["Loads checkpoint by ftp1 backend from path: ftp://xx/xx.pth"] * 2


def test_register_scheme_rejects_a_non_string_prefix():
    from mmhooks.runner.checkpoint import CheckpointLoader

    with pytest.raises(TypeError, match=r"^CheckpointLoader.register_scheme.prefixes: got 3; expected a str"):
        CheckpointLoader.register_scheme(3, lambda filename, map_location: None)


def test_load_from_local_expands_home_and_reads_weights_only(tmp_path, monkeypatch):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    from mmhooks.runner.checkpoint import load_from_local

    monkeypatch.setenv("HOME", str(tmp_path))
    net = Net()
    mm_checkpoint.save_checkpoint(net.state_dict(), str(tmp_path / "dummy.pth"))
    ours, theirs = load_from_local("~/dummy.pth", map_location=None), mm_checkpoint.load_from_local("~/dummy.pth", None)
    _assert_same_state(ours, theirs)
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path}/missing.pth: checkpoint file not found")):
        load_from_local("~/missing.pth", None)


def test_save_checkpoint_writes_what_mmengine_loads(tmp_path):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    from mmhooks.logging import MMLogger
    from mmhooks.runner.checkpoint import save_checkpoint

    current = MMLogger.get_instance(f"save-{tmp_path.name}", log_file=str(tmp_path / "run.log"))

    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    cases = {
        "plain.pth": dict(),
        "local.pth": dict(backend_args={"backend": "local"}),
        "deep/dir/disk.pth": dict(file_client_args={"backend": "disk"}),
    }
    for name, kwargs in cases.items():
        save_checkpoint(dict(state_dict=net.state_dict(), optimizer=optimizer.state_dict()), str(tmp_path / name),
                        **kwargs)
        target = Net()
        mm_checkpoint.load_checkpoint(target, str(tmp_path / name), strict=True)
        _assert_same_state(target.state_dict(), net.state_dict())
    current.handlers[-1].flush()
    assert "WARNING - \"file_client_args\" will be deprecated in future. Please use \"backend_args\" instead" in (
        tmp_path / "run.log").read_text()  # the deprecation, as MMEngine logs it (to the current logger)
    with pytest.raises(TypeError):  # MMEngine's signature has no meta
        save_checkpoint(net, str(tmp_path / "x.pth"), meta="invalid type")


def test_save_checkpoint_rejects_both_storage_arguments(tmp_path):
    from mmhooks.errors import ConfigError
    from mmhooks.runner.checkpoint import save_checkpoint

    with pytest.raises(ConfigError, match=re.escape(
            "save_checkpoint.file_client_args: got {'backend': 'disk'}; expected None when backend_args is set. "
            "Fix: keep only backend_args.")):
        save_checkpoint({}, str(tmp_path / "x.pth"), file_client_args={"backend": "disk"},
                        backend_args={"backend": "local"})
    assert not os.listdir(tmp_path)


def test_save_and_load_through_an_mmengine_storage_backend(tmp_path):
    fileio = pytest.importorskip("mmengine.fileio")
    from mmhooks.runner.checkpoint import CheckpointLoader, load_from_ceph, save_checkpoint

    store: dict[str, bytes] = {}

    class MemoryBackend(fileio.BaseStorageBackend):
        def get(self, filepath):
            return store[filepath]

        def get_text(self, filepath, encoding="utf-8"):
            return store[filepath].decode(encoding)

        def put(self, obj, filepath):
            store[filepath] = obj

    fileio.register_backend("mmhooks_memory", MemoryBackend, force=True, prefixes="memtest")
    net = Net()
    save_checkpoint({"state_dict": net.state_dict()}, "memtest://bucket/epoch_1.pth")
    assert list(store) == ["memtest://bucket/epoch_1.pth"]
    loaded = load_from_ceph("memtest://bucket/epoch_1.pth", backend="mmhooks_memory")
    _assert_same_state(loaded["state_dict"], net.state_dict())
    assert CheckpointLoader._get_checkpoint_loader("memtest://bucket/epoch_1.pth").__name__ == "load_from_local"


def test_save_checkpoint_remote_without_mmengine_names_the_fix(monkeypatch):
    import sys

    from mmhooks.errors import UnsupportedConfigError
    from mmhooks.runner.checkpoint import save_checkpoint

    monkeypatch.setitem(sys.modules, "mmengine.fileio", None)  # as if MMEngine were not installed
    with pytest.raises(UnsupportedConfigError, match=re.escape(
            "save_checkpoint.filename: got 's3://bucket/x.pth'; expected a local path (remote storage needs "
            "MMEngine's file backends). Fix: pip install mmengine")):
        save_checkpoint({}, "s3://bucket/x.pth")


def test_load_checkpoint_revise_keys_like_mmengine(tmp_path, capsys):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")

    class Prefixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = Net()

    torch.manual_seed(3)
    source = Net()
    path = str(tmp_path / "checkpoint.pth")
    torch.save(source.state_dict(), path)
    torch.manual_seed(4)
    ours, theirs = Prefixed(), Prefixed()
    theirs.load_state_dict(ours.state_dict())
    returned = load_checkpoint(ours, path, revise_keys=[(r"^", "backbone.")])
    expected = mm_checkpoint.load_checkpoint(theirs, path, revise_keys=[(r"^", "backbone.")])
    _assert_same_state(ours.state_dict(), theirs.state_dict())
    _assert_same_state(returned, expected)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Loads checkpoint by local backend from path: {path}"] * 2


def test_load_checkpoint_passes_version_metadata_like_mmengine(tmp_path):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    from mmhooks.runner.checkpoint import save_checkpoint

    class V1(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

    class V2(nn.Module):
        _version = 2

        def __init__(self) -> None:
            super().__init__()
            self.conv0, self.conv1 = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args, **kwargs):
            if local_metadata.get("version", None) is None or local_metadata["version"] < 2:
                for key in list(state_dict):
                    for old, new in (("conv1", "conv0"), ("conv2", "conv1")):
                        if key.startswith(prefix + old):
                            state_dict[key.replace(old, new)] = state_dict.pop(key)
            super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)

    torch.manual_seed(5)
    old = V1()
    save_checkpoint(old.state_dict(), str(tmp_path / "v1.pth"))
    ours, theirs = V2(), V2()
    theirs.load_state_dict(ours.state_dict())
    load_checkpoint(ours, str(tmp_path / "v1.pth"), logger="silent")
    mm_checkpoint.load_checkpoint(theirs, str(tmp_path / "v1.pth"), logger="silent")
    _assert_same_state(ours.state_dict(), theirs.state_dict())
    torch.testing.assert_close(ours.conv0.weight, old.conv1.weight, rtol=0, atol=0)


def test_load_checkpoint_with_prefix_like_mmengine(tmp_path, monkeypatch):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    from mmhooks.errors import ConfigError
    from mmhooks.runner.checkpoint import _load_checkpoint_with_prefix

    monkeypatch.chdir(tmp_path)
    torch.save(Net().state_dict(), "model.pth")
    _assert_same_state(_load_checkpoint_with_prefix("block", "model.pth"),
                       mm_checkpoint._load_checkpoint_with_prefix("block", "model.pth"))
    with pytest.raises(ConfigError, match=re.escape(
            "_load_checkpoint_with_prefix.prefix: got 'back'; expected a submodule name in model.pth (block, conv)")):
        _load_checkpoint_with_prefix("back", "model.pth")


def test_load_state_dict_post_hooks_can_clear_the_report():
    module = Block()
    state = {key: torch.zeros_like(value) for key, value in module.state_dict().items() if key != "norm.running_var"}
    with pytest.warns(UserWarning, match="missing keys in source state_dict: norm.running_var"):
        load_state_dict(module, state)

    def post_hook(_, incompatible_keys):
        incompatible_keys.missing_keys.remove("norm.running_var")

    module._load_state_dict_post_hooks = OrderedDict({0: post_hook})
    import warnings as _warnings

    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        assert load_state_dict(module, state) == ([], [])


def test_load_state_dict_logs_through_a_named_logger(tmp_path):
    from mmhooks.logging import MMLogger

    log_file = tmp_path / "run.log"
    logger = MMLogger.get_instance(f"ckpt-{tmp_path.name}", log_file=str(log_file))
    load_state_dict(tiny_net(), _mismatched_state(), logger=logger.instance_name, source="ckpt.pth")
    for handler in logger.handlers:
        handler.flush()
    text = log_file.read_text()
    assert " - WARNING - ckpt.pth: the model and loaded state dict do not match exactly" in text
    assert "unexpected key in source state_dict: extra.weight" in text


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server over ``tmp_path/www``; yields (directory, base URL)."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_load_from_http_downloads_once_into_the_cache_like_mmengine(http_root, tmp_path):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    from mmhooks.runner.checkpoint import load_from_http

    root, base = http_root
    net = Net()
    torch.save({"state_dict": net.state_dict(), "meta": {"epoch": 3}}, root / "net-abc.pth")
    ours = load_from_http(f"{base}/net-abc.pth", model_dir=str(tmp_path / "ours"), progress=False)
    theirs = mm_checkpoint.load_from_http(f"{base}/net-abc.pth", model_dir=str(tmp_path / "theirs"), progress=False)
    _assert_same_state(ours["state_dict"], theirs["state_dict"])
    assert ours["meta"] == theirs["meta"]
    assert os.listdir(tmp_path / "ours") == os.listdir(tmp_path / "theirs") == ["net-abc.pth"]
    (root / "net-abc.pth").unlink()  # a second load reads the cache
    again = load_from_http(f"{base}/net-abc.pth", model_dir=str(tmp_path / "ours"), progress=False)
    _assert_same_state(again["state_dict"], net.state_dict())


def _captured_urls(module, monkeypatch, filenames):
    """The URL each ``filename`` resolves to, with ``module.load_from_http`` replaced by a recorder."""
    urls = []

    def record(url, map_location=None, **kwargs):
        urls.append(url)
        return {"state_dict": {"backbone.w": torch.ones(1), "head.w": torch.zeros(1)}, "meta": {}}

    monkeypatch.setattr(module, "load_from_http", record)
    results = [module.CheckpointLoader.load_checkpoint(name, None, "silent") for name in filenames]
    return urls, results


def test_model_zoo_names_resolve_like_mmengine(monkeypatch, tmp_path):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    from mmhooks.runner import checkpoint as ours_module

    monkeypatch.setenv("MMENGINE_HOME", str(tmp_path))
    deprecated = next(iter(mm_checkpoint.get_deprecated_model_names()))
    names = ["open-mmlab://resnet50_v1c", "openmmlab://resnet50_v1c", "mmcls://vgg11",
             f"open-mmlab://{deprecated}" if mm_checkpoint.get_external_models()[
                 mm_checkpoint.get_deprecated_model_names()[deprecated]].startswith("http") else "mmcls://vgg13"]
    our_urls, our_results = _captured_urls(ours_module, monkeypatch, names)
    their_urls, their_results = _captured_urls(mm_checkpoint, monkeypatch, names)
    assert our_urls == their_urls
    assert our_results[2] == their_results[2] == {"state_dict": OrderedDict(w=torch.ones(1))}


def test_torchvision_names_resolve_through_mmengine_list(monkeypatch):
    pytest.importorskip("mmengine")
    from mmhooks.runner import checkpoint as ours_module

    expected = json.load(open(ours_module._mmengine_hub_file("torchvision_0.12.json")))["resnet50"]
    urls, _ = _captured_urls(ours_module, monkeypatch, ["torchvision://resnet50", "modelzoo://resnet50"])
    assert urls == [expected, expected]


def test_unknown_model_zoo_name_suggests_the_closest(monkeypatch):
    pytest.importorskip("mmengine")
    from mmhooks.errors import ConfigError
    from mmhooks.runner import checkpoint as ours_module

    with pytest.raises(ConfigError, match=re.escape(
            "checkpoint: got 'open-mmlab://resnet50_v1cc'; expected a model name known to open-mmlab://. Fix: did "
            "you mean open-mmlab://resnet50_v1c?")):
        _captured_urls(ours_module, monkeypatch, ["open-mmlab://resnet50_v1cc"])


def test_load_from_pavi_reads_the_downloaded_file(monkeypatch, tmp_path):
    import sys
    import types

    from mmhooks.runner.checkpoint import load_from_pavi

    net = Net()

    class Model:
        name = "model.pth"

        def download(self, path):
            torch.save(net.state_dict(), path)

    pavi = types.ModuleType("pavi")
    pavi.modelcloud = types.SimpleNamespace(get=lambda path: Model())
    monkeypatch.setitem(sys.modules, "pavi", pavi)
    _assert_same_state(load_from_pavi("pavi://folder/model.pth"), net.state_dict())
    Model.download = lambda self, path: None  # type: ignore[method-assign]
    with pytest.raises(FileNotFoundError):
        load_from_pavi("pavi://folder/model.pth")


# ----------------------------------------------------------------------------- last_checkpoint in a moved work_dir
def test_moved_work_dir_resumes_from_its_own_copy(tmp_path, caplog):
    original, moved = tmp_path / "original", tmp_path / "moved"
    atomic_save({"meta": {"epoch": 2}}, original / "epoch_2.pth")
    write_last_checkpoint(original, original / "epoch_2.pth")
    import shutil

    shutil.copytree(original, moved)
    with caplog.at_level("WARNING", logger="mmhooks.runner.checkpoint"):
        found = find_latest_checkpoint(moved)
    assert found == str(moved / "epoch_2.pth")
    (record,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert str(original / "epoch_2.pth") in record.getMessage() and str(moved / "epoch_2.pth") in record.getMessage()
    caplog.clear()
    assert find_latest_checkpoint(original) == str(original / "epoch_2.pth")  # not moved: as recorded, silently
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_record_outside_work_dir_without_local_copy_is_returned_as_recorded(tmp_path):
    mm_checkpoint = pytest.importorskip("mmengine.runner.checkpoint")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "last_checkpoint").write_text("/elsewhere/epoch_9.pth")
    assert find_latest_checkpoint(tmp_path / "work") == "/elsewhere/epoch_9.pth"
    assert mm_checkpoint.find_latest_checkpoint(str(tmp_path / "work")) == "/elsewhere/epoch_9.pth"


# ----------------------------------------------------------------------------- plain torch.load
@pytest.mark.slow
def test_plain_torch_load_reads_our_checkpoint_after_importing_mmhooks_logging(tmp_path):
    import subprocess
    import sys

    from mmhooks.logging import MessageHub

    hub = MessageHub(f"plain-load-{tmp_path.name}")
    hub.update_scalar("train/loss", 0.5)
    hub.update_info("best_score", np.float64(0.25))
    path = tmp_path / "epoch_1.pth"
    atomic_save({"meta": {"epoch": 1}, "state_dict": tiny_net().state_dict(), "message_hub": hub.state_dict()}, path)
    script = (
        "import sys, torch\n"
        "import mmhooks.logging.history_buffer\n"
        "checkpoint = torch.load(sys.argv[1])\n"  # torch's default: weights_only=True
        "buffer = checkpoint['message_hub']['log_scalars']['train/loss']\n"
        "print(type(buffer).__name__, float(buffer.current()), float(checkpoint['message_hub']['runtime_info']"
        "['best_score']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["HistoryBuffer", "0.5", "0.25"]
    bare = subprocess.run([sys.executable, "-c", "import sys, torch; torch.load(sys.argv[1])", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert bare.returncode != 0 and "mmhooks.logging.history_buffer" in bare.stderr  # what the import registers
