"""MessageHub API and checkpoint interchange with MMEngine's MessageHub."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import torch

mmengine = pytest.importorskip("mmengine")
from mmengine.logging import HistoryBuffer as MMHistoryBuffer  # noqa: E402
from mmengine.logging import MessageHub as MMMessageHub  # noqa: E402

from mmhooks.logging import HistoryBuffer, MessageHub  # noqa: E402
from mmhooks.logging.history_buffer import _rebuild_history_buffer  # noqa: E402

_ids = itertools.count()


def _record(hub) -> None:
    for k in range(5):
        hub.update_scalar("train/lr", 0.1 / (k + 1))
        hub.update_scalar("train/loss", torch.tensor(2.0 - 0.25 * k))
        hub.update_scalar("train/n", np.int64(k))
    hub.update_scalars({"val/acc": 0.5, "val/weighted": {"value": 3.0, "count": 2}})
    hub.update_scalar("train/skipped", 1.0, resumed=False)
    hub.update_info("epoch", 2)
    hub.update_info_dict({"iter": 10, "best_score": np.float64(0.5)})
    hub.update_info("volatile", "x", resumed=False)


def _roundtrip(state: dict) -> dict:
    stream = io.BytesIO()
    torch.save({"message_hub": state}, stream)
    stream.seek(0)
    return torch.load(stream, weights_only=False)["message_hub"]


def _assert_same_content(ours: MessageHub, theirs: MMMessageHub) -> None:
    assert list(ours.log_scalars) == list(theirs.log_scalars)
    for key, buffer in theirs.log_scalars.items():
        for got, want in zip(ours.log_scalars[key].data, buffer.data):
            np.testing.assert_array_equal(got, want, err_msg=key)
    assert dict(ours.runtime_info) == dict(theirs.runtime_info)
    assert dict(ours._resumed_keys) == dict(theirs._resumed_keys)


def test_recording_matches_mmengine():
    ours, theirs = MessageHub(f"hub-{next(_ids)}"), MMMessageHub(f"hub-{next(_ids)}")
    _record(ours)
    _record(theirs)
    _assert_same_content(ours, theirs)
    assert ours.get_scalar("val/weighted").mean() == theirs.get_scalar("val/weighted").mean() == 1.5


def test_state_dict_layout_matches_mmengine():
    ours, theirs = MessageHub(f"hub-{next(_ids)}"), MMMessageHub(f"hub-{next(_ids)}")
    _record(ours)
    _record(theirs)
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(our_state) == list(their_state) == ["log_scalars", "runtime_info", "resumed_keys"]
    assert list(our_state["log_scalars"]) == list(their_state["log_scalars"])
    assert "train/skipped" not in our_state["log_scalars"]
    assert dict(our_state["runtime_info"]) == dict(their_state["runtime_info"])
    assert "volatile" not in our_state["runtime_info"]


def test_our_checkpoint_entry_resumes_mmengine_hub():
    ours = MessageHub(f"hub-{next(_ids)}")
    _record(ours)
    state = _roundtrip(ours.state_dict())
    assert all(type(b) is MMHistoryBuffer for b in state["log_scalars"].values())
    theirs = MMMessageHub(f"hub-{next(_ids)}")
    theirs.load_state_dict(state)
    reference = MMMessageHub(f"hub-{next(_ids)}")
    _record(reference)
    reference_state = _roundtrip(reference.state_dict())
    expected = MMMessageHub(f"hub-{next(_ids)}")
    expected.load_state_dict(reference_state)
    assert list(theirs.log_scalars) == list(expected.log_scalars)
    for key in expected.log_scalars:
        assert theirs.get_scalar(key).mean(3) == expected.get_scalar(key).mean(3)
    assert theirs.get_info("best_score") == 0.5


def test_mmengine_checkpoint_entry_resumes_our_hub():
    theirs = MMMessageHub(f"hub-{next(_ids)}")
    _record(theirs)
    ours = MessageHub(f"hub-{next(_ids)}")
    ours.update_info("kept", 1)
    ours.load_state_dict(_roundtrip(theirs.state_dict()))
    assert all(type(b) is HistoryBuffer for b in ours.log_scalars.values())
    expected = MMMessageHub(f"hub-{next(_ids)}")
    expected.load_state_dict(_roundtrip(theirs.state_dict()))
    assert ours.get_info("kept") == 1
    ours.pop_info("kept")
    ours._resumed_keys.pop("kept")
    _assert_same_content(ours, expected)
    ours.update_scalar("train/loss", 0.0)  # the loaded buffers keep recording
    assert ours.get_scalar("train/loss").data[0].tolist() == [2.0, 1.75, 1.5, 1.25, 1.0, 0.0]


def test_state_dict_loads_with_weights_only_when_allowlisted():
    ours = MessageHub(f"hub-{next(_ids)}")
    ours.update_scalar("train/loss", 1.0)
    ours.update_info("epoch", 3)
    stream = io.BytesIO()
    torch.save(ours.state_dict(), stream)
    stream.seek(0)
    with torch.serialization.safe_globals([_rebuild_history_buffer]):
        state = torch.load(stream, weights_only=True)
    restored = MessageHub(f"hub-{next(_ids)}")
    restored.load_state_dict(state)
    assert restored.get_scalar("train/loss").current() == 1.0
    assert restored.get_info("epoch") == 3


def test_get_instance_and_current_instance():
    name = f"named-{next(_ids)}"
    hub = MessageHub.get_instance(name)
    assert MessageHub.get_instance(name) is hub
    assert MessageHub.get_current_instance() is hub
    assert hub.instance_name == name
    later = MessageHub.get_instance(f"named-{next(_ids)}")
    assert MessageHub.get_current_instance() is later
    assert MessageHub.get_instance(name) is hub and MessageHub.get_current_instance() is later


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda h: h.update_scalar("k", np.array([1.0, 2.0])), ValueError,
         "MessageHub.update_scalar('k'): got an array of shape (2,); expected one element."),
        (lambda h: h.update_scalar("k", torch.ones(2)), TypeError,
         "MessageHub.update_scalar('k'): got Tensor; expected an int, float, numpy number or one-element"),
        (lambda h: h.update_scalar("k", "1.0"), TypeError, "MessageHub.update_scalar('k'): got str;"),
        (lambda h: h.update_scalar("k", 1.0, count=1.5), TypeError,
         "MessageHub.update_scalar('k').count: got 1.5; expected an int."),
        (lambda h: (h.update_info("k", 1), h.update_info("k", 2, resumed=False)), ValueError,
         "MessageHub.resumed('k'): got False; expected True, as first recorded."),
        (lambda h: h.get_scalar("absent"), KeyError, "get_scalar: got 'absent'; expected one of []"),
        (lambda h: h.load_state_dict({"log_scalars": {}}), KeyError, "missing ['runtime_info', 'resumed_keys']"),
    ],
    ids=["array", "tensor", "str", "count", "resumed-flip", "get_scalar", "load-missing-keys"],
)
def test_errors_name_the_key(call, error, message):
    with pytest.raises(error) as info:
        call(MessageHub(f"hub-{next(_ids)}"))
    assert message in str(info.value)
