"""Check a ``param_scheduler`` config before anything runs: no optimizer, no dataloader, no file written.

The Runner calls :func:`check_param_scheduler_cfgs` when it is constructed,
so ``milestones=8`` or ``T_maxx=10`` stop the run with one line naming the key
(``param_scheduler[0].milestones``) instead of a ``TypeError`` once training
has started. The builder runs the same check on each config it builds.

What is checked:

* the shape (a dict, a list of dicts or built schedulers, or a dict keyed by
  optimizer name), each ``type`` (unknown names get the closest registered
  name), and the arguments against the class's signature (unknown and
  missing ones), for every scheduler class;
* for mmhooks' schedulers, and MMEngine's built-in ones (same arguments):
  the type of each common argument (``milestones`` a list of ints,
  ``by_epoch`` a bool, ``begin``/``end`` ints, factors numbers...), then a dry
  run that builds the scheduler on a throwaway one-parameter optimizer, so
  every rule the class itself enforces (``end > begin``, ``factor`` in
  range, ``rule`` one of ``less``/``greater``...) is reported here too.

Downstream classes (found through MMEngine's registries) get the signature
check only: their arguments' meaning is theirs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Integral, Real
from typing import Any, NamedTuple

from mmhooks.errors import ConfigError, check_keys, join_path
from mmhooks.optim.signature import keyword_arguments
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["check_param_scheduler_cfg", "check_param_scheduler_cfgs", "locate_scheduler_error"]


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


MISSING: Any = _Missing()

# Keys the builder consumes itself rather than passing to the class.
_BUILDER_KEYS = ("type", "_scope_", "convert_to_iter_based", "epoch_length")
# The dry run converts with a long epoch so that fractional epochs stay distinct iterations.
_DRY_RUN_EPOCH_LENGTH = 1000


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and not math.isnan(float(value))


def _is_list_of(value: object, item: Callable[[object], bool]) -> bool:
    return isinstance(value, (list, tuple)) and all(item(element) for element in value)


class _Kind(NamedTuple):
    """What one argument must be: a test, the words for it, and an example fix for a bad value."""

    test: Callable[[object], bool]
    expected: str
    example: Callable[[str, object], str]


def _write(text: str) -> Callable[[str, object], str]:
    return lambda key, value: f"write {key}={text}."


def _as_list(key: str, value: object) -> str:
    if _is_number(value):
        return f"write {key}=[{value!r}] (a list, even for one entry)."
    return f"write {key}=[8, 11]-style, a list of whole numbers."


def _whole_steps(key: str, value: object) -> str:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return f"write {key}={value.strip()} without quotes."
    return f"write a whole number of steps, e.g. {key}=10."


_BOOL = _Kind(lambda v: isinstance(v, bool), "True or False", lambda key, value: f"write {key}=True or {key}=False.")
_INT = _Kind(_is_int, "an int", _whole_steps)
_NUMBER = _Kind(_is_number, "a number", _write("0.1"))
_NUMBER_OR_NONE = _Kind(lambda v: v is None or _is_number(v), "a number or None", _write("0.0"))
_INT_OR_NONE = _Kind(lambda v: v is None or _is_int(v), "an int or None", _whole_steps)
_STEPS_OR_NONE = _Kind(lambda v: v is None or _is_number(v), "a number of steps or None", _whole_steps)
_INTS = _Kind(lambda v: _is_list_of(v, _is_int), "a list of ints", _as_list)
_NUMBERS = _Kind(lambda v: _is_list_of(v, _is_number), "a list of numbers", _as_list)
_NUMBER_OR_NUMBERS = _Kind(lambda v: _is_number(v) or _is_list_of(v, _is_number),
                           "a number, or a list of numbers (one per param group)", _write("0.1"))
_STRING = _Kind(lambda v: isinstance(v, str), "a string", lambda key, value: f"write {key}={str(value)!r}.")

#: The kind of every argument that mmhooks' (and MMEngine's built-in) schedulers share.
ARGUMENT_KINDS: dict[str, _Kind] = {
    "by_epoch": _BOOL,
    "verbose": _BOOL,
    "three_phase": _BOOL,
    "convert_to_iter_based": _BOOL,
    "last_step": _INT,
    "step_size": _INT,
    "patience": _INT,
    "cooldown": _INT,
    "T_max": _STEPS_OR_NONE,
    "total_steps": _INT_OR_NONE,
    "milestones": _INTS,
    "periods": _INTS,
    "restart_weights": _NUMBERS,
    "gamma": _NUMBER,
    "factor": _NUMBER,
    "start_factor": _NUMBER,
    "end_factor": _NUMBER,
    "power": _NUMBER,
    "threshold": _NUMBER,
    "eps": _NUMBER,
    "div_factor": _NUMBER,
    "final_div_factor": _NUMBER,
    "pct_start": _NUMBER,
    "eta_min": _NUMBER_OR_NONE,
    "eta_min_ratio": _NUMBER_OR_NONE,
    "eta_max": _NUMBER_OR_NUMBERS,
    "min_value": _NUMBER_OR_NUMBERS,
    "monitor": _STRING,
    "rule": _STRING,
    "threshold_rule": _STRING,
    "anneal_strategy": _STRING,
    "param_name": _STRING,
}


def check_param_scheduler_cfgs(
    cfgs: Any,
    path: str = "param_scheduler",
    optimizer_names: list[str] | tuple[str, ...] | None = None,
) -> None:
    """Check a whole ``param_scheduler`` config, as MMEngine's Runner would read it, without building it.

    Args:
        cfgs: ``None``, a scheduler config dict, a built scheduler, a list of
            those, or a dict keyed by optimizer name (several optimizers).
        path: Key path of ``cfgs``, for messages.
        optimizer_names: The optimizer names of an ``OptimWrapperDict``, when
            known: a keyed config is then checked against them.

    Raises:
        ConfigError: Naming the key path (``param_scheduler[0].milestones``),
            the bad value, what is accepted and a fix.

    Example:
        >>> check_param_scheduler_cfgs([dict(type="MultiStepLR", milestones=8)])
        Traceback (most recent call last):
        ...
        mmhooks.errors.ConfigError: param_scheduler[0].milestones: got 8; expected a list of ints. Fix: write milestones=[8] (a list, even for one entry).
    """
    if cfgs is None:
        return
    if isinstance(cfgs, Mapping) and "type" not in cfgs:  # one config list per optimizer...
        if optimizer_names is None and not all(
            isinstance(sub, (list, tuple, Mapping)) or _is_built(sub) for sub in cfgs.values()
        ):
            check_param_scheduler_cfg(cfgs, path)  # ...or one scheduler that forgot its type
        if optimizer_names is not None:
            check_keys(path, cfgs, optimizer_names, what="an optimizer name")
        for name, sub in cfgs.items():
            _check_list(sub, join_path(path, str(name)))
        return
    _check_list(cfgs, path)


def _is_built(obj: object) -> bool:
    return not isinstance(obj, Mapping) and callable(getattr(obj, "step", None)) and hasattr(obj, "by_epoch")


def _check_list(cfg: Any, path: str) -> None:
    if isinstance(cfg, Mapping) or _is_built(cfg):
        items = [(cfg, path)]
    elif isinstance(cfg, (list, tuple)):
        items = [(item, f"{path}[{index}]") for index, item in enumerate(cfg)]
    else:
        raise ConfigError("", cfg, "a scheduler config dict, a list of them, or built schedulers",
                          "write e.g. [dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=500)].", path)
    for item, item_path in items:
        if _is_built(item):
            continue
        if not isinstance(item, Mapping):
            raise ConfigError("", item, "a scheduler config dict or a built scheduler", "write dict(type='...', ...).",
                              item_path)
        check_param_scheduler_cfg(item, item_path)


def _own_class(cls: Any) -> Any:
    """mmhooks' scheduler with ``cls``'s arguments: ``cls`` itself, or for MMEngine's built-in, the same name here."""
    module = getattr(cls, "__module__", "") or ""
    if module.startswith("mmhooks.optim.scheduler."):
        return cls
    if module.startswith("mmengine.optim.scheduler."):
        own = PARAM_SCHEDULERS.module_dict.get(getattr(cls, "__name__", ""))
        if own is not None and own.__module__.startswith("mmhooks.optim.scheduler."):
            return own
    return None


def check_param_scheduler_cfg(cfg: Mapping[str, Any], path: str = "param_scheduler") -> None:
    """Check one scheduler config dict (see the module docstring for what is checked).

    Raises:
        ConfigError: Located under ``path``.
    """
    if "type" not in cfg:
        raise ConfigError("type", MISSING, f"a registered {PARAM_SCHEDULERS.name} name",
                          "add type='LinearLR' or another scheduler name.", path)
    cls = PARAM_SCHEDULERS.resolve_type(cfg["type"], path)
    name = getattr(cls, "__name__", repr(cls))
    args = {key: value for key, value in cfg.items() if key not in _BUILDER_KEYS}
    convert = cfg.get("convert_to_iter_based", False)
    if "optimizer" in args:
        raise ConfigError("optimizer", args["optimizer"], "no optimizer key (the optimizer wrapper is passed in)",
                          "delete it.", path)
    own = _own_class(cls)
    signature = keyword_arguments(own if own is not None else cls)
    if not signature.open:
        check_keys(path, args, signature.accepted, what=f"an argument of {name}")
    for key in sorted(signature.required):
        if key not in args:
            raise ConfigError(key, MISSING, f"a value ({name} requires {key})", f"add {key}=... to {path}.", path)
    if convert and not args.get("by_epoch", True):
        raise ConfigError("convert_to_iter_based", True, "by_epoch=True (only epoch-based configs convert)",
                          "remove convert_to_iter_based, or by_epoch=False.", path)
    if own is None:
        return  # a downstream class: its arguments' meaning is its own
    _check_kinds(dict(args, convert_to_iter_based=convert), path)
    _check_window(args, bool(convert), path)
    _dry_run(own, args, bool(convert), path)


def _check_kinds(args: Mapping[str, Any], path: str) -> None:
    for key, value in args.items():
        kind = ARGUMENT_KINDS.get(key)
        if kind is not None and not kind.test(value):
            raise ConfigError(key, value, kind.expected, kind.example(key, value), path)


def _check_window(args: Mapping[str, Any], convert: bool, path: str) -> None:
    """``begin``/``end``: whole steps, or (with ``convert_to_iter_based``) possibly fractional epochs."""
    for key in ("begin", "end"):
        if key not in args:
            continue
        value = args[key]
        if not _is_number(value):
            raise ConfigError(key, value, "an int (a step index)", _whole_steps(key, value), path)
        if not convert and not float(value).is_integer():
            raise ConfigError(key, value, "a whole number of steps (fractional epochs need convert_to_iter_based)",
                              f"write {key}={math.floor(value)}, or add convert_to_iter_based=True.", path)


def locate_scheduler_error(err: ConfigError, name: str, path: str) -> ConfigError:
    """An error raised by scheduler ``name`` itself (``"LinearLR.end"``), located at the config ``path``."""
    if err.where in ("", name):
        return ConfigError(err.key, err.value, err.expected, err.fix, path)
    return err.under(path)


def _groups_for(args: Mapping[str, Any]) -> int:
    """Param groups the throwaway optimizer needs: as many as a per-group list argument has entries."""
    for key in ("eta_max", "min_value"):
        value = args.get(key)
        if isinstance(value, (list, tuple)) and value:
            return len(value)
    return 1


def _dry_run(cls: Any, args: Mapping[str, Any], convert: bool, path: str) -> None:
    """Build the scheduler on a throwaway optimizer so that its own argument checks run now."""
    import torch

    groups = [{"params": [torch.zeros(1, requires_grad=True)]} for _ in range(_groups_for(args))]
    optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    kwargs = dict(args, verbose=False) if "verbose" in keyword_arguments(cls).accepted else dict(args)
    try:
        if convert:
            cls.build_iter_from_epoch(optimizer, epoch_length=_DRY_RUN_EPOCH_LENGTH, **kwargs)
        else:
            cls(optimizer, **kwargs)
    except ConfigError as err:
        raise locate_scheduler_error(err, cls.__name__, path) from None
