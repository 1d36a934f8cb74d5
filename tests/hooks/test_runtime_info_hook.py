"""RuntimeInfoHook writes the same message-hub keys and values as MMEngine's."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch

mmengine = pytest.importorskip("mmengine")

from mmhooks.hooks import RuntimeInfoHook  # noqa: E402
from mmhooks.logging import MessageHub  # noqa: E402
from mmhooks.registry import HOOKS  # noqa: E402
from mmhooks.runner import get_priority  # noqa: E402
from mmhooks.testing import FakeRunner  # noqa: E402

_ids = itertools.count()


def _runner(hub, lrs: dict):
    loader = SimpleNamespace(dataset=SimpleNamespace(metainfo={"classes": ("a", "b")}))
    return FakeRunner(
        message_hub=hub, cfg=SimpleNamespace(pretty_text="a = 1\n"), seed=7, experiment_name="exp",
        epoch=1, iter=5, max_epochs=3, max_iters=30, train_dataloader=loader,
        optim_wrapper=SimpleNamespace(get_lr=lambda: lrs),
    )


def _drive(hook, runner) -> list[tuple[str, object]]:
    """Call the hook through a train iteration, a validation inside training and a test; snapshot loop_stage."""
    stages = []
    hook.before_run(runner)
    hook.before_train(runner)
    stages.append(("train", runner.message_hub.get_info("loop_stage")))
    hook.before_train_epoch(runner)
    hook.before_train_iter(runner, batch_idx=0)
    hook.after_train_iter(
        runner, batch_idx=0, outputs={"loss": torch.tensor(0.5), "acc": np.float32(0.25), "n": np.array([3])}
    )
    hook.before_val(runner)
    stages.append(("val", runner.message_hub.get_info("loop_stage")))
    hook.after_val_epoch(runner, metrics={"acc": 0.75, "per_class": np.array([0.5, 1.0]), "top": torch.tensor([2])})
    hook.after_val(runner)
    stages.append(("after_val", runner.message_hub.get_info("loop_stage")))
    hook.after_train(runner)
    stages.append(("after_train", runner.message_hub.get_info("loop_stage")))
    hook.before_val(runner)  # a standalone validation: the stage is removed afterwards
    hook.after_val(runner)
    stages.append(("standalone_val", runner.message_hub.get_info("loop_stage", "absent")))
    hook.before_test(runner)
    stages.append(("test", runner.message_hub.get_info("loop_stage")))
    hook.after_test_epoch(runner, metrics={"acc": 0.5, "matrix": np.eye(2)})
    hook.after_test(runner)
    stages.append(("after_test", runner.message_hub.get_info("loop_stage", "absent")))
    return stages


@pytest.mark.parametrize(
    "lrs",
    [{"lr": [0.1]}, {"base_lr": [0.1], "lr": [0.05, 0.01]}, {"gen.lr": [0.2], "disc.lr": [0.3]}],
    ids=["one-group", "two-groups", "optim-dict"],
)
def test_message_hub_matches_mmengine(lrs):
    from mmengine.hooks import RuntimeInfoHook as MMRuntimeInfoHook
    from mmengine.logging import MessageHub as MMMessageHub

    ours = _runner(MessageHub(f"rt-{next(_ids)}"), lrs)
    theirs = _runner(MMMessageHub(f"rt-{next(_ids)}"), lrs)
    assert _drive(RuntimeInfoHook(), ours) == _drive(MMRuntimeInfoHook(), theirs)
    assert list(ours.message_hub.log_scalars) == list(theirs.message_hub.log_scalars)
    for key, buffer in theirs.message_hub.log_scalars.items():
        np.testing.assert_array_equal(ours.message_hub.get_scalar(key).data[0], buffer.data[0], err_msg=key)
    our_info = dict(ours.message_hub.runtime_info)
    their_info = dict(theirs.message_hub.runtime_info)
    assert our_info.pop("mmengine_version").startswith("0.")
    their_info.pop("mmengine_version")
    assert list(our_info) == list(their_info)
    for key, value in their_info.items():
        np.testing.assert_array_equal(our_info[key], value, err_msg=key)
    assert our_info["cfg"] == "a = 1\n" and our_info["dataset_meta"] == {"classes": ("a", "b")}


def test_get_lr_must_return_a_dict():
    runner = _runner(MessageHub(f"rt-{next(_ids)}"), {})
    runner.optim_wrapper = SimpleNamespace(get_lr=lambda: [0.1])
    with pytest.raises(TypeError, match=r"^runner.optim_wrapper.get_lr\(\): got list; expected a dict"):
        RuntimeInfoHook().before_train_iter(runner, batch_idx=0)


def test_registered_with_very_high_priority():
    hook = HOOKS.build(dict(type="RuntimeInfoHook"))
    assert isinstance(hook, RuntimeInfoHook)
    assert get_priority(hook.priority) == 10
