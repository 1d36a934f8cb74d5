"""CheckpointHook against MMEngine's hook, both driven through the same stub runner and loop."""

from __future__ import annotations

import itertools
import logging
import os
import re
import stat

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError, UnsupportedConfigError
from mmhooks.hooks import CheckpointHook
from mmhooks.logging import MessageHub
from mmhooks.registry import HOOKS
from mmhooks.testing import FakeRunner

ITERS_PER_EPOCH = 3
ACC = [0.5, 0.7, 0.6, 0.8, 0.8, 0.9, 0.2, 0.95, 0.3, 0.99]
LOSS = [0.9, 0.8, 0.85, 0.5, 0.6, 0.4, 0.45, 0.3, 0.35, 0.2]


_hub_ids = itertools.count()


def new_hub(state: dict | None = None) -> MessageHub:
    hub = MessageHub(f"test_checkpoint_hook_{next(_hub_ids)}")
    if state is not None:
        hub.load_state_dict(state)
    return hub


class StubRunner(FakeRunner):
    """A FakeRunner with a model, MMEngine's counters and a real message hub; it writes MMEngine's layout."""

    def __init__(self, work_dir, max_epochs: int, max_iters: int, hub: MessageHub | None = None) -> None:
        torch.manual_seed(0)
        super().__init__(work_dir=str(work_dir), model=nn.Linear(2, 1), max_epochs=max_epochs, max_iters=max_iters,
                         message_hub=hub or new_hub(), logger=logging.getLogger("test_checkpoint_hook"))


def run_epochs(hook, runner, max_epochs: int, val_interval: int = 1, metrics=None) -> None:
    """MMEngine's epoch loop order: train iters, after_train_epoch, epoch += 1, then val."""
    hook.before_train(runner)
    for _ in range(runner.epoch, max_epochs):
        for batch_idx in range(ITERS_PER_EPOCH):
            hook.after_train_iter(runner, batch_idx=batch_idx)
            runner.iter += 1
        hook.after_train_epoch(runner)
        runner.epoch += 1
        if runner.epoch % val_interval == 0 or runner.epoch == max_epochs:
            hook.after_val_epoch(runner, metrics=(metrics or default_metrics)(runner.epoch))
    hook.after_train(runner)


def run_iters(hook, runner, max_iters: int, val_interval: int, metrics=None) -> None:
    """MMEngine's iter loop: one epoch, val after iteration ``I`` when ``I % val_interval == 0`` or last."""
    hook.before_train(runner)
    for _ in range(runner.iter, max_iters):
        hook.after_train_iter(runner, batch_idx=runner.iter)
        runner.iter += 1
        if runner.iter % val_interval == 0 or runner.iter == max_iters:
            hook.after_val_epoch(runner, metrics=(metrics or default_metrics)(runner.iter))
    hook.after_train_epoch(runner)
    hook.after_train(runner)


def default_metrics(n: int) -> dict:
    return {"acc": ACC[(n - 1) % len(ACC)], "toy/loss": LOSS[(n - 1) % len(LOSS)]}


def relative(value, root: str):
    """Replace the run's root directory in paths so two runs can be compared."""
    if isinstance(value, str):
        return value.replace(root, "<root>")
    if isinstance(value, dict):
        return {key: relative(item, root) for key, item in value.items()}
    if isinstance(value, list):
        return [relative(item, root) for item in value]
    return value


def outcome(runner, root) -> dict:
    """Everything the comparison covers: files, their meta and hub records, last_checkpoint, hub info."""
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            key = os.path.relpath(path, root)
            if name.endswith(".pth"):
                ckpt = torch.load(path, weights_only=False)
                files[key] = (ckpt["meta"], relative(ckpt.get("message_hub"), str(root)), sorted(ckpt))
            else:
                with open(path) as handle:
                    files[key] = relative(handle.read(), str(root))
    return dict(files=files, saved=runner.saved, hub=relative(runner.message_hub.runtime_info, str(root)))


def run_both(tmp_path, hook_kwargs, drive, out_dir=False, **drive_kwargs):
    mm_hooks = pytest.importorskip("mmengine.hooks")
    results = []
    for name, cls in (("theirs", mm_hooks.CheckpointHook), ("ours", CheckpointHook)):
        root = tmp_path / name
        kwargs = dict(hook_kwargs)
        if out_dir:
            kwargs["out_dir"] = str(root / "out")
        hook = cls(**kwargs)
        max_epochs = drive_kwargs.get("max_epochs", 1)
        max_iters = drive_kwargs.get("max_iters", max_epochs * ITERS_PER_EPOCH)
        runner = StubRunner(root / "work", max_epochs=max_epochs, max_iters=max_iters)
        os.makedirs(runner.work_dir, exist_ok=True)
        drive(hook, runner, **drive_kwargs)
        results.append(outcome(runner, root))
    return results


EPOCH_CASES = {
    "interval=1": (dict(interval=1), dict(max_epochs=4)),
    "class-default-interval": (dict(), dict(max_epochs=3)),
    "interval=2,max_keep=2": (dict(interval=2, max_keep_ckpts=2), dict(max_epochs=7)),
    "save_last=False": (dict(interval=3, save_last=False), dict(max_epochs=7)),
    "save_begin=3": (dict(interval=2, save_begin=3), dict(max_epochs=8)),
    "save_best=acc,max_keep=1": (dict(interval=2, max_keep_ckpts=1, save_best="acc"), dict(max_epochs=8)),
    "save_best=list": (dict(interval=1, save_best=["acc", "toy/loss"]), dict(max_epochs=6, val_interval=2)),
    "save_best=auto": (dict(interval=2, save_best="auto"), dict(max_epochs=5)),
    "save_best=rule-less": (dict(interval=1, save_best="acc", rule="less"), dict(max_epochs=4)),
    "filename_tmpl": (dict(interval=1, filename_tmpl="ckpt_{:03d}.pth", save_best="acc"), dict(max_epochs=3)),
    "no-optimizer": (dict(interval=1, save_optimizer=False), dict(max_epochs=2)),
}


@pytest.mark.parametrize("name", sorted(EPOCH_CASES), ids=sorted(EPOCH_CASES))
def test_epoch_based_matches_mmengine(tmp_path, name):
    hook_kwargs, drive_kwargs = EPOCH_CASES[name]
    theirs, ours = run_both(tmp_path, hook_kwargs, run_epochs, **drive_kwargs)
    assert ours == theirs


ITER_CASES = {
    "interval=2,best-off-interval": (dict(interval=2, by_epoch=False, save_best="acc"), dict(max_iters=9,
                                                                                                val_interval=3)),
    "interval=4,max_keep=2": (dict(interval=4, by_epoch=False, max_keep_ckpts=2), dict(max_iters=13, val_interval=5)),
    "save_begin=5": (dict(interval=3, by_epoch=False, save_begin=5), dict(max_iters=12, val_interval=4)),
    "save_best=toy/loss": (dict(interval=5, by_epoch=False, save_best="toy/loss", max_keep_ckpts=1),
                           dict(max_iters=10, val_interval=2)),
}


@pytest.mark.parametrize("name", sorted(ITER_CASES), ids=sorted(ITER_CASES))
def test_iter_based_matches_mmengine(tmp_path, name):
    hook_kwargs, drive_kwargs = ITER_CASES[name]
    theirs, ours = run_both(tmp_path, hook_kwargs, run_iters, **drive_kwargs)
    assert ours == theirs


def test_out_dir_joins_work_dir_basename_like_mmengine(tmp_path):
    theirs, ours = run_both(tmp_path, dict(interval=1, save_best="acc"), run_epochs, out_dir=True, max_epochs=2)
    assert ours == theirs
    assert "out/work/epoch_2.pth" in ours["files"]
    assert ours["files"]["work/last_checkpoint"] == "<root>/out/work/epoch_2.pth"


def test_published_keys_write_trimmed_copies(tmp_path):
    theirs, ours = run_both(
        tmp_path, dict(interval=1, save_best="acc", published_keys=["meta", "state_dict"]), run_epochs, max_epochs=2
    )

    def published(result: dict) -> dict:
        # The hash covers torch's per-save serialization id, so it differs from run to run (MMEngine too).
        found = {}
        for key in result["files"]:
            match = re.fullmatch(r"(.*)-([0-9a-f]{8})\.pth", key)
            if match:
                found[match.group(1)] = key
        return found

    assert sorted(published(ours)) == sorted(published(theirs)) == ["work/best_acc_epoch_2", "work/epoch_2"]
    for key in published(ours).values():
        ckpt = torch.load(tmp_path / "ours" / key, weights_only=True)
        assert sorted(ckpt) == ["meta", "state_dict"]
    unpublished = {k: v for k, v in ours["files"].items() if k not in published(ours).values()}
    assert unpublished == {k: v for k, v in theirs["files"].items() if k not in published(theirs).values()}


def resumed_runner(tmp_path, max_epochs: int, resume_from: str, load_from=None) -> StubRunner:
    """A runner whose hub and counters come from ``resume_from``, as ``Runner.resume`` sets them."""
    ckpt = torch.load(resume_from, weights_only=False)
    runner = StubRunner(tmp_path, max_epochs=max_epochs, max_iters=max_epochs * ITERS_PER_EPOCH,
                        hub=new_hub(ckpt["message_hub"]))
    runner.epoch, runner.iter = ckpt["meta"]["epoch"], ckpt["meta"]["iter"]
    runner._resume, runner.load_from = True, load_from
    return runner


def test_resume_keeps_exactly_mmengines_files(tmp_path):
    mm_hooks = pytest.importorskip("mmengine.hooks")
    results = {}
    for name, cls in (("theirs", mm_hooks.CheckpointHook), ("ours", CheckpointHook)):
        work = tmp_path / name
        first = StubRunner(work, max_epochs=3, max_iters=9)
        run_epochs(cls(interval=1, max_keep_ckpts=2, save_best="acc"), first, max_epochs=3)
        runner = resumed_runner(work, 7, str(work / "epoch_3.pth"))
        run_epochs(cls(interval=1, max_keep_ckpts=2, save_best="acc"), runner, max_epochs=7)
        results[name] = outcome(runner, work)
    theirs, ours = results["theirs"], results["ours"]
    assert "epoch_3.pth" not in ours["files"]  # the file the run resumed from is rotated out in its turn
    assert ours["files"] == theirs["files"]
    assert ours["hub"] == theirs["hub"]
    assert ours["hub"]["keep_ckpt_ids"] == [6, 7]


def test_previous_best_is_replaced_even_when_it_was_resumed_from(tmp_path):
    mm_hooks = pytest.importorskip("mmengine.hooks")
    results = {}
    for name, cls in (("theirs", mm_hooks.CheckpointHook), ("ours", CheckpointHook)):
        work = tmp_path / name
        first = StubRunner(work, max_epochs=2, max_iters=6)
        run_epochs(cls(interval=1, save_best="acc"), first, max_epochs=2)
        best = str(work / "best_acc_epoch_2.pth")
        runner = resumed_runner(work, 4, best, load_from=best)
        run_epochs(cls(interval=1, save_best="acc"), runner, max_epochs=4)  # new best at epoch 4
        results[name] = outcome(runner, work)
        assert not os.path.exists(best)
        assert runner.message_hub.runtime_info["best_ckpt"] == str(work / "best_acc_epoch_4.pth")
        assert runner.message_hub.runtime_info["best_score"] == 0.8
    assert results["ours"]["files"] == results["theirs"]["files"]


@pytest.mark.parametrize(
    ("key", "fix"),
    [("accu", "did you mean 'acc'?"), ("bbox_mAP", "set save_best to one of ['acc', 'toy/loss'], or to 'auto'.")],
    ids=["near-match", "no-match"],
)
def test_missing_save_best_metric_names_key_path_and_available_keys(tmp_path, key, fix):
    hook = CheckpointHook(interval=1, save_best=key)
    runner = StubRunner(tmp_path, max_epochs=1, max_iters=3)
    hook.before_train(runner)
    with pytest.raises(ConfigError) as info:
        hook.after_val_epoch(runner, metrics={"acc": 0.5, "toy/loss": 0.1})
    assert str(info.value) == (
        f"default_hooks.checkpoint.save_best: got {key!r}; expected a metric key the evaluator returns "
        f"(acc, toy/loss). Fix: {fix}"
    )


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_unwritable_out_dir_fails_at_before_train(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        hook = CheckpointHook(interval=1, out_dir=str(locked))
        runner = StubRunner(tmp_path / "work", max_epochs=1, max_iters=3)
        with pytest.raises(ConfigError) as info:
            hook.before_train(runner)
    finally:
        locked.chmod(stat.S_IRWXU)
    assert str(info.value).startswith(f"default_hooks.checkpoint.out_dir: got '{locked / 'work'}'; expected a ")
    assert str(info.value).endswith("Fix: choose a directory you can write to, or fix its permissions.")


def test_out_dir_that_cannot_be_created_fails_at_before_train(tmp_path):
    (tmp_path / "a_file").write_text("")
    hook = CheckpointHook(interval=1)
    runner = StubRunner(tmp_path / "a_file" / "work", max_epochs=1, max_iters=3)
    with pytest.raises(ConfigError) as info:
        hook.before_train(runner)
    assert str(info.value) == (
        f"default_hooks.checkpoint.work_dir: got '{tmp_path / 'a_file' / 'work'}'; expected a directory this "
        "process can create (Not a directory). Fix: choose a directory you can write to, or fix its permissions."
    )


def test_empty_metrics_warn_and_skip(tmp_path, caplog):
    hook = CheckpointHook(interval=1, save_best="acc")
    runner = StubRunner(tmp_path, max_epochs=1, max_iters=3)
    hook.before_train(runner)
    with caplog.at_level(logging.WARNING, logger="test_checkpoint_hook"):
        hook.after_val_epoch(runner, metrics={})
    assert runner.saved == []
    assert caplog.messages == [
        "Since `metrics` is an empty dict, the behavior to save the best checkpoint will be skipped in this "
        "evaluation."
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(save_best="f1"), ConfigError,
         "CheckpointHook.rule: got None; expected 'greater' or 'less': it cannot be inferred for save_best key "
         "'f1'. Fix: set rule='greater' or rule='less' (or extend greater_keys/less_keys)."),
        (dict(save_best=["acc", "acc"]), ConfigError,
         "CheckpointHook.save_best: got ['acc', 'acc']; expected a list without duplicates. "
         "Fix: remove the repeated keys."),
        (dict(save_best=["auto", "acc"]), ConfigError,
         "CheckpointHook.save_best: got ['auto', 'acc']; expected 'auto' alone or a list of metric keys. "
         "Fix: use save_best='auto'."),
        (dict(save_best="acc", rule="bigger"), ConfigError,
         "CheckpointHook.rule: got 'bigger'; expected one of ['greater', 'less'] or None. "
         "Fix: pick one of ['greater', 'less']."),
        (dict(save_best=["acc", "loss"], rule=["greater", "less", "less"]), ConfigError,
         "CheckpointHook.rule: got ['greater', 'less', 'less']; expected one rule or one per save_best key (2). "
         "Fix: give a single rule or one per key."),
        (dict(save_begin=-1), ConfigError,
         "CheckpointHook.save_begin: got -1; expected an int >= 0. Fix: use save_begin=0 to save from the start."),
        (dict(published_keys=["meta", "meta"]), ConfigError,
         "CheckpointHook.published_keys: got ['meta', 'meta']; expected a list without duplicates. "
         "Fix: remove the repeated keys."),
        (dict(backend_args=dict(backend="petrel")), UnsupportedConfigError,
         "CheckpointHook.backend_args: got {'backend': 'petrel'}; expected a local backend (backend='local') or "
         "None. Fix: write checkpoints to a local directory and copy them to remote storage afterwards."),
    ],
    ids=["uninferable-rule", "duplicate-best", "auto-not-alone", "bad-rule", "rule-length", "save_begin",
         "duplicate-published", "remote-backend"],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        CheckpointHook(**kwargs)
    assert str(info.value) == message


def test_rule_inference_matches_mmengine():
    mm_hooks = pytest.importorskip("mmengine.hooks")
    keys = ["acc", "top1", "coco/bbox_mAP", "AR@100", "val/loss", "mIoU", "LOSS_total", "precision"]
    ours = CheckpointHook(save_best=keys)
    theirs = mm_hooks.CheckpointHook(save_best=keys)
    assert ours.rules == theirs.rules


def test_registered_and_built_from_config(tmp_path):
    hook = HOOKS.build(dict(type="CheckpointHook", interval=2, by_epoch=False))
    assert isinstance(hook, CheckpointHook)
    assert hook.filename_tmpl == "iter_{}.pth"
    assert hook.priority == "VERY_LOW"


@pytest.mark.parametrize(
    "value", [None, "acc", ["acc", "psnr"], ("acc",)], ids=["default", "str", "list", "tuple"])
@pytest.mark.parametrize("key", ["greater_keys", "less_keys"])
def test_key_lists_have_mmengines_types(key, value):
    mm_hooks = pytest.importorskip("mmengine.hooks")
    ours, theirs = getattr(CheckpointHook(**{key: value}), key), getattr(mm_hooks.CheckpointHook(**{key: value}), key)
    assert type(ours) is type(theirs)
    assert list(ours) == list(theirs)


NAMES = ["loss", "val_loss", "accuracy/top1", "mIoU", "AR@100", "coco/bbox_mAP", "Precision", "aAcc", "loss_acc",
         "top", "Loss", "psnr_loss", "PSNR"]


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
@pytest.mark.parametrize("keys", [{}, dict(greater_keys=["psnr"]), dict(less_keys="acc")],
                         ids=["defaults", "greater-psnr", "less-acc"])
def test_rule_inference_matches_mmengine(name, keys):
    mm_hooks = pytest.importorskip("mmengine.hooks")
    try:
        theirs = mm_hooks.CheckpointHook(save_best=name, **keys).rules
    except ValueError:
        with pytest.raises(ConfigError, match="cannot be inferred"):
            CheckpointHook(save_best=name, **keys)
        return
    assert CheckpointHook(save_best=name, **keys).rules == theirs


def test_smaller_max_keep_ckpts_on_resume_trims_files_and_hub_like_mmengine(tmp_path):
    mm_hooks = pytest.importorskip("mmengine.hooks")
    results = {}
    for name, cls in (("theirs", mm_hooks.CheckpointHook), ("ours", CheckpointHook)):
        work = tmp_path / name
        run_epochs(cls(interval=1, max_keep_ckpts=3), StubRunner(work, max_epochs=3, max_iters=9), max_epochs=3)
        runner = resumed_runner(work, 3, str(work / "epoch_3.pth"))
        cls(interval=1, max_keep_ckpts=1).before_train(runner)  # resumed with a smaller max_keep_ckpts
        results[name] = outcome(runner, work)
    assert results["ours"]["files"] == results["theirs"]["files"]
    assert results["ours"]["hub"] == results["theirs"]["hub"]
    assert results["ours"]["hub"]["keep_ckpt_ids"] == [3]
    assert sorted(f for f in results["ours"]["files"] if f.endswith(".pth")) == ["epoch_3.pth"]
