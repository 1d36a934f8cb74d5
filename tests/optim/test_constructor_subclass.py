"""Subclasses of DefaultOptimWrapperConstructor with paramwise_cfg keys of their own (layer-wise lr decay).

The test double does what mmpretrain's ``LearningRateDecayOptimWrapperConstructor``
does: it overrides ``add_params``, reads ``layer_decay_rate`` from
``paramwise_cfg`` next to the base class's decay multipliers and
``custom_keys``, and asks the model for each parameter's depth. The same
double is built on MMEngine's base class, and both are reached through
``build_optim_wrapper(constructor=...)``; their parameter groups must agree.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.optim import DefaultOptimWrapperConstructor, build_optim_wrapper
from mmhooks.registry import OPTIM_WRAPPER_CONSTRUCTORS

mmengine_optim = pytest.importorskip("mmengine.optim")
mmengine_registry = pytest.importorskip("mmengine.registry")

NORMS = (nn.LayerNorm, nn.BatchNorm1d, nn.GroupNorm)


def layer_decay_add_params(self: Any, params: list[dict[str, Any]], module: nn.Module, prefix: str = "",
                           get_layer_depth: Any = None, **kwargs: Any) -> None:
    """One group per parameter, lr scaled by ``layer_decay_rate ** (depth from the top)``, as mmpretrain does."""
    cfg = self.paramwise_cfg
    custom_keys = cfg.get("custom_keys", {})
    ordered = sorted(sorted(custom_keys), key=len, reverse=True)
    if get_layer_depth is None:
        get_layer_depth = module.get_layer_depth  # type: ignore[operator]
    rate = cfg.get("layer_decay_rate", 1.0)
    is_norm = isinstance(module, NORMS)
    for name, param in module.named_parameters(recurse=False):
        if not param.requires_grad:
            continue
        full_name = prefix + name
        group: dict[str, Any] = {"params": [param]}
        if self.base_wd is not None:
            key = next((k for k in ordered if k in full_name), None)
            if key is not None:
                rule = dict(custom_keys[key])
                group["weight_decay"] = self.base_wd * rule.pop("decay_mult", 1.0)
                group.update(rule)
            elif is_norm and cfg.get("norm_decay_mult") is not None:
                group["weight_decay"] = self.base_wd * cfg["norm_decay_mult"]
            elif name == "bias" and cfg.get("bias_decay_mult") is not None:
                group["weight_decay"] = self.base_wd * cfg["bias_decay_mult"]
            elif param.ndim == 1 and cfg.get("flat_decay_mult") is not None:
                group["weight_decay"] = self.base_wd * cfg["flat_decay_mult"]
            else:
                group["weight_decay"] = self.base_wd
        layer_id, max_id = get_layer_depth(full_name)
        group["lr"] = self.base_lr * rate ** (max_id - layer_id - 1)
        group["layer_id"] = layer_id
        group["param_name"] = full_name
        params.append(group)
    for child_name, child in module.named_children():
        self.add_params(params, child, prefix=f"{prefix}{child_name}.", get_layer_depth=get_layer_depth)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(name="ToyLayerDecayConstructor", force=True)
class ToyLayerDecayConstructor(DefaultOptimWrapperConstructor):
    add_params = layer_decay_add_params  # type: ignore[assignment]


@mmengine_registry.OPTIM_WRAPPER_CONSTRUCTORS.register_module(name="ToyLayerDecayConstructor", force=True)
class MMEngineToyLayerDecayConstructor(mmengine_optim.DefaultOptimWrapperConstructor):
    add_params = layer_decay_add_params


@mmengine_registry.OPTIM_WRAPPER_CONSTRUCTORS.register_module(name="MMEngineOnlyLayerDecayConstructor", force=True)
class MMEngineOnlyLayerDecayConstructor(mmengine_optim.DefaultOptimWrapperConstructor):
    add_params = layer_decay_add_params


class TinyViT(nn.Module):
    """Patch embedding, three blocks, a final norm and a head; ``get_layer_depth`` as mmpretrain's backbones."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.backbone = nn.Module()
        self.backbone.pos_embed = nn.Parameter(torch.zeros(1, 4))
        self.backbone.patch_embed = nn.Linear(3, 4)
        self.backbone.layers = nn.ModuleList(nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 4)) for _ in range(3))
        self.backbone.ln = nn.LayerNorm(4)
        self.head = nn.Linear(4, 2)

    def get_layer_depth(self, param_name: str) -> tuple[int, int]:
        max_id = len(self.backbone.layers) + 2
        if param_name.startswith(("backbone.pos_embed", "backbone.patch_embed")):
            return 0, max_id
        if param_name.startswith("backbone.layers"):
            return int(param_name.split(".")[2]) + 1, max_id
        return max_id - 1, max_id


OPTIMIZER = dict(type="AdamW", lr=1e-3, weight_decay=0.05, betas=(0.9, 0.999))
PARAMWISE = {
    "rate-only": dict(layer_decay_rate=0.65),
    "mmpretrain-vit": dict(layer_decay_rate=0.65, norm_decay_mult=0.0, bias_decay_mult=0.0,
                           custom_keys={".pos_embed": dict(decay_mult=0.0), "head": dict(decay_mult=0.5)}),
    "flat": dict(layer_decay_rate=0.75, flat_decay_mult=0.0),
}


def groups(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    return [{**{k: v for k, v in g.items() if k != "params"}, "params": [id(p) for p in g["params"]]}
            for g in optimizer.param_groups]


@pytest.mark.parametrize("name", list(PARAMWISE), ids=str)
def test_layer_decay_subclass_builds_the_groups_mmengine_builds(name: str) -> None:
    model = TinyViT()
    cfg = dict(constructor="ToyLayerDecayConstructor", optimizer=dict(OPTIMIZER),
               paramwise_cfg=copy.deepcopy(PARAMWISE[name]), clip_grad=dict(max_norm=1.0))
    ours = build_optim_wrapper(model, copy.deepcopy(cfg))
    theirs = mmengine_optim.build_optim_wrapper(model, copy.deepcopy(cfg))
    assert groups(ours.optimizer) == groups(theirs.optimizer)
    assert len({g["lr"] for g in ours.optimizer.param_groups}) == 5  # one lr per depth
    assert ours.get_lr() == theirs.get_lr()
    assert ours.clip_grad_kwargs == theirs.clip_grad_kwargs


def test_a_downstream_constructor_found_only_in_mmengine_builds_the_same_groups() -> None:
    model = TinyViT()
    cfg = dict(optimizer=dict(OPTIMIZER), paramwise_cfg=copy.deepcopy(PARAMWISE["mmpretrain-vit"]))
    ours = build_optim_wrapper(model, dict(copy.deepcopy(cfg), constructor="MMEngineOnlyLayerDecayConstructor"))
    theirs = mmengine_optim.build_optim_wrapper(model, dict(copy.deepcopy(cfg), constructor="ToyLayerDecayConstructor"))
    assert groups(ours.optimizer) == groups(theirs.optimizer)


def test_the_default_constructor_still_rejects_the_subclass_key_by_path() -> None:
    with pytest.raises(ConfigError) as info:
        build_optim_wrapper(TinyViT(), dict(optimizer=dict(OPTIMIZER), paramwise_cfg=dict(layer_decay_rate=0.65)))
    assert str(info.value).startswith(
        "optim_wrapper.paramwise_cfg.layer_decay_rate: got 0.65; expected a paramwise_cfg key (bias_decay_mult,")


def test_a_subclass_still_gets_the_base_keys_type_checked() -> None:
    cfg = dict(constructor="ToyLayerDecayConstructor", optimizer=dict(OPTIMIZER),
               paramwise_cfg=dict(layer_decay_rate=0.65, norm_decay_mult="0"))
    with pytest.raises(ConfigError) as info:
        build_optim_wrapper(TinyViT(), cfg)
    assert str(info.value) == (
        "optim_wrapper.paramwise_cfg.norm_decay_mult: got '0'; expected a number (a multiplier). "
        "Fix: write e.g. norm_decay_mult=0.0."
    )


class DeclaredKeysConstructor(DefaultOptimWrapperConstructor):
    """A subclass that lists the keys it reads, so its own typos are caught too."""

    paramwise_keys = ("layer_decay_rate", "norm_decay_mult")
    add_params = layer_decay_add_params  # type: ignore[assignment]


def test_a_subclass_that_declares_its_keys_gets_typos_located() -> None:
    with pytest.raises(ConfigError) as info:
        DeclaredKeysConstructor(dict(optimizer=dict(OPTIMIZER)), dict(layer_decay=0.65))
    assert str(info.value) == (
        "paramwise_cfg.layer_decay: got 0.65; expected a paramwise_cfg key (layer_decay_rate, norm_decay_mult). "
        "Fix: rename it to 'layer_decay_rate'."
    )
    built = DeclaredKeysConstructor(dict(optimizer=dict(OPTIMIZER)), dict(layer_decay_rate=0.5))(TinyViT())
    assert len(built.optimizer.param_groups) == sum(1 for _ in TinyViT().parameters())


def test_subclasses_accept_any_key_by_default_and_the_base_does_not() -> None:
    assert DefaultOptimWrapperConstructor.paramwise_keys is not None
    assert ToyLayerDecayConstructor.paramwise_keys is None
