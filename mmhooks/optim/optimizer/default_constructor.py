"""``DefaultOptimWrapperConstructor``: an optimizer config plus ``paramwise_cfg`` -> an optimizer wrapper.

Without ``paramwise_cfg`` every parameter shares the optimizer's settings.
With it, each parameter gets its own group whose ``lr`` and
``weight_decay`` are the optimizer's, multiplied by the rule that matches
the parameter (a ``custom_keys`` entry, or a bias/norm/depthwise/flat rule).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from mmhooks.errors import ConfigError, ConfigTypeError, check_keys, join_path
from mmhooks.optim.optimizer.optimizer_wrapper import OptimWrapper
from mmhooks.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

__all__ = ["DefaultOptimWrapperConstructor", "PARAMWISE_KEYS", "check_paramwise_cfg"]

log = logging.getLogger(__name__)

# Every key ``paramwise_cfg`` accepts.
PARAMWISE_KEYS = (
    "bias_decay_mult",
    "bias_lr_mult",
    "bypass_duplicate",
    "custom_keys",
    "dcn_offset_lr_mult",
    "dwconv_decay_mult",
    "flat_decay_mult",
    "norm_decay_mult",
)
# Multipliers that scale the optimizer's weight_decay, which must therefore be set.
_DECAY_KEYS = ("bias_decay_mult", "dwconv_decay_mult", "norm_decay_mult")
_NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)
# mmcv's deformable convolutions, recognised by class name so mmcv is never imported.
_DCN_CLASS_NAMES = frozenset({"DeformConv2d", "ModulatedDeformConv2d"})


# ``paramwise_cfg`` keys whose value multiplies the base lr or weight decay.
_MULTIPLIER_KEYS = ("bias_decay_mult", "bias_lr_mult", "dcn_offset_lr_mult", "dwconv_decay_mult", "flat_decay_mult",
                    "norm_decay_mult")
_LR_KEYS = ("bias_lr_mult", "dcn_offset_lr_mult")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_paramwise_cfg(
    paramwise_cfg: Any,
    optimizer_cfg: Mapping[str, Any],
    accepted: tuple[str, ...] | None = PARAMWISE_KEYS,
) -> None:
    """Check a ``paramwise_cfg`` before any model is seen; errors are located below ``paramwise_cfg``.

    Args:
        paramwise_cfg: The config, ``None`` or a dict.
        optimizer_cfg: The optimizer config, whose ``lr`` and ``weight_decay``
            the multipliers scale.
        accepted: The keys accepted; ``None`` accepts any (a constructor
            subclass with keys of its own); the base keys are type-checked
            either way.

    Raises:
        ConfigError: An unknown key, a multiplier that is not a number,
            ``bypass_duplicate`` not a bool, ``custom_keys`` not a dict of dicts
            of numbers, or a multiplier of an unset ``lr``/``weight_decay``.

    Example:
        >>> check_paramwise_cfg(dict(norm_decay=0.0), dict(type="SGD", lr=0.1, weight_decay=1e-4))
        Traceback (most recent call last):
        ...
        mmhooks.errors.ConfigError: paramwise_cfg.norm_decay: got 0.0; expected a paramwise_cfg key (bias_decay_mult, bias_lr_mult, bypass_duplicate, custom_keys, dcn_offset_lr_mult, dwconv_decay_mult, flat_decay_mult, norm_decay_mult). Fix: rename it to 'norm_decay_mult'.
    """
    where = "paramwise_cfg"
    if paramwise_cfg is None:
        return
    if not isinstance(paramwise_cfg, Mapping):
        raise ConfigTypeError(where, paramwise_cfg, "None or a dict", "pass dict(custom_keys=..., ...).")
    if accepted is not None:
        check_keys(where, paramwise_cfg, accepted, what="a paramwise_cfg key")
    for key in _MULTIPLIER_KEYS:
        value = paramwise_cfg.get(key)
        if value is not None and not _is_number(value):
            raise ConfigError(key, value, "a number (a multiplier)", f"write e.g. {key}=0.0.", where)
    bypass = paramwise_cfg.get("bypass_duplicate", False)
    if not isinstance(bypass, bool):
        raise ConfigError("bypass_duplicate", bypass, "True or False", "write bypass_duplicate=True.", where)
    custom_keys = paramwise_cfg.get("custom_keys", {})
    if not isinstance(custom_keys, Mapping):
        raise ConfigTypeError(
            "custom_keys", custom_keys, "a dict of {name substring: dict(lr_mult=..., decay_mult=...)}",
            "write custom_keys={'backbone': dict(lr_mult=0.1)}.", where,
        )
    for name, rule in custom_keys.items():
        rule_path = join_path(join_path(where, "custom_keys"), name)
        if not isinstance(rule, Mapping):
            raise ConfigError(
                name, rule, "a dict such as dict(lr_mult=0.1, decay_mult=1.0)",
                f"write {name!r}: dict(lr_mult={rule!r}).", join_path(where, "custom_keys"),
            )
        for mult in ("lr_mult", "decay_mult"):
            if mult in rule and not _is_number(rule[mult]):
                raise ConfigError(mult, rule[mult], "a number (a multiplier)", f"write {mult}=1.0.", rule_path)
        if "decay_mult" in rule:
            _require_base(optimizer_cfg, "weight_decay", join_path(rule_path, "decay_mult"))
    for key in _DECAY_KEYS:
        if key in paramwise_cfg:
            _require_base(optimizer_cfg, "weight_decay", f"{where}.{key}")
    if any(paramwise_cfg.get(key) is not None for key in _LR_KEYS) or custom_keys:
        _require_base(optimizer_cfg, "lr", where)


def _require_base(optimizer_cfg: Mapping[str, Any], name: str, user: str) -> None:
    if optimizer_cfg.get(name) is None:
        raise ConfigError(
            name, None, f"a number, because {user} multiplies it", f"set optimizer.{name}, or remove {user}.",
            "optimizer",
        )


def _is_dcn(module: nn.Module) -> bool:
    return any(cls.__name__ in _DCN_CLASS_NAMES for cls in type(module).__mro__)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor:
    """Build an optimizer wrapper for a model, with optional per-parameter settings.

    Args:
        optim_wrapper_cfg: The wrapper config: ``optimizer`` (required), an
            optional ``type`` (``'OptimWrapper'``) and the wrapper's arguments.
        paramwise_cfg: Per-parameter rules, keys in :data:`PARAMWISE_KEYS`:
            ``custom_keys`` maps a substring of the parameter name to a dict
            with ``lr_mult``/``decay_mult`` (the longest matching key wins,
            ties go to the alphabetically first; the entry's keys are also
            copied into the group, and the other rules are skipped);
            ``bias_lr_mult`` and ``bias_decay_mult`` apply to biases outside
            norm layers; ``norm_decay_mult`` to norm-layer parameters;
            ``dwconv_decay_mult`` to depthwise ``Conv2d`` parameters;
            ``flat_decay_mult`` to other 1-d parameters; ``dcn_offset_lr_mult``
            to the offset convs of mmcv deformable convolutions; and
            ``bypass_duplicate`` skips parameters shared with an earlier group.

    Subclasses:
        A subclass may read ``paramwise_cfg`` keys of its own (a layer-wise
        lr decay constructor's ``layer_decay_rate``...), so only this class
        rejects keys outside :data:`PARAMWISE_KEYS`. A subclass that wants
        its keys checked too sets ``paramwise_keys`` to every key it reads.
        The base keys are type-checked either way.

    Raises:
        ConfigError: Missing ``optimizer``, an unknown ``paramwise_cfg`` key
            (this class only), a multiplier that is not a number, a
            ``custom_keys`` that is not a dict of dicts, or a decay multiplier
            without the optimizer's ``weight_decay`` (lr multipliers need ``lr``).

    MMEngine parity:
        Key paths are relative to the wrapper config (``optimizer.type``,
        ``paramwise_cfg.lr_mult``); :func:`build_optim_wrapper` prefixes
        them. Unknown ``paramwise_cfg`` keys are errors for this class
        (MMEngine ignores them).

    Example:
        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
        >>> build = DefaultOptimWrapperConstructor(
        ...     dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4)), dict(norm_decay_mult=0.0))
        >>> [group["weight_decay"] for group in build(model).optimizer.param_groups]
        [0.0001, 0.0001, 0.0, 0.0]
    """

    #: The ``paramwise_cfg`` keys accepted, or ``None`` for "any" (the default of subclasses).
    paramwise_keys: ClassVar[tuple[str, ...] | None] = PARAMWISE_KEYS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "paramwise_keys" not in vars(cls):
            cls.paramwise_keys = None  # a subclass may read keys of its own

    def __init__(self, optim_wrapper_cfg: Mapping[str, Any], paramwise_cfg: Mapping[str, Any] | None = None) -> None:
        if not isinstance(optim_wrapper_cfg, Mapping):
            raise ConfigTypeError(
                "optim_wrapper_cfg", optim_wrapper_cfg, "a dict with an 'optimizer' key",
                "pass dict(optimizer=dict(type='SGD', lr=0.01)).", "DefaultOptimWrapperConstructor",
            )
        if "optimizer" not in optim_wrapper_cfg:
            raise ConfigError(
                "optimizer", None, "an optimizer config such as dict(type='SGD', lr=0.01)",
                "add optimizer=dict(type=..., lr=...).",
            )
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.optimizer_cfg: dict[str, Any] = dict(self.optim_wrapper_cfg.pop("optimizer"))
        self.paramwise_cfg: dict[str, Any] = {} if paramwise_cfg is None else paramwise_cfg  # type: ignore[assignment]
        self.base_lr: float | None = self.optimizer_cfg.get("lr")
        self.base_wd: float | None = self.optimizer_cfg.get("weight_decay")
        self._validate_cfg()

    def _validate_cfg(self) -> None:
        """Check ``paramwise_cfg`` against the optimizer config before any parameter is seen."""
        check_paramwise_cfg(self.paramwise_cfg, self.optimizer_cfg, type(self).paramwise_keys)

    # ------------------------------------------------------------------ parameter groups
    def add_params(
        self,
        params: list[dict[str, Any]],
        module: nn.Module,
        prefix: str = "",
        is_dcn_module: bool | None = None,
    ) -> None:
        """Append one group per trainable parameter of ``module`` (recursively) to ``params``.

        Args:
            params: The groups so far; modified in place.
            module: The module whose parameters are added.
            prefix: The module's dotted name in the model.
            is_dcn_module: Whether ``module`` is a child of a deformable conv.
        """
        cfg = self.paramwise_cfg
        custom_keys: Mapping[str, Mapping[str, Any]] = cfg.get("custom_keys", {})
        ordered_keys = sorted(sorted(custom_keys), key=len, reverse=True)  # longest first, ties alphabetical
        bias_lr_mult = cfg.get("bias_lr_mult")
        bias_decay_mult = cfg.get("bias_decay_mult")
        norm_decay_mult = cfg.get("norm_decay_mult")
        dwconv_decay_mult = cfg.get("dwconv_decay_mult")
        flat_decay_mult = cfg.get("flat_decay_mult")
        dcn_offset_lr_mult = cfg.get("dcn_offset_lr_mult")
        bypass_duplicate = cfg.get("bypass_duplicate", False)
        is_norm = isinstance(module, _NORM_TYPES)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups

        for name, param in module.named_parameters(recurse=False):
            full_name = f"{prefix}.{name}"  # MMEngine matches custom_keys against this (leading '.' at the root)
            group: dict[str, Any] = {"params": [param]}
            if bypass_duplicate and self._is_in(group, params):
                log.warning("paramwise_cfg: %s is shared with an earlier group; skipped (bypass_duplicate)", prefix)
                continue
            if not param.requires_grad:
                log.warning("paramwise_cfg: %s is skipped because requires_grad=False", full_name)
                continue
            matched = next((key for key in ordered_keys if key in full_name), None)
            if matched is not None:
                rule = custom_keys[matched]
                group["lr"] = self.base_lr * rule.get("lr_mult", 1.0)
                if self.base_wd is not None:
                    group["weight_decay"] = self.base_wd * rule.get("decay_mult", 1.0)
                group.update(rule)
            else:
                if name == "bias" and not (is_norm or is_dcn_module) and bias_lr_mult is not None:
                    group["lr"] = self.base_lr * bias_lr_mult
                if (
                    "conv_offset" in prefix and is_dcn_module and dcn_offset_lr_mult is not None
                    and isinstance(module, nn.Conv2d)
                ):
                    group["lr"] = self.base_lr * dcn_offset_lr_mult
                if self.base_wd is not None:
                    decay_mult = self._decay_mult(
                        name, param, is_norm, is_dwconv, bool(is_dcn_module),
                        norm_decay_mult, bias_decay_mult, dwconv_decay_mult, flat_decay_mult,
                    )
                    if decay_mult is not None:
                        group["weight_decay"] = self.base_wd * decay_mult
            params.append(group)
            for key, value in group.items():
                if key != "params":
                    log.debug("paramwise_options -- %s:%s=%s", f"{prefix}.{name}" if prefix else name, key, value)

        child_is_dcn = _is_dcn(module)
        for child_name, child in module.named_children():
            child_prefix = f"{prefix}.{child_name}" if prefix else child_name
            self.add_params(params, child, prefix=child_prefix, is_dcn_module=child_is_dcn)

    @staticmethod
    def _decay_mult(
        name: str,
        param: nn.Parameter,
        is_norm: bool,
        is_dwconv: bool,
        is_dcn_module: bool,
        norm_decay_mult: float | None,
        bias_decay_mult: float | None,
        dwconv_decay_mult: float | None,
        flat_decay_mult: float | None,
    ) -> float | None:
        """The first weight-decay rule that applies: norm, then bias, then depthwise, then flat."""
        if is_norm and norm_decay_mult is not None:
            return norm_decay_mult
        if name == "bias" and not is_dcn_module and bias_decay_mult is not None:
            return bias_decay_mult
        if is_dwconv and dwconv_decay_mult is not None:
            return dwconv_decay_mult
        if param.ndim == 1 and not is_dcn_module and flat_decay_mult is not None:
            return flat_decay_mult
        return None

    @staticmethod
    def _is_in(group: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
        """Whether a parameter of ``group`` already belongs to one of ``groups``."""
        seen = {id(p) for other in groups for p in other["params"]}
        return any(id(p) in seen for p in group["params"])

    # ------------------------------------------------------------------ build
    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optimizer over ``model``'s parameters and wrap it."""
        if hasattr(model, "module"):  # DataParallel / DDP wrappers
            model = cast(nn.Module, model.module)
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault("type", "OptimWrapper")
        optimizer_cfg = dict(self.optimizer_cfg)
        optimizer_cls = OPTIMIZERS.resolve_type(optimizer_cfg.get("type"), "optimizer")
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        if self.paramwise_cfg:
            groups: list[dict[str, Any]] = []
            self.add_params(groups, model)
            optimizer_cfg[first_arg] = groups
        else:
            optimizer_cfg[first_arg] = model.parameters()
        try:
            optimizer = OPTIMIZERS.build(optimizer_cfg, path="optimizer")
        except ValueError as err:
            if isinstance(err, ConfigError):
                raise
            # torch validates values (negative lr, betas outside [0, 1)) with a plain ValueError.
            if "more than one parameter group" in str(err):
                raise ConfigError(
                    "bypass_duplicate", self.paramwise_cfg.get("bypass_duplicate", False),
                    "True when modules share parameters (torch: some parameters appear in more than one group)",
                    "set paramwise_cfg.bypass_duplicate=True.", "paramwise_cfg",
                ) from err
            name = getattr(optimizer_cls, "__name__", repr(optimizer_cls))
            raise ConfigError(
                "optimizer", name, f"arguments that {name} accepts", f"{err}.".replace("..", "."),
            ) from err
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args={"optimizer": optimizer})  # type: ignore[no-any-return]
