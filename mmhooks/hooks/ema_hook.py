"""``EMAHook``: keep an averaged copy of the model, evaluate with it and ship it in checkpoints."""

from __future__ import annotations

import copy
import inspect
import itertools
from collections.abc import Iterator
from typing import Any, Optional

import torch
from torch import nn

from mmhooks.errors import ConfigError, check_keys, closest
from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.registry import HOOKS, MODELS
from mmhooks.runner.checkpoint import load_state_dict, unwrap_model, weights_to_cpu
from mmhooks.runner.protocol import RunnerLike

__all__ = ["EMAHook"]


def _check_average_arguments(ema_type: Any, kwargs: dict[str, Any]) -> None:
    """Reject an unknown ``ema_type`` or argument now, so the error carries the hook's config path.

    The averaged model itself is built in ``before_run``, once the model exists;
    without this check a misspelt argument would only surface there.
    """
    from mmhooks.model.averaged_model import BaseAveragedModel

    cls = MODELS.get(ema_type) if isinstance(ema_type, str) else ema_type
    if not isinstance(cls, type):
        names = sorted(name for name in MODELS.keys()
                       if isinstance(MODELS.get(name), type) and issubclass(MODELS.get(name), BaseAveragedModel))
        near = closest(ema_type, names)
        fix = f"did you mean {near!r}?" if near else f"pick one of {names}."
        raise ConfigError("ema_type", ema_type, f"a registered averaged model ({', '.join(names)})", fix, "EMAHook")
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    # kwargs never holds EMAHook's own arguments; they are listed so the closest name can be one of them.
    accepted = ["begin_epoch", "begin_iter", "ema_type", "strict_load", *(name for name in params if name != "model")]
    check_keys("EMAHook", kwargs, accepted, what=f"an argument of EMAHook or {cls.__name__}")


@HOOKS.register_module()
class EMAHook(Hook):
    """Average the model's weights during training and validate, test and deploy the average.

    Args:
        ema_type: A registered averaged model (``MODELS``), e.g.
            ``"ExponentialMovingAverage"``, ``"MomentumAnnealingEMA"`` or
            ``"StochasticWeightAverage"``.
        strict_load: Require the checkpoint keys to match the model when the
            average is loaded from a checkpoint.
        begin_iter: Start averaging at this iteration; before it, the average
            just copies the model.
        begin_epoch: The same in epochs; set at most one of the two.
        **kwargs: Arguments of the averaged model (``momentum``, ``interval``,
            ``update_buffers``, ``device``, ``gamma``).

    State:
        In a saved checkpoint, ``state_dict`` holds the **averaged** weights
        (ready for deployment) and ``ema_state_dict`` holds ``steps`` and the
        **raw** training weights under ``module.*``. A resume swaps them back;
        a plain ``load_from`` starts the average from ``state_dict``.

    MMEngine parity:
        * Without an explicit ``device``, the averaged copy follows the model:
          ``before_train``, ``before_val`` and ``before_test`` move it to the
          device of the model's first parameter (Lightning moves the model
          after ``before_run``, where the copy is made).
        * ``ema_state_dict`` is written with CPU tensors (MMEngine keeps the
          averaged copy's device).
        * Bad ``begin_iter``/``begin_epoch`` raise :class:`ConfigError`
          instead of failing an ``assert``.
    """

    priority = "NORMAL"

    def __init__(
        self,
        ema_type: str = "ExponentialMovingAverage",
        strict_load: bool = False,
        begin_iter: int = 0,
        begin_epoch: int = 0,
        **kwargs: Any,
    ) -> None:
        for key, value in (("begin_iter", begin_iter), ("begin_epoch", begin_epoch)):
            if value < 0:
                raise ConfigError(key, value, "an int >= 0", f"set {key}=0 to average from the start.", "EMAHook")
        if begin_iter != 0 and begin_epoch != 0:
            raise ConfigError(
                "begin_epoch",
                begin_epoch,
                f"0 when begin_iter is set (begin_iter={begin_iter})",
                "set only one of begin_iter and begin_epoch.",
                "EMAHook",
            )
        _check_average_arguments(ema_type, kwargs)
        self.strict_load = strict_load
        self.ema_cfg: dict[str, Any] = dict(type=ema_type, **kwargs)
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self.enabled_by_epoch = begin_epoch > 0
        self.src_model: Optional[nn.Module] = None
        self.ema_model: Any = None

    # ------------------------------------------------------------------ building
    def before_run(self, runner: RunnerLike) -> None:
        """Copy the (unwrapped) model into a fresh averaged model; every run starts a new average."""
        self.src_model = unwrap_model(runner.model)
        self.ema_model = MODELS.build(self.ema_cfg, default_args=dict(model=self.src_model), path="EMAHook")

    def _ensure_built(self, runner: RunnerLike) -> None:
        if self.ema_model is None:
            self.before_run(runner)

    def _follow_model_device(self, runner: RunnerLike) -> None:
        """Move the averaged copy next to the model, unless the user pinned its ``device``."""
        self._ensure_built(runner)
        self.src_model = unwrap_model(runner.model)
        if self.ema_cfg.get("device") is not None:
            return
        model_device = _first_device(self.src_model.parameters())
        ema_device = _first_device(itertools.chain(self.ema_model.parameters(), self.ema_model.buffers()))
        if model_device is not None and ema_device is not None and model_device != ema_device:
            self.ema_model.to(model_device)

    def before_train(self, runner: RunnerLike) -> None:
        """Check that averaging starts within the run, and place the copy on the model's device."""
        if self.enabled_by_epoch:
            if self.begin_epoch > runner.max_epochs:
                raise ConfigError(
                    "begin_epoch",
                    self.begin_epoch,
                    f"at most max_epochs ({runner.max_epochs})",
                    "lower begin_epoch or train for more epochs.",
                    "EMAHook",
                )
        elif self.begin_iter > runner.max_iters:
            raise ConfigError(
                "begin_iter",
                self.begin_iter,
                f"at most max_iters ({runner.max_iters})",
                "lower begin_iter or train for more iterations.",
                "EMAHook",
            )
        self._follow_model_device(runner)

    def before_val(self, runner: RunnerLike) -> None:
        self._follow_model_device(runner)

    def before_test(self, runner: RunnerLike) -> None:
        self._follow_model_device(runner)

    # ------------------------------------------------------------------ training
    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        """Fold the new weights into the average; before the start point, copy them (``steps`` stays)."""
        assert self.ema_model is not None and self.src_model is not None, "before_run builds the averaged model"
        if self._ema_started(runner):
            self.ema_model.update_parameters(self.src_model)
            return
        source = self.src_model.state_dict()
        with torch.no_grad():
            for name, tensor in self.ema_model.module.state_dict().items():
                tensor.data.copy_(source[name].data)

    def _ema_started(self, runner: RunnerLike) -> bool:
        if self.enabled_by_epoch:
            return bool(runner.epoch + 1 >= self.begin_epoch)
        return bool(runner.iter + 1 >= self.begin_iter)

    # ----------------------------------------------------------- val and test
    def before_val_epoch(self, runner: RunnerLike) -> None:
        """Evaluate the averaged weights: swap them into the model."""
        self._swap_ema_parameters()

    def after_val_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        """Put the raw weights back after validation."""
        self._swap_ema_parameters()

    def before_test_epoch(self, runner: RunnerLike) -> None:
        self._swap_ema_parameters()

    def after_test_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        self._swap_ema_parameters()

    def _swap_ema_parameters(self) -> None:
        """Exchange the values of the model and its average, paired in parameter (and buffer) order."""
        assert self.ema_model is not None and self.src_model is not None, "before_run builds the averaged model"
        with_buffers = bool(self.ema_model.update_buffers)
        averaged = _tensors(self.ema_model.module, with_buffers)
        source = _tensors(self.src_model, with_buffers)
        with torch.no_grad():
            for avg_tensor, src_tensor in zip(averaged, source):
                kept = avg_tensor.data.clone()
                avg_tensor.data.copy_(src_tensor.data)
                src_tensor.data.copy_(kept)

    # ------------------------------------------------------------ checkpoints
    def before_save_checkpoint(self, runner: RunnerLike, checkpoint: dict[str, Any]) -> None:
        """Store the average under ``ema_state_dict``, then swap so ``state_dict`` holds the average."""
        self._ensure_built(runner)
        checkpoint["ema_state_dict"] = weights_to_cpu(self.ema_model.state_dict())
        self._swap_ema_state_dict(checkpoint)

    def after_load_checkpoint(self, runner: RunnerLike, checkpoint: dict[str, Any]) -> None:
        """Restore the average (resume) or start it from the loaded weights (``load_from``).

        Runs before the runner loads ``checkpoint['state_dict']`` into the
        model; on resume it swaps the raw weights back into ``state_dict``.
        """
        self._ensure_built(runner)
        logger = getattr(runner, "logger", None)
        if "ema_state_dict" in checkpoint and runner._resume:
            self._swap_ema_state_dict(checkpoint)
            self.ema_model.load_state_dict(checkpoint["ema_state_dict"], strict=self.strict_load)
            return
        if runner._resume and logger is not None:
            logger.warning(
                "The checkpoint has no `ema_state_dict`; EMAHook starts the average from its `state_dict`."
            )
        load_state_dict(
            self.ema_model.module, copy.deepcopy(checkpoint["state_dict"]), strict=self.strict_load, logger=logger
        )

    @staticmethod
    def _swap_ema_state_dict(checkpoint: dict[str, Any]) -> None:
        model_state = checkpoint["state_dict"]
        ema_state = checkpoint["ema_state_dict"]
        for key in ema_state:
            if not key.startswith("module."):
                continue
            name = key[len("module.") :]
            if name not in model_state:
                raise KeyError(
                    f"EMAHook: the checkpoint's state_dict has no {name!r}, which the averaged model holds as "
                    f"{key!r}. Fix: build EMAHook for the same model whose state_dict is saved."
                )
            ema_state[key], model_state[name] = model_state[name], ema_state[key]


def _tensors(module: nn.Module, with_buffers: bool) -> Iterator[torch.Tensor]:
    if with_buffers:
        return itertools.chain(module.parameters(), module.buffers())
    return iter(module.parameters())


def _first_device(tensors: Iterator[torch.Tensor]) -> Optional[torch.device]:
    for tensor in tensors:
        return tensor.device
    return None
