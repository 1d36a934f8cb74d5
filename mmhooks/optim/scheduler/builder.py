"""Build parameter schedulers from a ``param_scheduler`` config, with MMEngine's Runner rules.

The rules (``Runner.build_param_scheduler``): a config may be one dict, a list
of dicts or built schedulers, or, for several optimizers, a dict keyed by
optimizer name. A dict without ``end`` runs to the end of training
(``max_epochs`` when ``by_epoch``, else ``max_iters``), and
``convert_to_iter_based=True`` turns an epoch-based config into iterations
with the number of batches per epoch. Every mistake raises
:class:`~mmhooks.errors.ConfigError` located by key path, before training.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Union

from mmhooks.errors import ConfigError, check_keys, join_path
from mmhooks.optim.scheduler.checks import MISSING, check_param_scheduler_cfg, locate_scheduler_error
from mmhooks.optim.scheduler.param_scheduler import OptimizerLike
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["ParamSchedulers", "build_param_schedulers", "is_scheduler"]

#: What the Runner stores in ``runner.param_schedulers``.
ParamSchedulers = Union[list[Any], dict[str, list[Any]]]


def is_scheduler(obj: object) -> bool:
    """Whether ``obj`` is a built scheduler (mmhooks' or MMEngine's): it steps and has ``by_epoch``."""
    return not isinstance(obj, Mapping) and callable(getattr(obj, "step", None)) and hasattr(obj, "by_epoch")


def _is_wrapper_dict(optim_wrapper: OptimizerLike) -> bool:
    """Several named optimizers: an ``OptimWrapperDict`` (mmhooks' or MMEngine's), or a plain name -> wrapper map.

    An ``OptimWrapperDict`` also has ``param_groups`` (all of its wrappers'), so its
    ``optim_wrappers`` mapping is what tells it apart from one wrapper.
    """
    if isinstance(getattr(optim_wrapper, "optim_wrappers", None), Mapping):
        return True
    return callable(getattr(optim_wrapper, "items", None)) and not hasattr(optim_wrapper, "param_groups")


def build_param_schedulers(
    cfg: Any,
    optim_wrapper: OptimizerLike,
    *,
    epoch_length: int | None = None,
    max_epochs: int | None = None,
    max_iters: int | None = None,
    path: str = "param_scheduler",
) -> ParamSchedulers | None:
    """Build ``cfg`` against ``optim_wrapper`` the way MMEngine's Runner does.

    Args:
        cfg: The ``param_scheduler`` config: ``None``, a dict with ``type``, a
            built scheduler, a list of those, or (several optimizers) a dict
            keyed by optimizer name.
        optim_wrapper: An optimizer, an ``OptimWrapper``, or an
            ``OptimWrapperDict``-like object with ``.items()`` (name, wrapper).
        epoch_length: Batches per epoch on this rank (``len(train_dataloader)``),
            needed by ``convert_to_iter_based``.
        max_epochs: Default ``end`` of epoch-based schedulers; ``None`` with a
            ``max_iters`` means an iteration-based loop (one epoch, as in MMEngine).
        max_iters: Default ``end`` of iteration-based schedulers; derived from
            ``max_epochs * epoch_length`` when not given.
        path: Key path of ``cfg`` for error messages.

    Returns:
        ``None`` for no config, a list of schedulers, or a dict of name to list
        for several optimizers.

    Raises:
        ConfigError: an unknown ``type`` or argument, a missing required
            argument, ``begin >= end``, or an impossible conversion.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> build_param_schedulers([dict(type="LinearLR", start_factor=0.5, by_epoch=False)], opt, max_iters=10)
        [LinearLR(lr, iter [0, 10), step=0)]
    """
    if cfg is None:
        return None
    if max_epochs is None and max_iters is not None:
        max_epochs = 1  # IterBasedTrainLoop: the whole run is one epoch
    if max_iters is None and max_epochs is not None and epoch_length is not None:
        max_iters = max_epochs * epoch_length
    limits = _Limits(epoch_length, max_epochs, max_iters)
    if not _is_wrapper_dict(optim_wrapper):
        return _build_list(cfg, optim_wrapper, path, limits)
    wrappers = dict(optim_wrapper.items())
    keyed = isinstance(cfg, Mapping) and "type" not in cfg
    if keyed:
        check_keys(path, cfg, wrappers, what="an optimizer name")
    built: dict[str, list[Any]] = {}
    for name, wrapper in wrappers.items():
        if not keyed:
            built[name] = _build_list(cfg, wrapper, path, limits)
        elif name in cfg:
            built[name] = _build_list(cfg[name], wrapper, join_path(path, name), limits)
        else:
            raise ConfigError(name, MISSING, f"a scheduler config for every optimizer ({', '.join(sorted(wrappers))})",
                              f"add {name}=[...] (an empty list schedules nothing).", path)
    return built


class _Limits:
    """The run length a config's default ``end`` and conversion depend on."""

    def __init__(self, epoch_length: int | None, max_epochs: int | None, max_iters: int | None) -> None:
        self.epoch_length = epoch_length
        self.max_epochs = max_epochs
        self.max_iters = max_iters


def _build_list(cfg: Any, wrapper: OptimizerLike, path: str, limits: _Limits) -> list[Any]:
    if isinstance(cfg, Mapping) or is_scheduler(cfg):
        items, paths = [cfg], [path]
    elif isinstance(cfg, (list, tuple)):
        items, paths = list(cfg), [f"{path}[{index}]" for index in range(len(cfg))]
    else:
        raise ConfigError("", cfg, "a scheduler config dict, a list of them, or built schedulers",
                          "write e.g. [dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=500)].", path)
    built = []
    for item, item_path in zip(items, paths):
        if is_scheduler(item):
            built.append(item)
        elif isinstance(item, Mapping):
            built.append(_build_one(item, wrapper, item_path, limits))
        else:
            raise ConfigError("", item, "a scheduler config dict or a built scheduler",
                              "write dict(type='...', ...).", item_path)
    return built


def _build_one(cfg: Mapping[str, Any], wrapper: OptimizerLike, path: str, limits: _Limits) -> Any:
    check_param_scheduler_cfg(cfg, path)  # type, arguments and values, before anything is built
    args = copy.deepcopy(dict(cfg))
    cls = PARAM_SCHEDULERS.resolve_type(args.pop("type"), path)
    name = getattr(cls, "__name__", repr(cls))
    convert = bool(args.pop("convert_to_iter_based", False))
    args.pop("_scope_", None)
    args.pop("epoch_length", None)
    by_epoch = args.get("by_epoch", True)
    if "end" not in args:
        default_end = limits.max_epochs if by_epoch else limits.max_iters
        if default_end is not None:
            args["end"] = default_end
    build = cls
    if convert:
        if limits.epoch_length is None:
            raise ConfigError("convert_to_iter_based", True, "a known epoch length (batches per epoch)",
                              "pass epoch_length (the train dataloader length).", path)
        build = getattr(cls, "build_iter_from_epoch", None)
        if build is None:
            raise ConfigError("convert_to_iter_based", True, f"a scheduler with build_iter_from_epoch ({name} has none)",
                              "remove convert_to_iter_based.", path)
        args["epoch_length"] = limits.epoch_length
    try:
        return build(wrapper, **args)
    except ConfigError as err:
        raise locate_scheduler_error(err, name, path) from None
