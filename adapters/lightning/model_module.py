"""``MMModelModule``: an MMEngine-style ``BaseModel`` and its optimizer wrapper as a LightningModule.

* A model that keeps ``BaseModel.train_step`` trains under Lightning's
  automatic optimization (``forward(mode='loss')`` + ``parse_losses``), as
  long as one OptimWrapper steps every iteration; clipping still goes
  through the wrapper, so ``grad_norm`` is logged as in MMEngine.
* A model that overrides ``train_step`` (a GAN with two optimizers), or a
  wrapper that accumulates gradients, runs under manual optimization: the
  model's own ``train_step`` receives the OptimWrapper, whose backward and
  step go through Lightning (precision plugin, strategy). Accumulation
  windows then follow MMEngine (they may cross epochs; the last one is
  scaled by its own size), which Lightning's automatic accumulation does not.
* ``val_step``/``test_step`` outputs feed the evaluators; their metrics are
  what ``after_val_epoch`` receives, and they are also logged to Lightning.
* ``state_dict`` keys are the model's own (no wrapper prefix).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, TypeVar, cast, overload

import lightning.pytorch as pl
import torch

from mmhooks.adapters.lightning import _internals
from mmhooks.runner.train_step import is_backend_aware, uses_default_train_step
from mmhooks.runner.train_step import sub_wrappers as _sub_wrappers

__all__ = ["MMModelModule", "uses_default_train_step"]

_Destination = TypeVar("_Destination", bound=dict[str, Any])

# Attributes written on every batch that never hold a parameter, submodule or buffer: Lightning's
# per-hook bookkeeping and the step's outputs. ``nn.Module.__setattr__`` would look each write up in
# the parameter, module and buffer tables (about 10% of a tiny model's iteration); a plain write is
# the same write.
_PLAIN_ATTRIBUTES = _internals.PER_HOOK_MODULE_ATTRIBUTES | {"mm_train_outputs"}


def _plain_optimizer(optimizer: Any) -> Any:
    """The torch optimizer behind a ``LightningOptimizer`` (or ``optimizer`` itself)."""
    from lightning.pytorch.core.optimizer import LightningOptimizer

    return optimizer.optimizer if isinstance(optimizer, LightningOptimizer) else optimizer


def _same_optimizer(a: Any, b: Any) -> bool:
    return _plain_optimizer(a) is _plain_optimizer(b)


class MMModelModule(pl.LightningModule):
    """Drive an MMEngine-style model (``train_step``/``val_step``/``test_step``) with Lightning.

    Args:
        model: A ``BaseModel`` (mmhooks' or MMEngine's) or any module with those steps.
        optim_wrapper: An ``OptimWrapper`` or ``OptimWrapperDict``; ``None`` for val/test only.
        val_evaluator: An ``Evaluator`` fed by ``val_step`` outputs.
        test_evaluator: An ``Evaluator`` fed by ``test_step`` outputs.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optim_wrapper: Any = None,
        val_evaluator: Any = None,
        test_evaluator: Any = None,
    ) -> None:
        super().__init__()
        self.mm_model = model
        self.mm_optim_wrapper = optim_wrapper
        self.mm_val_evaluator = val_evaluator
        self.mm_test_evaluator = test_evaluator
        self.mm_runner: Any = None  # the runner facade, set by the backend
        self.mm_train_outputs: Any = None
        self.mm_val_metrics: dict[str, Any] | None = None
        self.mm_test_metrics: dict[str, Any] | None = None
        self._eval_losses: dict[str, Any] = {}
        self.set_optim_wrapper(optim_wrapper)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PLAIN_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def set_optim_wrapper(self, optim_wrapper: Any) -> None:
        """Use ``optim_wrapper``; automatic optimization when Lightning's reproduces MMEngine exactly."""
        self.mm_optim_wrapper = optim_wrapper
        wrappers = _sub_wrappers(optim_wrapper) if optim_wrapper is not None else []
        self.automatic_optimization = (
            uses_default_train_step(self.mm_model)
            and len(wrappers) == 1
            and wrappers[0] is optim_wrapper
            and is_backend_aware(optim_wrapper)
            and getattr(optim_wrapper, "_accumulative_counts", 1) == 1
        )

    # ------------------------------------------------------------- state dict
    @overload
    def state_dict(self, *, destination: _Destination, prefix: str = ..., keep_vars: bool = ...) -> _Destination: ...

    @overload
    def state_dict(self, *, prefix: str = ..., keep_vars: bool = ...) -> dict[str, Any]: ...

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.mm_model.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        return self.mm_model.load_state_dict(state_dict, strict=strict, assign=assign)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.mm_model(*args, **kwargs)

    # -------------------------------------------------------------- optimizers
    def configure_optimizers(self) -> Any:
        if self.mm_optim_wrapper is None:
            return None
        optimizers = [w.optimizer for w in _sub_wrappers(self.mm_optim_wrapper)]
        return optimizers[0] if len(optimizers) == 1 else optimizers

    def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
        """Schedulers are stepped by ParamSchedulerHook, never by Lightning."""

    def configure_gradient_clipping(self, optimizer: Any, gradient_clip_val: Any = None,
                                    gradient_clip_algorithm: Any = None) -> None:
        if self.automatic_optimization:  # after the precision plugin unscaled the gradients
            self.mm_optim_wrapper.clip_gradients()
        elif gradient_clip_val:
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        # Manual optimization with Lightning's mixed precision: the wrapper's own step
        # does not clip in pass-through mode; clip here, after the plugin unscaled.
        if not self.automatic_optimization:
            for wrapper in _sub_wrappers(self.mm_optim_wrapper):
                if getattr(wrapper, "use_backend_precision", False) and _same_optimizer(wrapper.optimizer, optimizer):
                    wrapper.clip_gradients()

    def on_train_start(self) -> None:
        _internals.skip_empty_batch_metrics(self.trainer)  # nothing is logged per batch through Lightning here
        runner = self.mm_runner
        hub = runner.message_hub if runner is not None else None
        optimizers = self.optimizers(use_pl_optimizer=True)
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        for wrapper, lightning_optimizer in zip(_sub_wrappers(self.mm_optim_wrapper), optimizers):
            wrapper.message_hub = hub
            if not is_backend_aware(wrapper):
                continue
            if hasattr(wrapper, "use_backend_precision"):  # Lightning's precision plugin scales and unscales
                wrapper.use_backend_precision = True
            if not self.automatic_optimization:
                # backward and step go through Lightning's precision plugin and strategy
                wrapper.backward_fn = self.manual_backward
                wrapper.optimizer = lightning_optimizer
                wrapper.sync_model = self.trainer.model if self.trainer.world_size > 1 else None
        if runner is not None:
            self.mm_optim_wrapper.initialize_count_status(self.mm_model, runner.iter, runner.max_iters)

    def on_train_end(self) -> None:
        for wrapper in _sub_wrappers(self.mm_optim_wrapper):  # hand back the plain optimizers
            if is_backend_aware(wrapper):
                wrapper.backward_fn = None
                wrapper.optimizer = _plain_optimizer(wrapper.optimizer)
                wrapper.sync_model = None

    # ------------------------------------------------------------------- steps
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        model: Any = self.mm_model  # a BaseModel-like module: train_step, data_preprocessor, parse_losses...
        if not self.automatic_optimization:
            self.mm_train_outputs = model.train_step(batch, optim_wrapper=self.mm_optim_wrapper)
            return None
        data = model.data_preprocessor(batch, True)
        losses = model._run_forward(data, mode="loss")
        loss, log_vars = model.parse_losses(losses)
        self.mm_train_outputs = log_vars
        return loss

    def on_validation_model_zero_grad(self) -> None:
        """Keep the gradients: an accumulation window may span validation (MMEngine never zeroes them there)."""

    def on_validation_epoch_start(self) -> None:
        self.mm_val_metrics = None
        self._eval_losses = {}

    def _eval_model(self) -> Any:
        """The runner's current model (PrepareTTAHook swaps in a TTA model for testing), else the module's."""
        runner = self.mm_runner
        return runner.model if runner is not None else self.mm_model

    def _eval_step(self, stage: str, batch: Any, evaluator: Any) -> Any:
        """MMEngine's ``ValLoop.run_iter``: the step, its ``loss`` element set apart, the evaluator fed."""
        from mmhooks.runner.loops import collect_losses

        outputs = getattr(self._eval_model(), f"{stage}_step")(batch)
        outputs = collect_losses(outputs, self._eval_losses)
        if evaluator is not None:
            evaluator.process(data_samples=outputs, data_batch=batch)
        return outputs

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        return self._eval_step("val", batch, self.mm_val_evaluator)

    def on_validation_epoch_end(self) -> None:
        self.mm_val_metrics = self._evaluate(self.mm_val_evaluator, self.trainer.val_dataloaders, "val")

    def on_test_epoch_start(self) -> None:
        self.mm_test_metrics = None
        self._eval_losses = {}

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        return self._eval_step("test", batch, self.mm_test_evaluator)

    def on_test_epoch_end(self) -> None:
        self.mm_test_metrics = self._evaluate(self.mm_test_evaluator, self.trainer.test_dataloaders, "test")

    def _evaluate(self, evaluator: Any, dataloaders: Any, stage: str) -> dict[str, Any]:
        if evaluator is None or self.trainer.sanity_checking:
            return {}
        from mmhooks.runner.loops import mean_losses

        loader = dataloaders[0] if isinstance(dataloaders, (list, tuple)) else dataloaders
        metrics: dict[str, Any] = evaluator.evaluate(len(loader.dataset))
        if self._eval_losses:
            metrics.update(mean_losses(self._eval_losses, stage))
        scalars = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) or
                   (isinstance(v, torch.Tensor) and v.numel() == 1)}
        if scalars:  # also visible to Lightning callbacks (ModelCheckpoint(monitor=...))
            self.log_dict(scalars, sync_dist=False, rank_zero_only=False, logger=False)
        return metrics


# Lightning inspects ``training_step``'s signature on every batch (does it take ``batch_idx``?); with the
# signature stored on the function, ``inspect`` returns it instead of rebuilding it from the code object.
setattr(MMModelModule.training_step, "__signature__", inspect.signature(MMModelModule.training_step))
