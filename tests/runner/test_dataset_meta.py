"""``dataset_meta`` reaches the evaluator, its metrics and the visualizer as in MMEngine's loops.

MMEngine's train loop hands the train dataset's ``metainfo`` to the visualizer,
the val and test loops hand theirs to the evaluator (and so each metric) and
the visualizer. OpenMMLab code reads it there: mmdet's ``CocoMetric`` and
mmseg's ``IoUMetric`` take class names from ``self.dataset_meta``, mmpretrain's
``UniversalVisualizer`` writes class names next to predicted labels. Each test
runs one job under MMEngine's Runner and mmhooks' Runner and compares what the
metric and a hook saw.
"""

from __future__ import annotations

import logging
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")

from mmengine.evaluator import BaseMetric as MMMetric  # noqa: E402  (after the importorskip)
from mmengine.hooks import Hook as MMHook  # noqa: E402
from mmengine.model import BaseModel as MMModel  # noqa: E402
from mmengine.runner import Runner as MMRunner  # noqa: E402

from mmhooks.model import BaseModel  # noqa: E402
from mmhooks.runner import Runner  # noqa: E402


class MetaDataset(TensorDataset):
    """A dataset with ``metainfo``, as every OpenMMLab ``BaseDataset``."""

    def __init__(self, classes, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(8, 4, generator=g)
        super().__init__(x, x.sum(1, keepdim=True))
        self.metainfo = dict(classes=classes)


class PlainDataset(TensorDataset):
    def __init__(self):
        x = torch.randn(8, 4, generator=torch.Generator().manual_seed(3))
        super().__init__(x, x.sum(1, keepdim=True))


def net(base):
    class Net(base):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layer = nn.Linear(4, 1)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
            if mode == "predict":
                return [dict(pred=o, target=t) for o, t in zip(out, targets)]
            return out

    return Net()


SEEN: dict[str, list] = {}  # the metric is built from a config (copied): it records under a key


class ClassNamesMetric(MMMetric):
    """A downstream metric (MMEngine's BaseMetric) that reads class names as mmdet's CocoMetric does."""

    def __init__(self, key):
        super().__init__(prefix="meta")
        self.seen = SEEN[key]

    def process(self, data_batch, data_samples):
        self.results.extend(float((s["pred"] - s["target"]).abs()) for s in data_samples)

    def compute_metrics(self, results):
        meta = self.dataset_meta
        self.seen.append(None if meta is None else tuple(meta["classes"]))
        return dict(mae=sum(results) / len(results))


class VisualizerMeta(MMHook):
    """Records the visualizer's dataset_meta where downstream visualization hooks read it."""

    def __init__(self, seen):
        self.seen = seen

    def _record(self, stage, runner):
        meta = runner.visualizer.dataset_meta
        self.seen.append((stage, None if meta is None else tuple(meta["classes"])))

    def before_run(self, runner):
        self._record("before_run", runner)

    def before_train(self, runner):
        self._record("before_train", runner)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._record("after_val_iter", runner)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._record("after_test_iter", runner)


def build(runner_cls, base_model, work_dir, seen, train=True, val=True, test=False, val_dataset=None):
    key = uuid.uuid4().hex
    SEEN[key] = seen["metric"]
    kwargs = {}
    if train:
        kwargs.update(train_dataloader=DataLoader(MetaDataset(("train-a", "train-b"), 1), batch_size=4),
                      train_cfg=dict(by_epoch=True, max_epochs=1),
                      optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)))
    if val:
        dataset = MetaDataset(("val-a", "val-b"), 2) if val_dataset is None else val_dataset
        kwargs.update(val_dataloader=DataLoader(dataset, batch_size=4), val_cfg=dict(),
                      val_evaluator=dict(type=ClassNamesMetric, key=key))
    if test:
        kwargs.update(test_dataloader=DataLoader(MetaDataset(("test-a", "test-b"), 3), batch_size=4), test_cfg=dict(),
                      test_evaluator=dict(type=ClassNamesMetric, key=key))
    if runner_cls is Runner:
        kwargs["trainer"] = dict(accelerator="cpu", enable_progress_bar=False)
    return runner_cls(
        model=net(base_model), work_dir=str(work_dir), default_hooks=dict(logger=None, checkpoint=None),
        custom_hooks=[VisualizerMeta(seen["visualizer"])], log_level="WARNING",
        experiment_name=f"meta_{uuid.uuid4().hex}", randomness=dict(seed=0), **kwargs)


def seen_lists():
    return {"metric": [], "visualizer": []}


def test_train_with_validation_hands_each_loader_its_dataset_meta_as_mmengine(tmp_path):
    theirs, ours = seen_lists(), seen_lists()
    build(MMRunner, MMModel, tmp_path / "mm", theirs).train()
    build(Runner, BaseModel, tmp_path / "ours", ours).train()
    assert theirs["metric"] == [("val-a", "val-b")]
    assert theirs["visualizer"][0] == ("before_run", ("val-a", "val-b"))
    assert ours == theirs


def test_train_without_validation_gives_the_visualizer_the_train_dataset_meta(tmp_path):
    theirs, ours = seen_lists(), seen_lists()
    build(MMRunner, MMModel, tmp_path / "mm", theirs, val=False).train()
    build(Runner, BaseModel, tmp_path / "ours", ours, val=False).train()
    assert theirs["visualizer"] == [("before_run", ("train-a", "train-b")), ("before_train", ("train-a", "train-b"))]
    assert ours == theirs


def val_then_test(tmp_path):
    theirs, ours = seen_lists(), seen_lists()
    mm_runner = build(MMRunner, MMModel, tmp_path / "mm", theirs, train=False, test=True)
    runner = build(Runner, BaseModel, tmp_path / "ours", ours, train=False, test=True)
    for one in (mm_runner, runner):
        one.val()
        one.test()
    return theirs, ours


def test_val_and_test_alone_hand_their_own_dataset_meta(tmp_path):
    theirs, ours = val_then_test(tmp_path)
    assert theirs["metric"] == [("val-a", "val-b"), ("test-a", "test-b")]
    assert ours["metric"] == theirs["metric"]

    def iterations(seen):
        return [entry for entry in seen["visualizer"] if entry[0] != "before_run"]

    assert iterations(ours) == iterations(theirs)


def test_val_and_test_alone_hand_their_dataset_meta_before_before_run(tmp_path):
    theirs, ours = val_then_test(tmp_path)
    assert ours == theirs


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append((record.levelname, record.getMessage()))


def test_a_dataset_without_metainfo_leaves_dataset_meta_none_and_logs_mmengines_warning(tmp_path):
    theirs, ours = seen_lists(), seen_lists()
    logged = {}
    for key, runner_cls, base in (("mm", MMRunner, MMModel), ("ours", Runner, BaseModel)):
        runner = build(runner_cls, base, tmp_path / key, theirs if key == "mm" else ours, train=False,
                       val_dataset=PlainDataset())
        handler = Lines()
        runner.logger.addHandler(handler)
        try:
            runner.val()
        finally:
            runner.logger.removeHandler(handler)
        logged[key] = [line for line in handler.lines if "metainfo" in line[1]]
    assert theirs["metric"] == [None]
    assert ours == theirs
    assert logged["mm"] == [("WARNING", "Dataset PlainDataset has no metainfo. ``dataset_meta`` in evaluator, metric "
                                        "and visualizer will be None.")]
    assert logged["ours"] == logged["mm"]
