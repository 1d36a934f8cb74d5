"""ParamSchedulerHook: stepping order with a stub runner, parity with MMEngine's hook, self-built schedulers."""

from __future__ import annotations

import io
from typing import Any

import pytest
import torch

from mmhooks.hooks.param_scheduler_hook import ParamSchedulerHook
from mmhooks.optim.scheduler import MissingMetricError, ReduceOnPlateauLR, build_param_schedulers
from mmhooks.registry import HOOKS
from mmhooks.runner import get_priority
from mmhooks.testing import FakeRunner


class Recorder:
    """A scheduler stand-in that logs its steps."""

    def __init__(self, name: str, by_epoch: bool, log: list[Any], need_val_args: bool = False) -> None:
        self.name, self.by_epoch, self.log, self.need_val_args = name, by_epoch, log, need_val_args

    def step(self, metrics: dict[str, float] | None = None) -> None:
        self.log.append((self.name, metrics))


def test_steps_iteration_then_epoch_then_validation_schedulers_in_list_order() -> None:
    log: list[Any] = []
    runner = FakeRunner(param_schedulers=[
        Recorder("iter-a", False, log), Recorder("epoch-a", True, log),
        Recorder("plateau", True, log, need_val_args=True), Recorder("iter-b", False, log)])
    hook = ParamSchedulerHook()
    hook.after_train_iter(runner, batch_idx=0)
    hook.after_train_epoch(runner)
    hook.after_val_epoch(runner, metrics=None)
    hook.after_val_epoch(runner, metrics={"loss": 1.0})
    assert log == [("iter-a", None), ("iter-b", None), ("epoch-a", None), ("plateau", None),
                   ("plateau", {"loss": 1.0})]


def test_steps_every_list_of_a_dict_and_ignores_none() -> None:
    log: list[Any] = []
    runner = FakeRunner(param_schedulers={"gen": [Recorder("g", False, log)], "disc": [Recorder("d", False, log)]})
    hook = ParamSchedulerHook()
    hook.after_train_iter(runner, batch_idx=0)
    hook.after_train_epoch(runner)
    assert log == [("g", None), ("d", None)]
    runner.param_schedulers = None
    hook.after_train_iter(runner, batch_idx=0)
    hook.after_val_epoch(runner, metrics={"loss": 1.0})
    assert log == [("g", None), ("d", None)]


def test_rejects_other_scheduler_containers() -> None:
    runner = FakeRunner(param_schedulers=(1, 2))
    with pytest.raises(TypeError, match=r"^runner\.param_schedulers: got tuple; expected a list of schedulers"):
        ParamSchedulerHook().after_train_epoch(runner)


def test_is_registered_with_low_priority() -> None:
    assert HOOKS.get("ParamSchedulerHook") is ParamSchedulerHook
    assert get_priority(ParamSchedulerHook.priority) == 70


CONFIG = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, end=5),
    dict(type="CosineAnnealingLR", begin=1, end=4, eta_min=1e-3),
    dict(type="MultiStepLR", milestones=[1], gamma=0.5, convert_to_iter_based=True, begin=2),
    dict(type="ReduceOnPlateauLR", factor=0.5, patience=0),
]
EPOCH_LENGTH, MAX_EPOCHS = 3, 6
LOSSES = [1.0, 0.9, 0.95, 0.95, 0.8, 0.85]


def run_loop(hook: Any, runner: Any, epochs: range) -> list[float]:
    """EpochBasedTrainLoop's hook calls for ``epochs``; returns the lr of every iteration."""
    lrs = []
    optimizer = runner.optim_wrapper
    for epoch in epochs:
        for batch_idx in range(EPOCH_LENGTH):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            hook.after_train_iter(runner, batch_idx=batch_idx)
        hook.after_train_epoch(runner)
        hook.after_val_epoch(runner, metrics={"loss": LOSSES[epoch]})
    return lrs


def sgd() -> torch.optim.SGD:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)


def stub_runner(param_schedulers: Any = None) -> FakeRunner:
    return FakeRunner(optim_wrapper=sgd(), param_schedulers=param_schedulers, train_dataloader=range(EPOCH_LENGTH),
                      max_epochs=MAX_EPOCHS, max_iters=MAX_EPOCHS * EPOCH_LENGTH)


def mmengine_lrs() -> list[float]:
    mm_hooks = pytest.importorskip("mmengine.hooks")
    registry = pytest.importorskip("mmengine.registry").PARAM_SCHEDULERS
    runner = stub_runner()
    schedulers = []
    for cfg in CONFIG:
        cfg = dict(cfg, end=cfg.get("end", MAX_EPOCHS))
        schedulers.append(registry.build(cfg, default_args=dict(optimizer=runner.optim_wrapper,
                                                                  epoch_length=EPOCH_LENGTH)))
    runner.param_schedulers = schedulers
    return run_loop(mm_hooks.ParamSchedulerHook(), runner, range(MAX_EPOCHS))


def test_hook_with_runner_schedulers_matches_mmengine_hook() -> None:
    runner = stub_runner()
    runner.param_schedulers = build_param_schedulers(CONFIG, runner.optim_wrapper, epoch_length=EPOCH_LENGTH,
                                                     max_epochs=MAX_EPOCHS)
    lrs = run_loop(ParamSchedulerHook(), runner, range(MAX_EPOCHS))
    torch.testing.assert_close(lrs, mmengine_lrs(), rtol=0, atol=1e-12)


def test_hook_builds_its_own_config_in_before_train() -> None:
    runner = stub_runner()
    hook = ParamSchedulerHook(param_scheduler=CONFIG)
    hook.before_train(runner)
    assert [type(s).__name__ for s in runner.param_schedulers] == [
        "LinearLR", "CosineAnnealingLR", "MultiStepLR", "ReduceOnPlateauLR"]
    assert runner.param_schedulers[2].begin == 2 * EPOCH_LENGTH  # converted with len(train_dataloader)
    lrs = run_loop(hook, runner, range(MAX_EPOCHS))
    torch.testing.assert_close(lrs, mmengine_lrs(), rtol=0, atol=1e-12)


def test_hook_leaves_schedulers_the_runner_already_has() -> None:
    runner = stub_runner()
    existing = build_param_schedulers([dict(type="StepLR", step_size=1)], runner.optim_wrapper, max_epochs=2)
    runner.param_schedulers = existing
    with pytest.warns(UserWarning, match="runner.param_schedulers is already set"):
        ParamSchedulerHook(param_scheduler=CONFIG).before_train(runner)
    assert runner.param_schedulers is existing


def test_self_built_schedulers_resume_from_a_checkpoint() -> None:
    straight = run_loop(*_started(), range(MAX_EPOCHS))
    hook, runner = _started()
    head = run_loop(hook, runner, range(2))
    buffer = io.BytesIO()
    torch.save({"optimizer": runner.optim_wrapper.state_dict(),
                "param_schedulers": [s.state_dict() for s in runner.param_schedulers]}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)

    resumed_runner = stub_runner()
    resumed_runner.optim_wrapper.load_state_dict(checkpoint["optimizer"])  # Lightning restores it first
    resumed_hook = ParamSchedulerHook(param_scheduler=CONFIG)
    resumed_hook.after_load_checkpoint(resumed_runner, checkpoint)
    resumed_hook.before_train(resumed_runner)
    tail = run_loop(resumed_hook, resumed_runner, range(2, MAX_EPOCHS))
    torch.testing.assert_close(head + tail, straight, rtol=0, atol=1e-12)


def _started() -> tuple[ParamSchedulerHook, FakeRunner]:
    runner = stub_runner()
    hook = ParamSchedulerHook(param_scheduler=CONFIG)
    hook.before_train(runner)
    return hook, runner


def test_missing_monitor_names_the_key_and_the_available_ones() -> None:
    runner = stub_runner()
    runner.param_schedulers = [ReduceOnPlateauLR(runner.optim_wrapper, monitor="loss")]
    with pytest.raises(MissingMetricError) as info:
        ParamSchedulerHook().after_val_epoch(runner, metrics={"val/loss": 0.5, "accuracy/top1": 0.9})
    assert str(info.value) == (
        "ReduceOnPlateauLR.monitor: metric 'loss' is not among the validation metrics ['accuracy/top1', 'val/loss']. "
        "Fix: set monitor to one of those keys, or log 'loss' during validation."
    )
    assert isinstance(info.value, KeyError)
