"""Run MMCV 1.x hooks on an MMEngine-style runner: an MMCV-shaped view of the runner, and the adapter hook.

Counter mapping (MMEngine facade -> what the MMCV hook sees), ``L`` = train batches per epoch:

EpochBasedRunner semantics (``by_epoch=True``, the default for an epoch-based train loop):

================================  ==========================================================
MMEngine stage                    MMCV stage and view counters
================================  ==========================================================
before_run                        before_run; epoch, iter from the facade, inner_iter 0, mode None
before_train_epoch                before_train_epoch; mode 'train', inner_iter left stale (MMCV)
before/after_train_iter(i)        same name; inner_iter = i, iter = facade iter (not yet incremented)
after_train_epoch                 after_train_epoch; epoch e (not incremented), iter (e+1)*L
before/after_val_epoch, *_iter    same names; MMEngine validates after ``epoch += 1``, which is
                                  what MMCV's val workflow shows (epoch e+1); inner_iter = val index
after_run                         after_run
test, before/after_train|val,     not called (MMCV has no such stages)
checkpoint stages
================================  ==========================================================

IterBasedRunner semantics (``by_epoch=False``; MMEngine's IterBasedTrainLoop calls its epoch stages once):

- ``before_train_epoch`` -> MMCV ``before_epoch`` (mode None, no data_loader), ``after_train_epoch`` ->
  ``after_epoch``; MMCV never calls the ``*_train_epoch`` / ``*_val_epoch`` stages there.
- ``inner_iter`` is 0 in every train iteration and 1 in ``after_epoch`` / ``after_run`` (MMCV's values for
  ``workflow=[('train', 1)]``; the legacy ``IterBasedRunner`` counts inside longer workflow entries).
- ``epoch`` lags one iteration behind the loader wrap (MMCV sets it before fetching the batch):
  ``epoch = max(iter - 1, 0) // L``; ``max_epochs`` is None.

Before ``after_train_iter`` the view converts MMEngine's ``outputs`` (a dict of losses) into MMCV's
``dict(loss, log_vars, num_samples)`` and pushes ``log_vars`` into ``log_buffer`` with weight
``num_samples``, once per iteration however many adapters run. Validation ``metrics`` are pushed
(weight 1) before ``after_val_epoch``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import torch

from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.legacy.hook import GENERIC_FALLBACK
from mmhooks.legacy.log_buffer import LogBuffer
from mmhooks.legacy.runner_access import optimizers_of

__all__ = ["LegacyHookAdapter", "LegacyRunnerView", "to_mmcv_outputs"]

_VIEW_ATTR = "_mmhooks_legacy_view"
_UNSET: Any = object()
_ITER_STAGES = ("before_train_iter", "after_train_iter", "before_val_iter", "after_val_iter")


def _batch_size(data_batch: Any) -> int:
    """Samples in a batch, for MMCV's ``num_samples`` (1 when it cannot be told)."""
    if isinstance(data_batch, torch.Tensor):
        return int(data_batch.shape[0]) if data_batch.dim() else 1
    if isinstance(data_batch, Mapping):
        inputs = data_batch.get("inputs", data_batch.get("img"))
        return _batch_size(inputs) if inputs is not None else 1
    if isinstance(data_batch, Sequence) and not isinstance(data_batch, str) and data_batch:
        first = data_batch[0]
        return _batch_size(first) if isinstance(first, torch.Tensor) else len(data_batch)
    return 1


def _scalar(value: Any) -> float | None:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean()) if value.numel() else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def to_mmcv_outputs(outputs: Any, data_batch: Any = None) -> dict[str, Any]:
    """MMCV's ``runner.outputs`` (``loss``, ``log_vars`` of floats, ``num_samples``) from MMEngine outputs.

    An MMCV-shaped dict (it has ``log_vars``) is kept; a dict of losses becomes ``log_vars`` (tensor
    means as floats) with ``loss`` kept as given; anything else (validation data samples) is kept
    under ``outputs`` with empty ``log_vars``.
    """
    if isinstance(outputs, Mapping) and "log_vars" in outputs:
        return dict(outputs)
    if isinstance(outputs, Mapping):
        log_vars = OrderedDict((k, v) for k, v in ((k, _scalar(v)) for k, v in outputs.items()) if v is not None)
        return {"loss": outputs.get("loss"), "log_vars": log_vars, "num_samples": _batch_size(data_batch)}
    samples = len(outputs) if isinstance(outputs, Sequence) else _batch_size(data_batch)
    return {"outputs": outputs, "log_vars": OrderedDict(), "num_samples": samples}


class _IterLoaderView:
    """MMCV's ``IterLoader`` face of a loader: ``len()``, ``_dataloader`` and ``epoch``, the passes started.

    MMCV's ``IterLoader`` counts a pass when it wraps around to fetch the next batch, so the batch of
    global iteration ``t`` comes from pass ``t // len(loader)``.
    """

    def __init__(self, loader: Any, epoch: int) -> None:
        self.loader = loader
        self._dataloader = loader
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


def _detect_by_epoch(runner: Any) -> bool:
    flag = getattr(runner, "by_epoch", None)  # the Lightning facade knows it
    if isinstance(flag, bool):
        return flag
    loop = getattr(runner, "train_loop", None)
    flag = getattr(loop, "by_epoch", None)
    if isinstance(flag, bool):
        return flag
    if loop is not None and "Iter" in type(loop).__name__:
        return False
    cfg = getattr(runner, "cfg", None)
    train_cfg = cfg.get("train_cfg") if isinstance(cfg, Mapping) else None
    if isinstance(train_cfg, Mapping) and "by_epoch" in train_cfg:
        return bool(train_cfg["by_epoch"])
    return True


class LegacyRunnerView:
    """What MMCV hooks read from ``runner``, with MMCV's counter semantics, over an MMEngine-style facade.

    Attributes the view does not define (``save_checkpoint``, ``timestamp``, ``cfg``...) are read from
    the facade. Use :meth:`of` to get the view shared by every adapter of one runner.

    Args:
        runner: The MMEngine-style runner facade.
        by_epoch: EpochBasedRunner (``True``) or IterBasedRunner (``False``) semantics; ``None`` detects
            it from ``runner.train_loop`` / ``runner.cfg.train_cfg``.
    """

    def __init__(self, runner: Any, by_epoch: bool | None = None) -> None:
        self.runner = runner
        self.by_epoch = _detect_by_epoch(runner) if by_epoch is None else by_epoch
        self._epoch = 0
        self._iter = 0
        self._inner_iter = 0
        self.mode: str | None = None
        self._data_loader: Any = _UNSET
        self.log_buffer = LogBuffer()
        self.meta: dict[str, Any] = dict(getattr(runner, "meta", None) or {})
        self._last_push: tuple[Any, ...] | None = None

    @classmethod
    def of(cls, runner: Any, by_epoch: bool | None = None) -> LegacyRunnerView:
        """The view shared by all adapters of ``runner`` (created on first use)."""
        view = runner.__dict__.get(_VIEW_ATTR) if hasattr(runner, "__dict__") else None
        if isinstance(view, cls) and (by_epoch is None or view.by_epoch == by_epoch):
            return view
        view = cls(runner, by_epoch)
        try:
            setattr(runner, _VIEW_ATTR, view)
        except AttributeError:
            pass
        return view

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("runner", "data_loader", "data_batch", "_data_loader"):
            raise AttributeError(name)
        return getattr(self.runner, name)

    @property
    def data_loader(self) -> Any:
        """The loader of the current phase; absent (AttributeError) before the first one, as in MMCV."""
        if self._data_loader is _UNSET:
            raise AttributeError("data_loader: no training or validation phase has started yet")
        return self._data_loader

    @data_loader.setter
    def data_loader(self, loader: Any) -> None:
        self._data_loader = loader

    # ---------------------------------------------------------------- counters
    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def inner_iter(self) -> int:
        return self._inner_iter

    def _clear_batch(self) -> None:
        """MMCV deletes ``runner.data_batch`` after every ``after_*_iter``."""
        self.__dict__.pop("data_batch", None)

    @property
    def _max_epochs(self) -> int | None:
        return int(self.runner.max_epochs) if self.by_epoch else None

    @property
    def _max_iters(self) -> int:
        return int(self.runner.max_iters)

    @property
    def max_epochs(self) -> int | None:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    # ------------------------------------------------------------- components
    @property
    def model(self) -> Any:
        return self.runner.model

    @property
    def optimizer(self) -> Any:
        """The optimizer, or a dict name -> optimizer (MMCV's multi-optimizer form)."""
        found = optimizers_of(self.runner)
        return found[None] if list(found) == [None] else found

    @property
    def hooks(self) -> list[Any]:
        """The runner's hooks, adapters replaced by the MMCV hooks they wrap (EvalHook walks this)."""
        return [getattr(h, "legacy_hook", h) for h in getattr(self.runner, "hooks", [])]

    @property
    def _hooks(self) -> list[Any]:
        return self.hooks

    @property
    def rank(self) -> int:
        return int(getattr(self.runner, "rank", 0))

    @property
    def world_size(self) -> int:
        return int(getattr(self.runner, "world_size", 1))

    @property
    def model_name(self) -> str:
        model = self.runner.model
        return type(getattr(model, "module", model)).__name__

    def current_lr(self) -> list[float] | dict[str, list[float]]:
        found = optimizers_of(self.runner)
        lrs = {k: [float(g["lr"]) for g in opt.param_groups] for k, opt in found.items()}
        return lrs[None] if list(lrs) == [None] else lrs  # type: ignore[return-value]

    def current_momentum(self) -> list[float] | dict[str, list[float]]:
        def momentum(group: Mapping[str, Any]) -> float:
            if "momentum" in group:
                return float(group["momentum"])
            return float(group["betas"][0]) if "betas" in group else 0.0

        found = optimizers_of(self.runner)
        values = {k: [momentum(g) for g in opt.param_groups] for k, opt in found.items()}
        return values[None] if list(values) == [None] else values  # type: ignore[return-value]

    # ------------------------------------------------------------ stage syncs
    def _train_loader(self) -> Any:
        loader = getattr(self.runner, "train_dataloader", None)
        return loader if loader is not None else self.runner.train_loop.dataloader

    def _val_loader(self) -> Any:
        loader = getattr(self.runner, "val_dataloader", None)
        if loader is None and getattr(self.runner, "val_loop", None) is not None:
            loader = self.runner.val_loop.dataloader
        return loader

    def _lagging_epoch(self, it: int) -> int:
        return max(it - 1, 0) // max(len(self._train_loader()), 1)

    def sync(
        self, stage: str, batch_idx: int | None = None, data_batch: Any = None, outputs: Any = None,
        metrics: Mapping[str, Any] | None = None,
    ) -> None:
        """Set the MMCV counters (and outputs / log buffer) for ``stage``, an MMEngine mount point name."""
        runner = self.runner
        if stage not in _ITER_STAGES:
            self._clear_batch()
        self._iter = int(runner.iter)
        if self.by_epoch:
            self._epoch = int(runner.epoch)
        elif stage in ("before_train_iter", "before_train_epoch") or stage == "before_run":
            self._epoch = self._lagging_epoch(self._iter)
        if stage == "before_run":
            self._inner_iter = 0
        elif stage == "before_train_epoch" and self.by_epoch:
            self.mode = "train"
            self.data_loader = self._train_loader()
        elif stage in ("before_train_iter", "after_train_iter"):
            self.mode = "train"
            self._inner_iter = int(batch_idx or 0) if self.by_epoch else 0
            loader = self._train_loader()
            self.data_loader = loader if self.by_epoch else _IterLoaderView(
                loader, self._iter // max(len(loader), 1))
            self.data_batch = data_batch
        elif stage == "before_val_epoch":
            self.mode = "val"
            self.data_loader = self._val_loader()
        elif stage in ("before_val_iter", "after_val_iter"):
            self.mode = "val"
            self._inner_iter = int(batch_idx or 0)
            self.data_loader = self._val_loader()
            self.data_batch = data_batch
        elif stage in ("after_train_epoch", "after_run") and not self.by_epoch:
            self._inner_iter = 1
        if stage in ("after_train_iter", "after_val_iter"):
            self.outputs = to_mmcv_outputs(outputs, data_batch)
            key = (stage, self._epoch, self._iter, batch_idx)
            if key != self._last_push:
                self._last_push = key
                if self.outputs["log_vars"]:
                    self.log_buffer.update(self.outputs["log_vars"], self.outputs["num_samples"])
        if stage == "after_val_epoch" and metrics:
            key = (stage, self._epoch, self._iter, None)
            if key != self._last_push:
                self._last_push = key
                scalars = {k: s for k, s in ((k, _scalar(v)) for k, v in metrics.items()) if s is not None}
                self.log_buffer.update(scalars, 1)


def _priority_of(hook: Any) -> Any:
    """An MMCV hook's registered priority as mmhooks accepts it (MMCV's own enum carries ``.value``)."""
    priority = getattr(hook, "priority", "NORMAL")
    value = getattr(priority, "value", priority)
    return value if isinstance(value, (int, str)) else "NORMAL"


class LegacyHookAdapter(Hook):
    """An mmhooks :class:`~mmhooks.hooks.Hook` that runs one MMCV-style hook unchanged.

    Args:
        legacy_hook: A :class:`~mmhooks.legacy.LegacyHook`, an ``mmcv.runner.Hook`` or any object with
            MMCV's ``(runner)`` mount points.
        priority: Overrides the hook's own ``priority`` (MMCV priorities, e.g. ``"VERY_LOW"`` for loggers).
        by_epoch: EpochBasedRunner or IterBasedRunner semantics; ``None`` detects it from the runner.

    MMEngine parity:
        The mapping of mount points and counters is the module table above; a missing specific
        stage falls back to MMCV's generic one (``after_train_iter`` -> ``after_iter``).
    """

    def __init__(self, legacy_hook: Any, priority: Any = None, by_epoch: bool | None = None) -> None:
        self.legacy_hook = legacy_hook
        self.priority = priority if priority is not None else _priority_of(legacy_hook)
        self.by_epoch = by_epoch

    def __repr__(self) -> str:
        return f"LegacyHookAdapter({type(self.legacy_hook).__name__})"

    def view(self, runner: Any) -> LegacyRunnerView:
        return LegacyRunnerView.of(runner, self.by_epoch)

    def _call(self, stage: str, view: LegacyRunnerView) -> None:
        method = getattr(self.legacy_hook, stage, None)
        if method is None and stage in GENERIC_FALLBACK:
            method = getattr(self.legacy_hook, GENERIC_FALLBACK[stage], None)
        if method is not None:
            method(view)

    def before_run(self, runner: Any) -> None:
        view = self.view(runner)
        view.sync("before_run")
        self._call("before_run", view)

    def after_run(self, runner: Any) -> None:
        view = self.view(runner)
        view.sync("after_run")
        self._call("after_run", view)

    def before_train_epoch(self, runner: Any) -> None:
        view = self.view(runner)
        view.sync("before_train_epoch")
        self._call("before_train_epoch" if view.by_epoch else "before_epoch", view)

    def after_train_epoch(self, runner: Any) -> None:
        view = self.view(runner)
        view.sync("after_train_epoch")
        self._call("after_train_epoch" if view.by_epoch else "after_epoch", view)

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        view = self.view(runner)
        view.sync("before_train_iter", batch_idx, data_batch)
        self._call("before_train_iter", view)

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        view = self.view(runner)
        view.sync("after_train_iter", batch_idx, data_batch, outputs)
        self._call("after_train_iter", view)

    def before_val_epoch(self, runner: Any) -> None:
        view = self.view(runner)
        view.sync("before_val_epoch")
        if view.by_epoch:
            self._call("before_val_epoch", view)

    def after_val_epoch(self, runner: Any, metrics: Optional[dict[str, float]] = None) -> None:
        view = self.view(runner)
        view.sync("after_val_epoch", metrics=metrics)
        if view.by_epoch:
            self._call("after_val_epoch", view)

    def before_val_iter(self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        view = self.view(runner)
        view.sync("before_val_iter", batch_idx, data_batch)
        self._call("before_val_iter", view)

    def after_val_iter(
        self, runner: Any, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[Sequence[Any]] = None
    ) -> None:
        view = self.view(runner)
        view.sync("after_val_iter", batch_idx, data_batch, outputs)
        self._call("after_val_iter", view)
