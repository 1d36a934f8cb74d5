"""Checkpoint file utilities: atomic writes, weights_only reads, MMEngine-compatible state-dict loading."""

from __future__ import annotations

import io
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
        "); the file is truncated, corrupt, or was not written by torch.save. Fix: re-copy or re-create it, "
        "or resume from an earlier checkpoint."
    )


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
