"""build_optim_wrapper, DefaultOptimWrapperConstructor (paramwise_cfg) and auto_scale_lr.

Parameter groups are compared with the ones MMEngine builds for the same model.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.optim import (
    AmpOptimWrapper,
    OptimWrapper,
    OptimWrapperDict,
    auto_scale_lr,
    build_optim_wrapper,
)
from mmhooks.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

mmengine = pytest.importorskip("mmengine")
from mmengine.optim import build_optim_wrapper as mm_build_optim_wrapper  # noqa: E402


class Net(nn.Module):
    """Conv, depthwise conv, BN, GroupNorm, LayerNorm, biases, a root 1-d parameter and a frozen layer."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 3, groups=4), nn.GroupNorm(2, 4)
        )
        self.neck = nn.Conv2d(4, 4, 1, bias=False)
        self.head = nn.Linear(4, 2)
        self.head_norm = nn.LayerNorm(2)
        self.scale = nn.Parameter(torch.ones(2))
        self.frozen = nn.Linear(2, 2)
        self.frozen.weight.requires_grad_(False)


class SharedNet(nn.Module):
    """Two layers that share one weight tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = nn.Linear(2, 2)
        self.b.weight = self.a.weight


OPTIMIZER = dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-3)
PARAMWISE = {
    "none": None,
    "multipliers": dict(
        bias_lr_mult=2.0, bias_decay_mult=0.5, norm_decay_mult=0.0, dwconv_decay_mult=0.1, flat_decay_mult=0.3
    ),
    "flat-only": dict(flat_decay_mult=0.0),
    "bias-decay-only": dict(bias_decay_mult=0.0),
    "dwconv-only": dict(dwconv_decay_mult=0.5),
    "norm-and-flat": dict(norm_decay_mult=0.5, flat_decay_mult=0.0),
    "custom-keys-extra-settings": dict(
        custom_keys={"head": dict(lr_mult=0.5, momentum=0.5), "backbone.0": dict(decay_mult=2.0, dampening=0.1)},
        dwconv_decay_mult=0.0,
    ),
    "custom-keys": dict(
        custom_keys={
            "backbone": dict(lr_mult=0.1),
            "backbone.1": dict(lr_mult=0.5, decay_mult=0.0),
            "head": dict(decay_mult=0.2),
            "bias": dict(lr_mult=3.0),  # ties with 'head' (length 4) on head.bias: alphabetical wins
            ".scale": dict(lr_mult=0.0),  # a root parameter's name starts with '.' in MMEngine's matching
        },
        bias_lr_mult=2.0,
        norm_decay_mult=0.0,
    ),
}


def describe(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """Each group's settings, with the parameters as identities (same model object on both sides)."""
    return [
        {**{k: v for k, v in group.items() if k != "params"}, "params": [id(p) for p in group["params"]]}
        for group in optimizer.param_groups
    ]


@pytest.mark.parametrize("name", list(PARAMWISE), ids=str)
@pytest.mark.parametrize("wrapper_type", ["OptimWrapper", None], ids=["typed", "default-type"])
def test_paramwise_groups_match_mmengine(name: str, wrapper_type: str | None) -> None:
    model = Net()
    cfg: dict[str, Any] = dict(optimizer=dict(OPTIMIZER), accumulative_counts=2)
    if wrapper_type is not None:
        cfg["type"] = wrapper_type
    if PARAMWISE[name] is not None:
        cfg["paramwise_cfg"] = copy.deepcopy(PARAMWISE[name])
    ours = build_optim_wrapper(model, copy.deepcopy(cfg))
    theirs = mm_build_optim_wrapper(model, copy.deepcopy(cfg))
    assert type(ours) is OptimWrapper
    assert describe(ours.optimizer) == describe(theirs.optimizer)
    assert ours.get_lr() == theirs.get_lr()
    assert ours.accumulative_counts == theirs._accumulative_counts == 2


def test_custom_key_tie_and_frozen_parameter_in_closed_form() -> None:
    model = Net()
    wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(OPTIMIZER), paramwise_cfg=copy.deepcopy(PARAMWISE["custom-keys"]))
    )
    by_param = {id(g["params"][0]): g for g in wrapper.optimizer.param_groups}
    head_bias = by_param[id(model.head.bias)]
    assert (head_bias["lr"], head_bias["weight_decay"], head_bias["lr_mult"]) == (pytest.approx(0.3), 1e-3, 3.0)
    bn_weight = by_param[id(model.backbone[1].weight)]
    assert (bn_weight["lr"], bn_weight["weight_decay"]) == (pytest.approx(0.05), 0.0)
    assert id(model.frozen.weight) not in by_param and id(model.frozen.bias) in by_param


def test_bypass_duplicate_matches_mmengine() -> None:
    model = SharedNet()
    cfg = dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(bypass_duplicate=True, bias_lr_mult=0.5))
    ours = build_optim_wrapper(model, copy.deepcopy(cfg))
    theirs = mm_build_optim_wrapper(model, copy.deepcopy(cfg))
    assert describe(ours.optimizer) == describe(theirs.optimizer)
    assert len(ours.optimizer.param_groups) == 3


def test_shared_parameters_without_bypass_duplicate_point_to_it() -> None:
    with pytest.raises(ConfigError) as info:
        build_optim_wrapper(SharedNet(), dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(bias_lr_mult=0.5)))
    assert str(info.value).startswith("optim_wrapper.paramwise_cfg.bypass_duplicate: got False;")


class DeformConv2d(nn.Module):
    """Named like mmcv's deformable conv: its ``conv_offset`` child gets ``dcn_offset_lr_mult``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_offset = nn.Conv2d(2, 2, 1)
        self.weight = nn.Parameter(torch.ones(2, 2, 1, 1))


def test_dcn_offset_lr_mult_in_closed_form() -> None:
    model = nn.Sequential(DeformConv2d())
    wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(dcn_offset_lr_mult=0.1, bias_lr_mult=2.0))
    )
    lrs = [group["lr"] for group in wrapper.optimizer.param_groups]
    assert lrs == [0.1, pytest.approx(0.01), pytest.approx(0.01)]  # dcn weight, offset weight, offset bias


def test_amp_type_and_clip_grad_are_passed_to_the_wrapper() -> None:
    cfg = dict(type="AmpOptimWrapper", dtype="bfloat16", optimizer=dict(type="AdamW", lr=1e-3),
               clip_grad=dict(max_norm=1.0))
    wrapper = build_optim_wrapper(nn.Linear(2, 1), cfg)
    assert isinstance(wrapper, AmpOptimWrapper)
    assert (wrapper.precision, wrapper.clip_grad_kwargs, type(wrapper.optimizer)) == (
        "bf16-mixed", {"max_norm": 1.0}, torch.optim.AdamW)
    assert cfg["clip_grad"] == dict(max_norm=1.0)


def test_built_optimizer_wrapper_instance_and_dict_of_wrappers() -> None:
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    wrapped = build_optim_wrapper(model, dict(optimizer=optimizer, accumulative_counts=3))
    assert (type(wrapped), wrapped.optimizer, wrapped.accumulative_counts) == (OptimWrapper, optimizer, 3)
    assert build_optim_wrapper(model, wrapped) is wrapped
    gen = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.2))
    both = build_optim_wrapper(model, dict(gen=gen, disc=wrapped))
    assert isinstance(both, OptimWrapperDict) and both.get_lr() == {"gen.lr": [0.2], "disc.lr": [0.1]}


def test_every_torch_optimizer_is_registered() -> None:
    expected = {
        ("TorchAdafactor" if name == "Adafactor" else name)
        for name in dir(torch.optim)
        if isinstance(getattr(torch.optim, name), type)
        and issubclass(getattr(torch.optim, name), torch.optim.Optimizer)
    }
    assert {name: OPTIMIZERS.get(name) for name in expected} == {
        name: getattr(torch.optim, "Adafactor" if name == "TorchAdafactor" else name) for name in expected
    }


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class GanConstructor:
    """A multi-optimizer constructor, as a downstream project writes one."""

    def __init__(self, optim_wrapper_cfg: dict[str, Any], paramwise_cfg: dict[str, Any] | None = None) -> None:
        self.cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        wrappers = {}
        for name, sub in self.cfg.items():
            module = getattr(model, name)
            wrappers[name] = build_optim_wrapper(module, sub, path=f"optim_wrapper.{name}")
        return OptimWrapperDict(**wrappers)


def test_constructor_key_selects_a_registered_constructor() -> None:
    model = nn.ModuleDict(dict(gen=nn.Linear(2, 2), disc=nn.Linear(2, 1)))
    cfg = dict(constructor="GanConstructor", gen=dict(optimizer=dict(type="SGD", lr=0.1)),
               disc=dict(optimizer=dict(type="Adam", lr=0.01)))
    wrappers = build_optim_wrapper(model, cfg)
    assert wrappers.get_lr() == {"gen.lr": [0.1], "disc.lr": [0.01]}
    assert wrappers["disc"].optimizer.param_groups[0]["params"][0] is model["disc"].weight


def test_auto_scale_lr_scales_raw_groups_only() -> None:
    model = Net()
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(bias_lr_mult=2.0)))
    lrs = [group["lr"] for group in wrapper.optimizer.param_groups]
    ratio = auto_scale_lr(wrapper, dict(enable=True, base_batch_size=16), world_size=4, batch_size=2)
    assert ratio == 0.5
    assert [group["lr"] for group in wrapper.optimizer.param_groups] == [lr * 0.5 for lr in lrs]
    assert wrapper.get_lr()["base_lr"] == [0.1]
    assert auto_scale_lr(wrapper, dict(enable=False, base_batch_size=16), world_size=4, batch_size=2) is None
    assert auto_scale_lr(wrapper, None, world_size=4, batch_size=2) is None


def test_auto_scale_lr_scales_each_wrapper_of_a_dict() -> None:
    gen, disc = nn.Linear(2, 2), nn.Linear(2, 1)
    wrappers = OptimWrapperDict(gen=OptimWrapper(torch.optim.SGD(gen.parameters(), lr=0.1)),
                                disc=OptimWrapper(torch.optim.SGD(disc.parameters(), lr=0.2)))
    auto_scale_lr(wrappers, dict(enable=True, base_batch_size=2), world_size=1, batch_size=4)
    assert wrappers.get_lr() == {"gen.lr": [0.2], "disc.lr": [0.4]}


# ------------------------------------------------------------------ bad input: key paths and messages
def build_error(cfg: Any, model: nn.Module | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        build_optim_wrapper(model if model is not None else Net(), cfg)
    return str(info.value)


def test_unknown_paramwise_key_message_in_full() -> None:
    message = build_error(dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(norm_decay=0.0)))
    assert message == (
        "optim_wrapper.paramwise_cfg.norm_decay: got 0.0; expected a paramwise_cfg key (bias_decay_mult, "
        "bias_lr_mult, bypass_duplicate, custom_keys, dcn_offset_lr_mult, dwconv_decay_mult, flat_decay_mult, "
        "norm_decay_mult). Fix: rename it to 'norm_decay_mult'."
    )


def test_decay_mult_without_weight_decay_message_in_full() -> None:
    message = build_error(dict(optimizer=dict(type="SGD", lr=0.1), paramwise_cfg=dict(norm_decay_mult=0.0)))
    assert message == (
        "optim_wrapper.optimizer.weight_decay: got None; expected a number, because paramwise_cfg.norm_decay_mult "
        "multiplies it. Fix: set optimizer.weight_decay, or remove paramwise_cfg.norm_decay_mult."
    )


def test_clip_grad_type_message_in_full() -> None:
    message = build_error(dict(optimizer=dict(OPTIMIZER), clip_grad=dict(type="max", max_norm=1)))
    assert message == (
        "optim_wrapper.clip_grad.type: got 'max'; expected one of ['norm', 'value']. "
        "Fix: pick one of ['norm', 'value']."
    )


def test_unknown_wrapper_key_message_in_full() -> None:
    message = build_error(dict(optimizer=dict(OPTIMIZER), accumulative_count=2))
    assert message == (
        "optim_wrapper.accumulative_count: got 2; expected an optim_wrapper key (accumulative_counts, clip_grad, "
        "constructor, optimizer, paramwise_cfg, type). Fix: rename it to 'accumulative_counts'."
    )


def test_dict_of_non_wrappers_message_in_full() -> None:
    message = build_error(dict(gen=dict(type="SGD", lr=0.1)))
    assert message == (
        "optim_wrapper.gen: got {'type': 'SGD', 'lr': 0.1}; expected an OptimWrapper instance (a dict without "
        "'optimizer' and 'constructor' keys is a dict of built optimizer wrappers). Fix: add "
        "optimizer=dict(type=..., lr=...), or a constructor that builds each named optimizer."
    )


@pytest.mark.parametrize(
    ("cfg", "prefix", "fix"),
    [
        (dict(optimizer=dict(type="SGDD", lr=0.1)), "optim_wrapper.optimizer.type: got 'SGDD';",
         "Fix: did you mean 'SGD'?"),
        (dict(optimizer=dict(type="SGD", lrr=0.1)), "optim_wrapper.optimizer.lrr: got 0.1;",
         "Fix: rename it to 'lr'."),
        (dict(optimizer=dict(type="SGD", lr=-1.0)), "optim_wrapper.optimizer: got 'SGD';",
         "Fix: Invalid learning rate: -1.0."),
        (dict(type="AmpOptimWrapper", dtype="fp16", optimizer=dict(OPTIMIZER)), "optim_wrapper.dtype: got 'fp16';",
         "Fix: use dtype='float16' or dtype='bfloat16'."),
        (dict(type="AmpOptimWrapper", loss_scal=512.0, optimizer=dict(OPTIMIZER)),
         "optim_wrapper.loss_scal: got 512.0;", "Fix: rename it to 'loss_scale'."),
        (dict(type="OptimWraper", optimizer=dict(OPTIMIZER)), "optim_wrapper.type: got 'OptimWraper';",
         "Fix: did you mean 'OptimWrapper'?"),
        (dict(constructor="NoSuchConstructor", optimizer=dict(OPTIMIZER)),
         "optim_wrapper.constructor: got 'NoSuchConstructor';", "Fix: "),
        (dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(custom_keys=dict(head=0.1))),
         "optim_wrapper.paramwise_cfg.custom_keys.head: got 0.1;", "Fix: write 'head': dict(lr_mult=0.1)."),
        (dict(optimizer=dict(OPTIMIZER), accumulative_counts=0), "optim_wrapper.accumulative_counts: got 0;",
         "Fix: set accumulative_counts=1"),
        ([1], "optim_wrapper: got [1];", "Fix: wrap the optimizer config in dict(optimizer=...)."),
    ],
    ids=["optimizer-type", "optimizer-kwarg", "optimizer-value", "amp-dtype", "amp-unknown-key", "wrapper-type",
         "constructor", "custom-keys-entry", "accumulative_counts", "not-a-dict"],
)
def test_bad_input_names_the_key_path(cfg: Any, prefix: str, fix: str) -> None:
    message = build_error(cfg)
    assert message.startswith(prefix)
    assert fix in message


def test_auto_scale_lr_errors_name_the_key() -> None:
    wrapper = build_optim_wrapper(nn.Linear(2, 1), dict(optimizer=dict(type="SGD", lr=0.1)))
    with pytest.raises(ConfigError) as info:
        auto_scale_lr(wrapper, dict(enable=True), world_size=1, batch_size=2)
    assert str(info.value) == (
        "auto_scale_lr.base_batch_size: got None; expected a positive number (the total batch size the lr was "
        "tuned for). Fix: set auto_scale_lr.base_batch_size, e.g. to 16."
    )
    with pytest.raises(ConfigError, match=r"^auto_scale_lr\.base_batch: got 8;.*rename it to 'base_batch_size'"):
        auto_scale_lr(wrapper, dict(enable=True, base_batch=8), world_size=1, batch_size=2)
