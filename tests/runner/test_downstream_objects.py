"""Objects that downstream builders return, and downstream code that checks MMEngine's types, work in a run.

OpenMMLab packages register MMEngine subclasses (optimizer-wrapper
constructors that return MMEngine's ``OptimWrapper``, schedulers derived from
MMEngine's ``_ParamScheduler``) and write hooks that test MMEngine's types
(``isinstance(runner.train_loop, EpochBasedTrainLoop)``) or reach global
instances through MMEngine's classes. Each test runs the same job under
MMEngine's Runner and mmhooks' Runner.
"""

from __future__ import annotations

import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")

from mmengine.hooks import Hook as MMHook  # noqa: E402  (after the importorskip)
from mmengine.model import BaseModel as MMModel  # noqa: E402
from mmengine.optim import DefaultOptimWrapperConstructor as MMConstructor  # noqa: E402
from mmengine.optim import OptimWrapper as MMOptimWrapper  # noqa: E402
from mmengine.optim.scheduler import LinearLR as MMLinearLR  # noqa: E402
from mmengine.runner import EpochBasedTrainLoop as MMEpochLoop  # noqa: E402
from mmengine.runner import Runner as MMRunner  # noqa: E402

from mmhooks.model import BaseModel  # noqa: E402
from mmhooks.runner import Runner  # noqa: E402

from backends import backend  # noqa: E402, F401  (the fixture)


def net(base):
    class Net(base):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layer = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.head = nn.Linear(3, 2)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.head(self.bn(self.layer(inputs)))
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets) * 10}
            return out

    return Net()


def loader():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(16, 4, generator=g) + 0.5
    return DataLoader(TensorDataset(x, torch.stack([x.sum(1), x[:, 0] * 2], 1)), batch_size=4)


class ReturnsMMEngineWrapper(MMConstructor):
    """A downstream constructor (as mmpretrain's layer-decay one): it returns MMEngine's own OptimWrapper."""


class HalvingLinearLR(MMLinearLR):
    """A downstream scheduler class derived from MMEngine's (as mmpretrain's CosineAnnealingWeightDecay)."""

    def _get_value(self):
        return [value * 0.5 for value in super()._get_value()]


class PreciseBNLike(MMHook):
    """Skips unless the train loop is MMEngine's EpochBasedTrainLoop, then recomputes BN stats on its dataloader."""

    priority = "ABOVE_NORMAL"

    def __init__(self, seen):
        self.seen = seen

    def after_train_epoch(self, runner):
        if not isinstance(runner.train_loop, MMEpochLoop):
            return
        self.seen.append(runner.train_loop.max_epochs)
        model = runner.model
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the batches below
        with torch.no_grad():
            for data in runner.train_loop.dataloader:
                inputs, _ = model.data_preprocessor(data, False)
                model(inputs)
        for bn in bns:
            bn.momentum = 0.1


class CurrentInstances(MMHook):
    """Looks up MMEngine's current visualizer and message hub in __init__, as mmpretrain's VisualizationHook."""

    def __init__(self, found):
        from mmengine.logging import MessageHub
        from mmengine.visualization import Visualizer

        self.found = found
        found["visualizer_at_init"] = Visualizer.get_current_instance()
        found["hub_at_init"] = MessageHub.get_current_instance()

    def before_train(self, runner):
        from mmengine.config import Config
        from mmengine.optim import OptimWrapper

        self.found.update(visualizer=runner.visualizer, hub=runner.message_hub,
                          config_is_mmengine=isinstance(runner.cfg, Config),
                          wrapper_is_mmengine=isinstance(runner.optim_wrapper, OptimWrapper))


def run(runner_cls, base_model, work_dir, **cfg):
    runner = runner_cls(
        model=net(base_model), work_dir=str(work_dir), train_dataloader=loader(),
        train_cfg=dict(by_epoch=True, max_epochs=2), default_hooks=dict(logger=None, checkpoint=None),
        log_level="WARNING", experiment_name=f"downstream_{uuid.uuid4().hex}", randomness=dict(seed=0), **cfg)
    return runner.train(), runner


def assert_same_state(ours, theirs):
    assert all(torch.isfinite(v).all() for v in theirs.state_dict().values() if v.is_floating_point())
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=0, atol=1e-6, msg=key)


def ours_kwargs(backend):
    return dict(trainer=dict(accelerator="cpu", enable_progress_bar=False), backend=backend)


def test_a_constructor_returning_mmengines_optim_wrapper_trains_as_mmengine(tmp_path, backend):
    optim_wrapper = dict(constructor=ReturnsMMEngineWrapper, optimizer=dict(type="SGD", lr=0.02, momentum=0.9),
                         clip_grad=dict(max_norm=1.0))
    theirs, _ = run(MMRunner, MMModel, tmp_path / "mm", optim_wrapper=dict(optim_wrapper))
    ours, runner = run(Runner, BaseModel, tmp_path / "ours", optim_wrapper=dict(optim_wrapper), **ours_kwargs(backend))
    assert type(runner.optim_wrapper) is MMOptimWrapper  # the constructor's object, used as it is
    assert_same_state(ours, theirs)


def test_an_mmengine_scheduler_subclass_takes_mmhooks_optim_wrapper(tmp_path, backend):
    def schedule():
        return dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                    param_scheduler=[dict(type=HalvingLinearLR, start_factor=0.5, by_epoch=False, begin=0, end=6)])

    lrs: dict[str, list[float]] = {"mm": [], "ours": []}

    def recorder(key):
        class Lr(MMHook):
            def before_train_iter(self, runner, batch_idx, data_batch=None):
                lrs[key].append(runner.optim_wrapper.get_lr()["lr"][0])

        return Lr()

    theirs, _ = run(MMRunner, MMModel, tmp_path / "mm", custom_hooks=[recorder("mm")], **schedule())
    ours, _ = run(Runner, BaseModel, tmp_path / "ours", custom_hooks=[recorder("ours")], **schedule(),
                  **ours_kwargs(backend))
    assert len(lrs["mm"]) == 8
    assert lrs["ours"] == pytest.approx(lrs["mm"], abs=1e-12)
    assert_same_state(ours, theirs)


def test_a_hook_that_checks_mmengines_train_loop_type_runs_as_under_mmengine(tmp_path, backend):
    seen: dict[str, list[int]] = {"mm": [], "ours": []}
    optim = dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.005)))
    theirs, _ = run(MMRunner, MMModel, tmp_path / "mm", custom_hooks=[PreciseBNLike(seen["mm"])], **optim)
    ours, runner = run(Runner, BaseModel, tmp_path / "ours", custom_hooks=[PreciseBNLike(seen["ours"])], **optim,
                       **ours_kwargs(backend))
    assert seen["mm"] == [2, 2] and seen["ours"] == seen["mm"]  # the hook did not switch itself off
    assert isinstance(runner.train_loop, MMEpochLoop)
    assert_same_state(ours, theirs)  # BN statistics included


def test_mmengines_current_instances_are_the_runs_own_from_hook_construction_on(tmp_path, backend):
    found: dict[str, object] = {}
    _, runner = run(Runner, BaseModel, tmp_path / "ours", optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
                    custom_hooks=[dict(type=CurrentInstances, found=found)], **ours_kwargs(backend))
    assert found["visualizer_at_init"] is runner.visualizer is found["visualizer"]
    assert found["hub_at_init"] is runner.message_hub is found["hub"]
    assert found["config_is_mmengine"] is True
    assert found["wrapper_is_mmengine"] is True
