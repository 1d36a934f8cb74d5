"""Weight initialisation as MMEngine does it: functions, the ``init_cfg`` initialisers and :func:`initialize`.

An ``init_cfg`` names an initialiser in ``WEIGHT_INITIALIZERS`` (``Constant``,
``Xavier``, ``Normal``, ``TruncNormal``, ``Uniform``, ``Kaiming``,
``Caffe2Xavier``, ``Pretrained``). It touches the submodules whose class (or
one of whose direct base classes) is named in ``layer``, and, through
``override=dict(name=...)``, a named attribute as a whole. Modules are visited
in ``nn.Module.apply`` order and every draw comes from torch's global
generator, so a seeded model gets MMEngine's weights bit for bit.

While :meth:`~mmhooks.model.BaseModule.init_weights` runs, every submodule
shares a ``_params_init_info`` table (parameter -> ``init_info`` text and the
mean it last had); :func:`update_init_info` records which initialiser last
changed each parameter, and the top module writes that table to the log.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mmhooks.errors import ConfigError, check_keys
from mmhooks.registry import WEIGHT_INITIALIZERS

__all__ = [
    "BaseInit",
    "Caffe2XavierInit",
    "ConstantInit",
    "InitCfgTypeError",
    "KaimingInit",
    "NormalInit",
    "PretrainedInit",
    "TruncNormalInit",
    "UniformInit",
    "XavierInit",
    "bias_init_with_prob",
    "caffe2_xavier_init",
    "constant_init",
    "initialize",
    "kaiming_init",
    "normal_init",
    "trunc_normal_",
    "trunc_normal_init",
    "uniform_init",
    "update_init_info",
    "xavier_init",
]

_DISTRIBUTIONS = ("normal", "uniform")


class InitCfgTypeError(ConfigError, TypeError):
    """An ``init_cfg`` value of the wrong type; also a ``TypeError``, which MMEngine raises there."""


# ----------------------------------------------------------------------------- bookkeeping
def update_init_info(module: nn.Module, init_info: str) -> None:
    """Credit ``init_info`` to every parameter of ``module`` whose mean changed since it was last recorded.

    Raises:
        RuntimeError: ``module`` carries no ``_params_init_info`` table (it is
            not inside a running ``init_weights``), or has a parameter that the
            table does not know (one was added or replaced during ``init_weights``).
    """
    records = getattr(module, "_params_init_info", None)
    if records is None:
        raise RuntimeError(
            f"update_init_info: {type(module).__name__} has no _params_init_info. Fix: call it only from inside "
            "BaseModule.init_weights (the top module creates the table)."
        )
    for name, param in module.named_parameters():
        if param not in records:
            raise RuntimeError(
                f"{type(module).__name__}.init_weights: parameter {name!r} was added or replaced while weights "
                "were being initialised. Fix: fill the existing parameter in place (param.data.copy_(...) or "
                "nn.init.*_) instead of assigning a new nn.Parameter."
            )
        mean = param.data.mean().cpu()
        record = records[param]
        if bool(record["tmp_mean_value"] != mean):
            record["init_info"] = init_info
            record["tmp_mean_value"] = mean


# ----------------------------------------------------------------------------- functional initialisers
def _has(module: nn.Module, name: str) -> bool:
    return getattr(module, name, None) is not None


def _fill_bias(module: nn.Module, bias: float) -> None:
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)  # type: ignore[arg-type]  # checked by _has


def _check_distribution(distribution: str, where: str) -> None:
    if distribution not in _DISTRIBUTIONS:
        raise ConfigError("distribution", distribution, f"one of {list(_DISTRIBUTIONS)}",
                          "use distribution='normal' or 'uniform'.", where)


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    """Fill ``module.weight`` with ``val`` and ``module.bias`` with ``bias`` (each if present)."""
    if _has(module, "weight"):
        nn.init.constant_(module.weight, val)  # type: ignore[arg-type]  # checked by _has
    _fill_bias(module, bias)


def xavier_init(module: nn.Module, gain: float = 1, bias: float = 0, distribution: str = "normal") -> None:
    """Glorot initialisation of ``module.weight`` (``'normal'`` or ``'uniform'``); ``bias`` fills the bias."""
    _check_distribution(distribution, "xavier_init")
    if _has(module, "weight"):
        fill = nn.init.xavier_uniform_ if distribution == "uniform" else nn.init.xavier_normal_
        fill(module.weight, gain=gain)  # type: ignore[arg-type]  # checked by _has
    _fill_bias(module, bias)


def normal_init(module: nn.Module, mean: float = 0, std: float = 1, bias: float = 0) -> None:
    """Draw ``module.weight`` from N(mean, std²); ``bias`` fills the bias."""
    if _has(module, "weight"):
        nn.init.normal_(module.weight, mean, std)  # type: ignore[arg-type]  # checked by _has
    _fill_bias(module, bias)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fill ``tensor`` from N(mean, std²) truncated to ``[a, b]``, by inverse-CDF sampling.

    One uniform draw per element, mapped through the normal's inverse CDF and
    clamped: the same draws as MMEngine's ``trunc_normal_`` (torch's own
    ``nn.init.trunc_normal_`` now samples differently).
    """

    def normal_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(f"trunc_normal_: mean={mean} is more than 2 std from [{a}, {b}]; the values drawn are "
                      "then not truncated-normal.", stacklevel=2)
    low, high = normal_cdf((a - mean) / std), normal_cdf((b - mean) / std)
    with torch.no_grad():
        tensor.uniform_(2 * low - 1, 2 * high - 1)
        tensor.erfinv_()
        tensor.mul_(std * math.sqrt(2.0))
        tensor.add_(mean)
        tensor.clamp_(min=a, max=b)
    return tensor


def trunc_normal_init(module: nn.Module, mean: float = 0, std: float = 1, a: float = -2, b: float = 2,
                      bias: float = 0) -> None:
    """Draw ``module.weight`` from a normal truncated to ``[a, b]`` (:func:`trunc_normal_`); ``bias`` fills the bias."""
    if _has(module, "weight"):
        trunc_normal_(module.weight, mean, std, a, b)  # type: ignore[arg-type]  # checked by _has
    _fill_bias(module, bias)


def uniform_init(module: nn.Module, a: float = 0, b: float = 1, bias: float = 0) -> None:
    """Draw ``module.weight`` from U(a, b); ``bias`` fills the bias."""
    if _has(module, "weight"):
        nn.init.uniform_(module.weight, a, b)  # type: ignore[arg-type]  # checked by _has
    _fill_bias(module, bias)


def kaiming_init(module: nn.Module, a: float = 0, mode: str = "fan_out", nonlinearity: str = "relu",
                 bias: float = 0, distribution: str = "normal") -> None:
    """He initialisation of ``module.weight`` (MMEngine's defaults: ``fan_out``, ReLU); ``bias`` fills the bias."""
    _check_distribution(distribution, "kaiming_init")
    if _has(module, "weight"):
        fill = nn.init.kaiming_uniform_ if distribution == "uniform" else nn.init.kaiming_normal_
        fill(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)  # type: ignore[arg-type]  # checked by _has
    _fill_bias(module, bias)


def caffe2_xavier_init(module: nn.Module, bias: float = 0) -> None:
    """Caffe2's ``XavierFill``: Kaiming uniform with ``a=1``, ``fan_in``, leaky ReLU."""
    kaiming_init(module, a=1, mode="fan_in", nonlinearity="leaky_relu", bias=bias, distribution="uniform")


def bias_init_with_prob(prior_prob: float) -> float:
    """The bias whose sigmoid is ``prior_prob`` (focal-loss style classifier heads).

    Example:
        >>> round(bias_init_with_prob(0.01), 4)
        -4.5951
    """
    return float(-math.log((1 - prior_prob) / prior_prob))


# ----------------------------------------------------------------------------- init_cfg initialisers
class BaseInit:
    """What every ``init_cfg`` initialiser shares: which layers it touches and the bias value.

    Calling the initialiser visits ``module`` and its submodules in
    ``nn.Module.apply`` order and initialises those whose class, or one of
    whose direct base classes, is named in ``layer`` (every one when
    ``wholemodule`` is set, as for ``override``). Subclasses implement
    :meth:`init_module`; MMEngine-style subclasses that define ``__call__``
    themselves work too.

    Args:
        bias: Value the bias is filled with.
        bias_prob: When set, the bias is :func:`bias_init_with_prob` of it instead.
        layer: Class name(s) to initialise, e.g. ``"Conv2d"`` or ``["_BatchNorm", "GroupNorm"]``.

    Raises:
        InitCfgTypeError: ``bias`` is not a number, ``bias_prob`` not a float,
            or ``layer`` neither a string nor a list of strings.
        ConfigError: An argument that neither this class nor ``BaseInit`` takes.
    """

    def __init__(self, *, bias: float = 0, bias_prob: float | None = None,
                 layer: str | list[str] | None = None, **unknown: Any) -> None:
        where = type(self).__name__
        if unknown:  # a misspelt key reaches here through the subclass's **kwargs
            own = inspect.signature(type(self).__init__).parameters
            accepted = {"bias", "bias_prob", "layer"} | {
                name for name, p in own.items() if name != "self" and p.kind is not p.VAR_KEYWORD}
            check_keys(where, unknown, accepted, what=f"an argument of {where}")
        if not isinstance(bias, (int, float)):
            raise InitCfgTypeError("bias", bias, "a number", "write bias=0 (or use bias_prob).", where)
        if bias_prob is not None and not isinstance(bias_prob, float):
            raise InitCfgTypeError("bias_prob", bias_prob, "a float probability", "write e.g. bias_prob=0.01.", where)
        if layer is not None and not isinstance(layer, (str, list)):
            raise InitCfgTypeError("layer", layer, "a class name or a list of class names",
                                   "write e.g. layer='Conv2d' or layer=['Conv2d', 'Linear'].", where)
        self.wholemodule = False
        self.bias: float = bias_init_with_prob(bias_prob) if bias_prob is not None else bias
        self.layer: list[str] = [layer] if isinstance(layer, str) else list(layer or [])

    def __call__(self, module: nn.Module) -> None:
        module.apply(self._visit)
        if hasattr(module, "_params_init_info"):
            update_init_info(module, init_info=self._get_init_info())

    def _visit(self, module: nn.Module) -> None:
        if self.wholemodule or self._selects(module):
            self.init_module(module)

    def _selects(self, module: nn.Module) -> bool:
        cls = type(module)
        names = {cls.__name__, *(base.__name__ for base in cls.__bases__)}
        return not names.isdisjoint(self.layer)

    def init_module(self, module: nn.Module) -> None:
        """Initialise one selected module."""
        raise NotImplementedError(f"{type(self).__name__}: implement init_module(module) or __call__(module).")

    def _get_init_info(self) -> str:
        """The text credited to the parameters this initialiser changed (MMEngine's wording)."""
        return f"{type(self).__name__}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="Constant")
class ConstantInit(BaseInit):
    """``dict(type='Constant', val=1, layer=...)``: weights ``val``, biases ``bias``.

    Example:
        >>> layer = nn.Linear(2, 1)
        >>> ConstantInit(val=0.5, bias=1, layer="Linear")(layer)
        >>> layer.weight.tolist(), layer.bias.tolist()
        ([[0.5, 0.5]], [1.0])
    """

    def __init__(self, val: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.val = val

    def init_module(self, module: nn.Module) -> None:
        constant_init(module, self.val, self.bias)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: val={self.val}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="Xavier")
class XavierInit(BaseInit):
    """``dict(type='Xavier', gain=1, distribution='normal' | 'uniform', layer=...)``: Glorot initialisation."""

    def __init__(self, gain: float = 1, distribution: str = "normal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_distribution(distribution, type(self).__name__)
        self.gain = gain
        self.distribution = distribution

    def init_module(self, module: nn.Module) -> None:
        xavier_init(module, self.gain, self.bias, self.distribution)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: gain={self.gain}, distribution={self.distribution}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="Normal")
class NormalInit(BaseInit):
    """``dict(type='Normal', mean=0, std=1, layer=...)``: weights from N(mean, std²)."""

    def __init__(self, mean: float = 0, std: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std

    def init_module(self, module: nn.Module) -> None:
        normal_init(module, self.mean, self.std, self.bias)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: mean={self.mean}, std={self.std}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="TruncNormal")
class TruncNormalInit(BaseInit):
    """``dict(type='TruncNormal', mean=0, std=1, a=-2, b=2, layer=...)``: a normal truncated to ``[a, b]``."""

    def __init__(self, mean: float = 0, std: float = 1, a: float = -2, b: float = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std
        self.a = a
        self.b = b

    def init_module(self, module: nn.Module) -> None:
        trunc_normal_init(module, self.mean, self.std, self.a, self.b, self.bias)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: a={self.a}, b={self.b}, mean={self.mean}, std={self.std}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="Uniform")
class UniformInit(BaseInit):
    """``dict(type='Uniform', a=0, b=1, layer=...)``: weights from U(a, b)."""

    def __init__(self, a: float = 0, b: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.a = a
        self.b = b

    def init_module(self, module: nn.Module) -> None:
        uniform_init(module, self.a, self.b, self.bias)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: a={self.a}, b={self.b}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="Kaiming")
class KaimingInit(BaseInit):
    """``dict(type='Kaiming', a=0, mode='fan_out', nonlinearity='relu', distribution='normal', layer=...)``."""

    def __init__(self, a: float = 0, mode: str = "fan_out", nonlinearity: str = "relu", distribution: str = "normal",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_distribution(distribution, type(self).__name__)
        self.a = a
        self.mode = mode
        self.nonlinearity = nonlinearity
        self.distribution = distribution

    def init_module(self, module: nn.Module) -> None:
        kaiming_init(module, self.a, self.mode, self.nonlinearity, self.bias, self.distribution)

    def _get_init_info(self) -> str:
        # "distribution =" (with the space) is how MMEngine's log spells it.
        return (f"{type(self).__name__}: a={self.a}, mode={self.mode}, nonlinearity={self.nonlinearity}, "
                f"distribution ={self.distribution}, bias={self.bias}")


@WEIGHT_INITIALIZERS.register_module(name="Caffe2Xavier")
class Caffe2XavierInit(KaimingInit):
    """``dict(type='Caffe2Xavier', layer=...)``: Caffe2's ``XavierFill`` (see :func:`caffe2_xavier_init`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(a=1, mode="fan_in", nonlinearity="leaky_relu", distribution="uniform", **kwargs)


@WEIGHT_INITIALIZERS.register_module(name="Pretrained")
class PretrainedInit:
    """``dict(type='Pretrained', checkpoint=path, prefix=None)``: load weights from a checkpoint.

    ``prefix='backbone.'`` loads only the keys under that prefix, with the
    prefix stripped, into the module the ``init_cfg`` belongs to. Keys that do
    not match are reported (``strict=False``), not fatal. In
    :meth:`BaseModule.init_weights <mmhooks.model.BaseModule.init_weights>`,
    ``Pretrained`` runs after every other initialiser and after the children,
    so the loaded weights win.

    Args:
        checkpoint: A local file; a URL scheme (``https://``, ``torchvision://``...)
            needs MMEngine's checkpoint loader (``mmengine`` installed).
        prefix: Load only this part of the checkpoint.
        map_location: As for :func:`torch.load`.
    """

    def __init__(self, checkpoint: str, prefix: str | None = None, map_location: Any = "cpu") -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        from mmhooks.logging import MMLogger, print_log
        from mmhooks.runner.checkpoint import load_checkpoint_to_model, load_state_dict

        logger = MMLogger.get_current_instance()
        source = str(self.checkpoint)
        if self.prefix is None:
            print_log(f"load model from: {self.checkpoint}", logger="current")
            load_checkpoint_to_model(module, self._read(), strict=False, logger=logger, source=source)
        else:
            print_log(f"load {self.prefix} in model from: {self.checkpoint}", logger="current")
            load_state_dict(module, self._state_dict_under_prefix(), strict=False, logger=logger, source=source)
        if hasattr(module, "_params_init_info"):
            update_init_info(module, init_info=self._get_init_info())

    def _read(self) -> Mapping[str, Any]:
        from mmhooks.runner.checkpoint import load_checkpoint_file

        where = "Pretrained.checkpoint"
        if "://" not in str(self.checkpoint):
            loaded = load_checkpoint_file(os.path.expanduser(self.checkpoint), self.map_location)
        else:
            try:
                from mmengine.runner.checkpoint import CheckpointLoader
            except ImportError:
                raise ConfigError("checkpoint", self.checkpoint, "a local checkpoint file",
                                  "download the file and give its path, or install mmengine for URL schemes.",
                                  where) from None
            loaded = CheckpointLoader.load_checkpoint(self.checkpoint, map_location=self.map_location,
                                                      logger="silent")
        if not isinstance(loaded, Mapping):
            raise ConfigError("checkpoint", self.checkpoint, "a file holding a dict of weights",
                              "point it to a checkpoint saved with torch.save(state_dict or {'state_dict': ...}).",
                              where)
        return loaded

    def _state_dict_under_prefix(self) -> dict[str, Any]:
        loaded = self._read()
        state_dict = loaded["state_dict"] if "state_dict" in loaded else loaded
        prefix = str(self.prefix) if str(self.prefix).endswith(".") else f"{self.prefix}."
        selected = {key[len(prefix):]: value for key, value in state_dict.items() if key.startswith(prefix)}
        if not selected:
            raise ConfigError("prefix", self.prefix, f"a prefix of keys in {self.checkpoint}",
                              "check the key names of the checkpoint (e.g. 'backbone.').", "Pretrained")
        return selected

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: load from {self.checkpoint}"


# ----------------------------------------------------------------------------- initialize
def _run_initializer(module: nn.Module, cfg: Mapping[str, Any], wholemodule: bool, where: str) -> None:
    initializer = WEIGHT_INITIALIZERS.build(dict(cfg), path=where)
    initializer.wholemodule = wholemodule  # override: the named attribute as a whole, no layer filter
    initializer(module)


def _override(module: nn.Module, override: Any, parent_cfg: Mapping[str, Any], where: str) -> None:
    if not isinstance(override, (Mapping, list)):
        raise InitCfgTypeError("override", override, "a dict or a list of dicts",
                               "write override=dict(name='head', type='Normal', std=0.01).", where)
    overrides = [override] if isinstance(override, Mapping) else override
    for index, item in enumerate(overrides):
        item_where = f"{where}.override" if isinstance(override, Mapping) else f"{where}.override[{index}]"
        cfg = dict(copy.deepcopy(item))
        name = cfg.pop("name", None)
        if name is None:
            raise ConfigError("name", None, "the attribute name of the submodule to initialise",
                              "add name='head' (the attribute, e.g. self.head).", item_where)
        if not cfg:  # only a name: the parent's initialiser, applied to the whole submodule
            cfg.update(parent_cfg)
        elif "type" not in cfg:
            raise ConfigError("type", None, "an initialiser type when override sets arguments",
                              "add type='Normal' (or give only name= to reuse the parent's initialiser).",
                              item_where)
        if not hasattr(module, name):
            raise ConfigError("name", name, f"an attribute of {type(module).__name__}",
                              "name a submodule attribute of the module whose init_cfg this is.", item_where)
        _run_initializer(getattr(module, name), cfg, wholemodule=True, where=item_where)


def initialize(module: nn.Module, init_cfg: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
    """Initialise ``module`` with one ``init_cfg`` dict or a list of them, in order.

    Each dict is built from ``WEIGHT_INITIALIZERS`` and applied to the
    submodules named by its ``layer``; its ``override`` (a dict or a list,
    each with ``name``) then initialises ``module.<name>`` as a whole, with
    its own ``type`` and arguments, or with the parent's (minus ``layer``)
    when it gives only ``name``. The configs are copied, never changed.

    Raises:
        InitCfgTypeError: ``init_cfg`` or ``override`` is not a dict or a list.
        ConfigError: An unknown ``type``, an ``override`` without ``name``, with
            arguments but no ``type``, or naming a missing attribute.

    Example:
        >>> net = nn.Sequential(nn.Conv1d(3, 1, 3), nn.Linear(1, 2))
        >>> initialize(net, [dict(type="Constant", layer="Conv1d", val=1), dict(type="Constant", layer="Linear", val=2)])
        >>> float(net[0].weight.mean()), float(net[1].weight.mean())
        (1.0, 2.0)
    """
    if not isinstance(init_cfg, (Mapping, list)):
        raise InitCfgTypeError("init_cfg", init_cfg, "a dict or a list of dicts",
                               "write init_cfg=dict(type='Kaiming', layer='Conv2d').", "initialize")
    cfgs = [init_cfg] if isinstance(init_cfg, Mapping) else init_cfg
    for index, cfg in enumerate(cfgs):
        where = "init_cfg" if isinstance(init_cfg, Mapping) else f"init_cfg[{index}]"
        own = dict(copy.deepcopy(cfg))  # one init_cfg may be shared by many modules
        override = own.pop("override", None)
        _run_initializer(module, own, wholemodule=False, where=where)
        if override is not None:
            own.pop("layer", None)
            _override(module, override, own, where)
