"""check_param_scheduler_cfgs and check_optim_wrapper_cfg: errors before anything runs, judged against MMEngine.

The checks need only the config (no optimizer, no model, no dataloader). Every
config below is also built by MMEngine: what MMEngine builds must pass the
check, and what MMEngine refuses must be refused, except the listed cases
where MMEngine accepts a value and then silently misbehaves.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.optim import build_optim_wrapper, check_optim_wrapper_cfg
from mmhooks.optim.scheduler import build_param_schedulers, check_param_scheduler_cfgs

mmengine_registry = pytest.importorskip("mmengine.registry")
mmengine_optim = pytest.importorskip("mmengine.optim")
mmengine_scheduler = pytest.importorskip("mmengine.optim.scheduler")


def error(check: Any, cfg: Any, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        check(cfg, **kwargs)
    return str(info.value)


# ------------------------------------------------------------------ the examples, message in full
def test_milestones_not_a_list_is_named_with_path_value_and_fix() -> None:
    assert error(check_param_scheduler_cfgs, [dict(type="MultiStepLR", milestones=8)]) == (
        "param_scheduler[0].milestones: got 8; expected a list of ints. "
        "Fix: write milestones=[8] (a list, even for one entry)."
    )


def test_unknown_argument_names_the_closest_one() -> None:
    assert error(check_param_scheduler_cfgs, [dict(type="LinearLR", by_epoch=False),
                                              dict(type="CosineAnnealingLR", T_maxx=10)]) == (
        "param_scheduler[1].T_maxx: got 10; expected an argument of CosineAnnealingLR (T_max, begin, by_epoch, end, "
        "eta_min, eta_min_ratio, last_step, verbose). Fix: rename it to 'T_max'."
    )


def test_unknown_type_names_the_closest_one() -> None:
    message = error(check_param_scheduler_cfgs, dict(type="CosineAnealingLR"))
    assert message.startswith("param_scheduler.type: got 'CosineAnealingLR'; expected a registered parameter scheduler")
    assert message.endswith("Fix: did you mean 'CosineAnnealingLR'?")


def test_the_builder_reports_the_same_error_as_the_check() -> None:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    cfg = [dict(type="MultiStepLR", milestones=8)]
    with pytest.raises(ConfigError) as info:
        build_param_schedulers(cfg, optimizer, max_epochs=12)
    assert str(info.value) == error(check_param_scheduler_cfgs, cfg)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (dict(type="LinearLR", by_epoch="False"),
         "param_scheduler.by_epoch: got 'False'; expected True or False. Fix: write by_epoch=True or by_epoch=False."),
        (dict(type="LinearLR", end="500"),
         "param_scheduler.end: got '500'; expected an int (a step index). Fix: write end=500 without quotes."),
        (dict(type="LinearLR", end=0.5),
         "param_scheduler.end: got 0.5; expected a whole number of steps (fractional epochs need "
         "convert_to_iter_based). Fix: write end=0, or add convert_to_iter_based=True."),
        (dict(type="PolyLR", power="2"), "param_scheduler.power: got '2'; expected a number. Fix: write power=0.1."),
        (dict(type="StepLR", step_size=2.5),
         "param_scheduler.step_size: got 2.5; expected an int. Fix: write a whole number of steps, e.g. step_size=10."),
        (dict(type="OneCycleLR", eta_max=0.1, anneal_strategy="cosine"),
         "param_scheduler.anneal_strategy: got 'cosine'; expected one of ['cos', 'linear']. Fix: did you mean 'cos'?"),
        (dict(type="LinearLR", begin=4, end=4),
         "param_scheduler.end: got 4; expected a step greater than begin (4). Fix: raise end or lower begin."),
        (dict(type="StepLR"),
         "param_scheduler.step_size: got nothing; expected a value (StepLR requires step_size). "
         "Fix: add step_size=... to param_scheduler."),
        (dict(type="LinearLR", optimizer="SGD"),
         "param_scheduler.optimizer: got 'SGD'; expected no optimizer key (the optimizer wrapper is passed in). "
         "Fix: delete it."),
        (dict(type="LinearLR", by_epoch=False, convert_to_iter_based=True),
         "param_scheduler.convert_to_iter_based: got True; expected by_epoch=True (only epoch-based configs "
         "convert). Fix: remove convert_to_iter_based, or by_epoch=False."),
        (dict(type="ReduceOnPlateauLR", convert_to_iter_based=True),
         "param_scheduler.convert_to_iter_based: got True; expected False (it acts on validation epochs). "
         "Fix: remove convert_to_iter_based."),
        (dict(start_factor=0.1),
         "param_scheduler.type: got nothing; expected a registered parameter scheduler name. "
         "Fix: add type='LinearLR' or another scheduler name."),
        (5, "param_scheduler: got 5; expected a scheduler config dict, a list of them, or built schedulers. "
            "Fix: write e.g. [dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=500)]."),
    ],
    ids=["by_epoch-str", "end-str", "fractional-end", "power-str", "step_size-float", "choice", "window",
         "missing", "optimizer-key", "convert-iter", "convert-plateau", "no-type", "not-a-config"],
)
def test_scheduler_errors_in_full(cfg: Any, message: str) -> None:
    assert error(check_param_scheduler_cfgs, cfg) == message


def test_keyed_config_is_checked_per_optimizer_and_against_known_names() -> None:
    cfg = dict(generator=[dict(type="LinearLR", star_factor=0.1)])
    assert error(check_param_scheduler_cfgs, cfg).startswith("param_scheduler.generator[0].star_factor: got 0.1;")
    assert error(check_param_scheduler_cfgs, dict(generater=[]), optimizer_names=["generator", "discriminator"]) == (
        "param_scheduler.generater: got []; expected an optimizer name (discriminator, generator). "
        "Fix: rename it to 'generator'."
    )


def test_built_schedulers_and_none_pass() -> None:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    check_param_scheduler_cfgs(None)
    from mmhooks.optim.scheduler import StepLR

    check_param_scheduler_cfgs([StepLR(optimizer, step_size=1), dict(type="LinearLR", by_epoch=False, end=3)])


# ------------------------------------------------------------------ differential: what MMEngine builds passes
def mmengine_builds_scheduler(cfg: dict[str, Any]) -> bool:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    try:
        mmengine_registry.PARAM_SCHEDULERS.build(copy.deepcopy(cfg),
                                                 default_args=dict(optimizer=optimizer, epoch_length=10))
    except Exception:  # MMEngine refuses with TypeError, ValueError, AssertionError, KeyError...
        return False
    return True


def our_check_passes(check: Any, cfg: Any) -> bool:
    try:
        check(copy.deepcopy(cfg))
    except ConfigError:
        return False
    return True


# Real schedules from OpenMMLab configs (mmdet, mmseg, mmpretrain, MMEngine's docs) and mistakes.
SCHEDULES: dict[str, dict[str, Any]] = {
    "mmdet-warmup": dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=500),
    "mmdet-steps": dict(type="MultiStepLR", begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
    "rtmdet-cosine": dict(type="CosineAnnealingLR", eta_min=0.0002, begin=150, end=300, T_max=150, by_epoch=True,
                          convert_to_iter_based=True),
    "mmseg-poly": dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=160000, by_epoch=False),
    "mmpretrain-warmup": dict(type="LinearLR", start_factor=1e-3, by_epoch=True, end=5, convert_to_iter_based=True),
    "mmpretrain-cosine": dict(type="CosineAnnealingLR", T_max=295, eta_min=1e-5, by_epoch=True, begin=5, end=300),
    "fractional-warmup": dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=0.5,
                              convert_to_iter_based=True),
    "one-cycle": dict(type="OneCycleLR", eta_max=0.01, total_steps=100, pct_start=0.25, by_epoch=False),
    "restart": dict(type="CosineRestartLR", periods=[5, 10], restart_weights=[1, 0.5], eta_min=1e-5),
    "plateau": dict(type="ReduceOnPlateauLR", monitor="accuracy/top1", rule="greater", factor=0.5, patience=2),
    "momentum": dict(type="CosineAnnealingMomentum", T_max=10, eta_min=0.85, by_epoch=False),
    "int-eta-min": dict(type="CosineAnnealingLR", T_max=10, eta_min=0),
    "float-t-max": dict(type="CosineAnnealingLR", T_max=12.5, by_epoch=False),
    "tuple-milestones": dict(type="MultiStepLR", milestones=(3, 6)),
    # mistakes MMEngine refuses too
    "milestones-int": dict(type="MultiStepLR", milestones=8),
    "typo-argument": dict(type="CosineAnnealingLR", T_maxx=10),
    "typo-type": dict(type="CosineAnealingLR"),
    "missing-argument": dict(type="StepLR"),
    "window": dict(type="LinearLR", begin=5, end=5),
    "factor-too-big": dict(type="ConstantLR", factor=2.0),
    "bad-rule": dict(type="ReduceOnPlateauLR", rule="lower"),
    "restart-lengths": dict(type="CosineRestartLR", periods=[2, 3], restart_weights=[1], eta_min=0.0),
    "bad-pct": dict(type="OneCycleLR", eta_max=0.1, total_steps=10, pct_start=1.5),
    "convert-iter-based": dict(type="LinearLR", by_epoch=False, convert_to_iter_based=True),
    "optimizer-key": dict(type="LinearLR", optimizer=None),
    "end-string": dict(type="StepLR", step_size=2, end="10", by_epoch=False),
}
# MMEngine accepts these and then misbehaves silently; mmhooks refuses them (a README deliberate difference).
STRICTER = {
    "by_epoch-string": dict(type="LinearLR", by_epoch="False"),  # a non-empty string is True: epochs, not iters
    "milestones-floats": dict(type="MultiStepLR", milestones=[2.5, 5.5]),  # never equal to a step: no decay
    "fractional-end-unconverted": dict(type="LinearLR", end=2.5),  # a window ending between two steps
}


@pytest.mark.parametrize("name", sorted(SCHEDULES), ids=str)
def test_check_accepts_exactly_what_mmengine_builds(name: str) -> None:
    cfg = SCHEDULES[name]
    assert our_check_passes(check_param_scheduler_cfgs, [cfg]) == mmengine_builds_scheduler(cfg)


@pytest.mark.parametrize("name", sorted(STRICTER), ids=str)
def test_values_mmengine_misreads_are_refused(name: str) -> None:
    cfg = STRICTER[name]
    assert not our_check_passes(check_param_scheduler_cfgs, [cfg])
    assert mmengine_builds_scheduler(cfg)


# ------------------------------------------------------------------ downstream classes: signature only
class WeightDecayMixin:
    """Like mmpretrain's weight-decay schedulers: a mixin whose ``__init__`` takes ``*args, **kwargs``."""

    def __init__(self, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(optimizer, "weight_decay", *args, **kwargs)  # type: ignore[call-arg]


@mmengine_registry.PARAM_SCHEDULERS.register_module(name="ToyCosineWeightDecay", force=True)
class ToyCosineWeightDecay(WeightDecayMixin, mmengine_scheduler.CosineAnnealingParamScheduler):
    pass


def test_a_downstream_scheduler_gets_the_signature_check_through_its_bases() -> None:
    message = error(check_param_scheduler_cfgs, [dict(type="ToyCosineWeightDecay", T_maxx=5)])
    assert message.startswith("param_scheduler[0].T_maxx: got 5; expected an argument of ToyCosineWeightDecay (")
    assert "Fix: rename it to 'T_max'." in message
    # values are the downstream class's business: not type-checked
    check_param_scheduler_cfgs([dict(type="ToyCosineWeightDecay", T_max="5", by_epoch="yes")])


def test_mmengine_builtin_found_by_path_gets_the_full_check() -> None:
    message = error(check_param_scheduler_cfgs, [dict(type="mmengine.optim.scheduler.MultiStepLR", milestones=8)])
    assert message.startswith("param_scheduler[0].milestones: got 8; expected a list of ints.")


# ------------------------------------------------------------------ optim_wrapper
class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 2)


def mmengine_builds_wrapper(cfg: dict[str, Any]) -> bool:
    try:
        wrapper = mmengine_optim.build_optim_wrapper(Net(), copy.deepcopy(cfg))
        model = Net()
        wrapper.optimizer.param_groups[0]["params"] = list(model.parameters())
        wrapper.update_params(model.head(torch.ones(1, 4)).sum())  # MMEngine reads clip_grad at the first step
    except Exception:
        return False
    return True


SGD = dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4)
WRAPPERS: dict[str, dict[str, Any]] = {
    "plain": dict(optimizer=dict(SGD)),
    "adamw-clip": dict(optimizer=dict(type="AdamW", lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
                       clip_grad=dict(max_norm=1.0, norm_type=2)),
    "paramwise": dict(optimizer=dict(SGD), paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                                                              custom_keys={"head": dict(lr_mult=0.1)})),
    "accumulate": dict(type="OptimWrapper", optimizer=dict(SGD), accumulative_counts=4),
    "clip-value": dict(optimizer=dict(SGD), clip_grad=dict(type="value", clip_value=0.5)),
    "tensor-lr": dict(optimizer=dict(type="SGD", lr=torch.tensor(0.01))),
    # mistakes MMEngine refuses too
    "typo-optimizer": dict(optimizer=dict(type="SGDD", lr=0.01)),
    "typo-argument": dict(optimizer=dict(type="SGD", lrr=0.01)),
    "negative-lr": dict(optimizer=dict(type="SGD", lr=-0.01)),
    "betas-out-of-range": dict(optimizer=dict(type="Adam", lr=0.01, betas=(0.9, 1.5))),
    "lr-string": dict(optimizer=dict(type="SGD", lr="0.01")),
    "typo-wrapper-key": dict(optimizer=dict(SGD), accumulative_count=2),
    "counts-zero": dict(optimizer=dict(SGD), accumulative_counts=0),
    "decay-mult-without-wd": dict(optimizer=dict(type="SGD", lr=0.01), paramwise_cfg=dict(norm_decay_mult=0.0)),
    "clip-type": dict(optimizer=dict(SGD), clip_grad=dict(type="max", max_norm=1)),
    "clip-string": dict(optimizer=dict(SGD), clip_grad=dict(max_norm="1")),  # torch reads it with float()
    "clip-word": dict(optimizer=dict(SGD), clip_grad=dict(max_norm="one")),
    "constructor-typo": dict(constructor="DefaultOptimizerConstructor", optimizer=dict(SGD)),
    "wrapper-type-typo": dict(type="OptimWraper", optimizer=dict(SGD)),
    "no-optimizer": dict(type="OptimWrapper"),
}
WRAPPER_STRICTER = {
    # MMEngine ignores an unknown paramwise_cfg key (a typo then has no effect); README lists this difference.
    "paramwise-typo": dict(optimizer=dict(SGD), paramwise_cfg=dict(norm_decay=0.0)),
    # MMEngine passes 1 on to torch, which takes any truthy value for a flag.
    "nesterov-int": dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9, nesterov=1)),
}


@pytest.mark.parametrize("name", sorted(WRAPPERS), ids=str)
def test_wrapper_check_accepts_exactly_what_mmengine_builds(name: str) -> None:
    cfg = WRAPPERS[name]
    assert our_check_passes(check_optim_wrapper_cfg, cfg) == mmengine_builds_wrapper(cfg)


@pytest.mark.parametrize("name", sorted(WRAPPER_STRICTER), ids=str)
def test_wrapper_values_mmengine_ignores_are_refused(name: str) -> None:
    cfg = WRAPPER_STRICTER[name]
    assert not our_check_passes(check_optim_wrapper_cfg, cfg)
    assert mmengine_builds_wrapper(cfg)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (dict(optimizer=dict(type="SGD", lr="0.01")),
         "optim_wrapper.optimizer.lr: got '0.01'; expected a number. Fix: write lr=0.01."),
        (dict(optimizer=dict(type="AdamW", lr=0.01, betas=0.9)),
         "optim_wrapper.optimizer.betas: got 0.9; expected a pair of numbers. Fix: write betas=(0.9, 0.999)."),
        (dict(optimizer=dict(type="SGD", lr=-1.0)),
         "optim_wrapper.optimizer: got 'SGD'; expected arguments that SGD accepts. Fix: Invalid learning rate: -1.0."),
        (dict(optimizer=dict(SGD), clip_grad=dict(max_norm="one")),
         "optim_wrapper.clip_grad.max_norm: got 'one'; expected a number. Fix: write e.g. max_norm=1.0."),
        (dict(type="OptimWrapper"),
         "optim_wrapper.optimizer: got None; expected an optimizer config such as dict(type='SGD', lr=0.01). "
         "Fix: add optimizer=dict(type=..., lr=...)."),
        (dict(optimizer=dict(SGD), paramwise_cfg=dict(bypass_duplicate="yes")),
         "optim_wrapper.paramwise_cfg.bypass_duplicate: got 'yes'; expected True or False. "
         "Fix: write bypass_duplicate=True."),
        (dict(optimizer=dict(SGD), paramwise_cfg=dict(custom_keys=dict(head=dict(lr_mult="0.1")))),
         "optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult: got '0.1'; expected a number (a multiplier). "
         "Fix: write lr_mult=1.0."),
        (dict(constructor="DefaultOptimizerConstructor", optimizer=dict(SGD)),
         "optim_wrapper.constructor: got 'DefaultOptimizerConstructor'; expected a registered optimizer wrapper "
         "constructor ("),
    ],
    ids=["lr-string", "betas", "torch-value", "clip-string", "no-optimizer", "bypass", "custom-key-mult",
         "constructor"],
)
def test_wrapper_errors_in_full(cfg: dict[str, Any], message: str) -> None:
    assert error(check_optim_wrapper_cfg, cfg).startswith(message)


def test_gpu_only_switches_are_left_to_the_real_build() -> None:
    check_optim_wrapper_cfg(dict(optimizer=dict(type="AdamW", lr=1e-3, fused=True)))


def test_a_constructor_of_its_own_kind_is_only_named() -> None:
    from mmhooks.registry import OPTIM_WRAPPER_CONSTRUCTORS

    @OPTIM_WRAPPER_CONSTRUCTORS.register_module(name="TwoOptimizersConstructor", force=True)
    class TwoOptimizersConstructor:
        def __init__(self, optim_wrapper_cfg: dict[str, Any], paramwise_cfg: Any = None) -> None:
            self.cfg = optim_wrapper_cfg

    check_optim_wrapper_cfg(dict(constructor="TwoOptimizersConstructor", generator=dict(optimizer=dict(lrr=1))))


def test_the_builder_reports_the_same_error_as_the_check() -> None:
    cfg = dict(optimizer=dict(type="SGD", lr="0.01"))
    with pytest.raises(ConfigError) as info:
        build_optim_wrapper(Net(), cfg)
    assert str(info.value) == error(check_optim_wrapper_cfg, cfg)


def test_a_built_wrapper_and_a_built_optimizer_pass() -> None:
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    check_optim_wrapper_cfg(build_optim_wrapper(model, dict(optimizer=dict(SGD))))
    check_optim_wrapper_cfg(dict(optimizer=optimizer, clip_grad=dict(max_norm=1.0)))
    assert error(check_optim_wrapper_cfg, dict(optimizer=optimizer, accumulative_counts=0)).startswith(
        "optim_wrapper.accumulative_counts: got 0;")
    check_optim_wrapper_cfg(None)
