"""Build a ``DataLoader`` from an MMEngine dataloader config (``train_dataloader=dict(...)``).

Follows MMEngine's ``Runner.build_dataloader``: the dataset and sampler are
built through their registries, the run's seed reaches the sampler and the
worker processes, and ``collate_fn`` defaults to ``pseudo_collate``. Mistakes
raise :class:`~mmhooks.errors.ConfigError` located by key path.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from torch.utils.data import DataLoader

from mmhooks.dataset.collate import pseudo_collate
from mmhooks.dataset.worker_init import worker_init_fn as default_worker_init_fn
from mmhooks.errors import ConfigError, check_keys, closest, join_path, warn_once
from mmhooks.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS

__all__ = ["SlicedDataset", "build_dataloader"]

# Keys build_dataloader consumes itself; the rest go to DataLoader unchanged.
_OWN_KEYS = ("batch_sampler", "collate_fn", "dataset", "disable_subprocess_warning", "num_batch_per_epoch",
             "sampler", "worker_init_fn")
_LOADER_KEYS = sorted(set(inspect.signature(DataLoader).parameters) - {"self"})


class SlicedDataset:
    """The first ``length`` samples of ``dataset`` (``num_batch_per_epoch``); other attributes pass through."""

    def __init__(self, dataset: Any, length: int) -> None:
        self._dataset = dataset
        self._length = length

    def __getattr__(self, name: str) -> Any:
        if name in ("_dataset", "_length"):  # not set yet while unpickling in a worker
            raise AttributeError(name)
        return getattr(self._dataset, name)

    def __getitem__(self, index: int) -> Any:
        return self._dataset[index]

    def __len__(self) -> int:
        return self._length


def _accepts(cls: Any, name: str) -> bool:
    """Whether calling ``cls`` accepts the keyword ``name``."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _function(cfg: Any, key: str, path: str, default_name: str | None = None) -> Callable[..., Any]:
    """A callable from ``cfg``: a callable, or ``dict(type=name_or_callable, **bound_kwargs)``."""
    where = join_path(path, key)
    if callable(cfg) and not isinstance(cfg, Mapping):
        return cfg  # type: ignore[no-any-return]
    if not isinstance(cfg, Mapping):
        raise ConfigError(key, cfg, "a callable or a dict with type", f"use {key}=dict(type={default_name!r}).", path)
    kwargs = dict(cfg)
    type_ = kwargs.pop("type", None)
    func = FUNCTIONS.get(type_) if isinstance(type_, str) else type_
    if not callable(func):
        names = FUNCTIONS.keys()
        near = closest(type_, names)
        fix = f"did you mean {near!r}?" if near else "register it with @FUNCTIONS.register_module() or pass a callable."
        raise ConfigError("type", type_, f"a registered function ({', '.join(names)}) or a callable", fix, where)
    return partial(func, **kwargs) if kwargs else func


def _batch_size(cfg: Mapping[str, Any], path: str) -> int:
    """``batch_size`` from the loader or its batch sampler; a warning and 1 when neither sets it."""
    if "batch_size" in cfg:
        return int(cfg["batch_size"])
    batch_sampler = cfg.get("batch_sampler")
    if isinstance(batch_sampler, Mapping) and "batch_size" in batch_sampler:
        return int(batch_sampler["batch_size"])
    if batch_sampler is not None and hasattr(batch_sampler, "batch_size"):
        return int(batch_sampler.batch_size)
    warn_once(
        f"{join_path(path, 'batch_size')}: not set; DataLoader's default batch_size=1 is used. "
        "Fix: set batch_size in the dataloader config.",
        UserWarning,
    )
    return 1


def _build_dataset(cfg: dict[str, Any], path: str) -> Any:
    if "dataset" not in cfg:
        raise ConfigError("dataset", None, "a dataset config dict or a Dataset object",
                          "add dataset=dict(type=...) to the dataloader config.", path)
    dataset_cfg = cfg.pop("dataset")
    if isinstance(dataset_cfg, Mapping):
        dataset = DATASETS.build(dict(dataset_cfg), path=join_path(path, "dataset"))
        if hasattr(dataset, "full_init"):
            dataset.full_init()  # lazily initialised OpenMMLab datasets load their annotations here
        return dataset
    if not (hasattr(dataset_cfg, "__getitem__") or hasattr(dataset_cfg, "__iter__")):
        raise ConfigError("dataset", dataset_cfg, "a dataset config dict or a Dataset object",
                          "pass dataset=dict(type=...) or an object with __getitem__ and __len__.", path)
    return dataset_cfg


def _build_sampler(cfg: dict[str, Any], dataset: Any, sampler_seed: int | None, path: str) -> Any:
    if "sampler" not in cfg:
        raise ConfigError("sampler", None, "a sampler config dict or a Sampler object",
                          "add sampler=dict(type='DefaultSampler', shuffle=True) (or InfiniteSampler).", path)
    sampler_cfg = cfg.pop("sampler")
    if not isinstance(sampler_cfg, Mapping):
        return sampler_cfg
    where = join_path(path, "sampler")
    sampler_cfg = dict(sampler_cfg)
    if "type" in sampler_cfg:
        sampler_cfg["type"] = DATA_SAMPLERS.resolve_type(sampler_cfg["type"], where)
    defaults: dict[str, Any] = {"dataset": dataset}
    if _accepts(sampler_cfg.get("type"), "seed"):
        defaults["seed"] = sampler_seed
    return DATA_SAMPLERS.build(sampler_cfg, default_args=defaults, path=where)


def _build_batch_sampler(cfg: dict[str, Any], sampler: Any, path: str) -> Any:
    batch_sampler_cfg = cfg.pop("batch_sampler", None)
    if not isinstance(batch_sampler_cfg, Mapping):
        if batch_sampler_cfg is not None and "batch_size" in cfg:
            raise ConfigError("batch_size", cfg["batch_size"], "no batch_size next to a built batch_sampler",
                              "delete batch_size; the batch sampler sets it.", path)
        return batch_sampler_cfg
    defaults: dict[str, Any] = {"sampler": sampler}
    if "batch_size" in cfg:
        defaults["batch_size"] = cfg.pop("batch_size")
    return DATA_SAMPLERS.build(dict(batch_sampler_cfg), default_args=defaults, path=join_path(path, "batch_sampler"))


def _worker_init(cfg: dict[str, Any], seed: int | None, rank: int, path: str) -> Callable[..., Any] | None:
    disable_warning = cfg.pop("disable_subprocess_warning", False)
    if not isinstance(disable_warning, bool):
        raise ConfigError("disable_subprocess_warning", disable_warning, "True or False",
                          "set disable_subprocess_warning to a bool.", path)
    if "worker_init_fn" in cfg:
        return _function(cfg.pop("worker_init_fn"), "worker_init_fn", path)
    if seed is None:
        return None
    # Only worker processes call it, and those exist only when num_workers is set.
    return partial(default_worker_init_fn, num_workers=cast(int, cfg.get("num_workers")), rank=rank, seed=seed,
                   disable_subprocess_warning=disable_warning)


def _check_loader_keys(cfg: Mapping[str, Any], sampler: Any, path: str) -> None:
    unknown = {key: value for key, value in cfg.items() if key not in _LOADER_KEYS}  # own keys were taken out
    check_keys(path, unknown, {*_LOADER_KEYS, *_OWN_KEYS}, "a dataloader key")
    if sampler is not None and "shuffle" in cfg:
        raise ConfigError("shuffle", cfg["shuffle"], "no shuffle key when a sampler is set",
                          "delete it and set sampler=dict(type='DefaultSampler', shuffle=...).", path)
    if cfg.get("persistent_workers") and not cfg.get("num_workers"):
        raise ConfigError("persistent_workers", cfg["persistent_workers"], "False when num_workers is 0",
                          "set num_workers > 0 or persistent_workers=False.", path)


def build_dataloader(cfg: Mapping[str, Any] | DataLoader[Any], *, seed: int | None = None,
                     diff_rank_seed: bool = False, rank: int = 0, world_size: int = 1,
                     path: str = "train_dataloader") -> DataLoader[Any]:
    """A ``DataLoader`` built from an MMEngine dataloader config; a built ``DataLoader`` is returned as is.

    Args:
        cfg: ``dict(dataset=..., sampler=..., batch_size=..., ...)``: see spec §9 for the keys.
        seed: The run's seed: injected into the sampler (unless its config sets one)
            and, without ``worker_init_fn``, used to seed each worker.
        diff_rank_seed: Ranks use different seeds; the sampler then gets ``seed=None``,
            so it draws one seed on rank zero and shares it.
        rank: This process's rank (worker seeds).
        world_size: Number of ranks (``num_batch_per_epoch`` counts batches on every rank).
        path: Key path of ``cfg`` in the config, for error messages.

    Raises:
        ConfigError: ``cfg`` is not a dict, ``dataset`` or ``sampler`` is missing,
            a ``type`` is unknown, or a key is not a ``DataLoader`` argument.

    Example:
        >>> loader = build_dataloader(dict(dataset=list(range(5)), batch_size=2,
        ...                                sampler=dict(type="DefaultSampler", shuffle=False)), seed=0)
        >>> list(loader)
        [[0, 1], [2, 3], [4]]
    """
    if isinstance(cfg, DataLoader):
        return cfg
    if not isinstance(cfg, Mapping):
        raise ConfigError("", cfg, "a dataloader config dict or a torch DataLoader",
                          "write dict(dataset=..., sampler=..., batch_size=...).", path)
    loader_cfg = dict(cfg)
    batch_size = _batch_size(loader_cfg, path)
    if "batch_size" not in loader_cfg and loader_cfg.get("batch_sampler") is None:
        loader_cfg["batch_size"] = batch_size
    dataset = _build_dataset(loader_cfg, path)
    num_batch_per_epoch = loader_cfg.pop("num_batch_per_epoch", None)
    if num_batch_per_epoch is not None:
        if not isinstance(num_batch_per_epoch, int) or isinstance(num_batch_per_epoch, bool) or num_batch_per_epoch < 1:
            raise ConfigError("num_batch_per_epoch", num_batch_per_epoch, "a positive int or None",
                              "set it to the number of batches each rank should see per epoch.", path)
        dataset = SlicedDataset(dataset, num_batch_per_epoch * batch_size * world_size)
    sampler = _build_sampler(loader_cfg, dataset, None if diff_rank_seed else seed, path)
    batch_sampler = _build_batch_sampler(loader_cfg, sampler, path)
    init_fn = _worker_init(loader_cfg, seed, rank, path)
    collate_fn = _function(loader_cfg.pop("collate_fn", pseudo_collate), "collate_fn", path,
                           default_name="pseudo_collate")
    _check_loader_keys(loader_cfg, sampler if batch_sampler is None else batch_sampler, path)
    return DataLoader(dataset=dataset, sampler=sampler if batch_sampler is None else None,
                      batch_sampler=batch_sampler, collate_fn=collate_fn, worker_init_fn=init_fn, **loader_cfg)
