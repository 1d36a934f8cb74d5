"""The Lightning side of :mod:`mmhooks.legacy.runner`: an MMCV-style LightningModule and its Trainer.

* ``training_step`` calls the model's MMCV ``train_step(data_batch, optimizer)`` and then does what
  MMCV's optimizer hook from ``optimizer_config`` does, under manual optimization so that the
  backward and the step go through Lightning's precision plugin and strategy: zero the gradients,
  backward, clip (after unscaling, with any ``norm_type``), step. ``GradientCumulativeOptimizerHook``
  keeps MMCV's windows on the global iteration and divides the last ``max_iters % k`` losses by the
  remainder (Lightning's own accumulation resets every epoch).
* ``Fp16OptimizerHook`` becomes ``precision='16-mixed'``; a float ``loss_scale`` stays static as in MMCV,
  a dict gives the ``GradScaler`` arguments. Lightning autocasts the whole step, MMCV only
  ``@auto_fp16`` regions.
* ``validation_step`` calls ``val_step``; its dict is what MMCV's val-workflow hooks see as ``outputs``,
  and the ``num_samples``-weighted means of its ``log_vars`` are the metrics ``after_val_epoch`` gets
  (MMEngine-style loggers print them as MMCV's TextLoggerHook did).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, cast

import lightning.pytorch as pl
import torch

__all__ = ["LegacyRunnerModule", "fit_legacy_runner", "legacy_trainer_kwargs"]


class LegacyRunnerModule(pl.LightningModule):
    """Drives an MMCV model (``train_step`` / ``val_step``) for an mmhooks legacy runner.

    Args:
        runner: The :class:`~mmhooks.legacy.EpochBasedRunner` / :class:`~mmhooks.legacy.IterBasedRunner`.
        facade: The MMEngine-style runner of the run's ``HookCallback`` (its ``iter`` counts batches).
        step_kwargs: Extra keyword arguments of ``run()``, passed to ``train_step`` / ``val_step``.
    """

    def __init__(self, runner: Any, facade: Any, step_kwargs: Mapping[str, Any]) -> None:
        super().__init__()
        self.mm_model = runner.model
        self.legacy_runner = runner
        self.mm_runner = facade
        self.step_kwargs = dict(step_kwargs)
        self.automatic_optimization = False
        self.strict_loading = False  # MMCV's resume loads with strict=False (EMA buffers appear in before_run)
        self.mm_train_outputs: dict[str, Any] | None = None  # log_vars, for MMEngine-style hooks
        self.mmcv_outputs: dict[str, Any] | None = None  # MMCV's runner.outputs, for MMCV hooks
        self.pending_grad_norm: float | None = None
        self.mm_val_metrics: dict[str, float] | None = None
        self._val_sums: dict[str, list[float]] = {}

    # ------------------------------------------------------------- state dict
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]  # torch's overloads
        return cast(dict[str, Any], self.mm_model.state_dict(*args, **kwargs))

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        return self.mm_model.load_state_dict(state_dict, strict=False, assign=assign)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.mm_model(*args, **kwargs)

    # -------------------------------------------------------------- optimizers
    def configure_optimizers(self) -> Any:
        optimizer = self.legacy_runner.optimizer
        if optimizer is None:
            return None
        if isinstance(optimizer, Mapping):
            return list(optimizer.values())
        return optimizer

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        """MMCV's ``clip_grads`` on parameters that have a gradient, after the precision plugin unscaled."""
        settings = self.legacy_runner.optimizer_settings
        if settings is None or not settings.grad_clip:
            return
        params = [p for p in self.mm_model.parameters() if p.requires_grad and p.grad is not None]
        if params:
            norm = torch.nn.utils.clip_grad_norm_(params, **settings.grad_clip)
            self.pending_grad_norm = float(norm)

    def _optimizer_step(self, loss: torch.Tensor) -> None:
        settings = self.legacy_runner.optimizer_settings
        optimizer = self.optimizers()
        assert not isinstance(optimizer, list)  # optimizer_settings is only set for a single optimizer
        facade = self.mm_runner
        it, max_iters = int(facade.iter), int(facade.max_iters)
        if settings.cumulative_iters > 1:
            self.manual_backward(loss / settings.loss_factor(it, max_iters))
            if settings.steps_at(it, max_iters):
                optimizer.step()
                optimizer.zero_grad()
            return
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()

    # ------------------------------------------------------------------- steps
    def training_step(self, batch: Any, batch_idx: int) -> None:
        outputs = self.legacy_runner.train_step(batch, **self.step_kwargs)
        self.mmcv_outputs = outputs
        self.mm_train_outputs = dict(outputs.get("log_vars") or {})
        self.pending_grad_norm = None
        if self.legacy_runner.optimizer_settings is not None and "loss" in outputs:
            self._optimizer_step(outputs["loss"])

    def on_validation_epoch_start(self) -> None:
        self._val_sums = {}
        self.mm_val_metrics = None

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        outputs = self.legacy_runner.val_step(batch, **self.step_kwargs)
        count = int(outputs.get("num_samples", 1))
        for key, value in (outputs.get("log_vars") or {}).items():
            total = self._val_sums.setdefault(key, [0.0, 0])
            total[0] += float(value) * count
            total[1] += count
        return outputs

    def on_validation_epoch_end(self) -> None:
        # what MMCV's loggers print after a val phase: log_vars averaged with weights num_samples
        self.mm_val_metrics = {k: s / n for k, (s, n) in self._val_sums.items() if n}


class _StaticGradScaler(torch.amp.GradScaler):
    """MMCV's static ``loss_scale``: steps with inf/NaN gradients are skipped, the scale never changes."""

    def __init__(self, scale: float, device: str) -> None:
        super().__init__(device, init_scale=scale)
        self.static_scale = scale

    def update(self, new_scale: Any = None) -> None:
        super().update(self.static_scale)


def _fp16_plugin(loss_scale: Any) -> Any:
    """Lightning's 16-bit mixed precision with MMCV's ``loss_scale`` semantics."""
    from lightning.pytorch.plugins.precision import MixedPrecision

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if loss_scale == "dynamic":
        scaler = torch.amp.GradScaler(device)
    elif isinstance(loss_scale, Mapping):
        scaler = torch.amp.GradScaler(device, **dict(loss_scale))
    else:
        scaler = _StaticGradScaler(float(loss_scale), device)
    return MixedPrecision("16-mixed", device, scaler=scaler)


def legacy_trainer_kwargs(runner: Any, callback: Any, has_val: bool) -> dict[str, Any]:
    """``lightning.Trainer`` arguments for a legacy runner; ``runner.trainer_args`` win."""
    kwargs: dict[str, Any] = dict(
        accelerator="auto",
        devices=1,
        num_sanity_val_steps=0,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
        logger=False,
        use_distributed_sampler=False,
        default_root_dir=runner.work_dir or os.getcwd(),
        check_val_every_n_epoch=1,
        max_steps=-1,
        max_epochs=runner.max_epochs if runner.by_epoch else -1,
    )
    if not has_val:
        kwargs["limit_val_batches"] = 0
    settings = runner.optimizer_settings
    if settings is not None and settings.fp16:
        kwargs["plugins"] = [_fp16_plugin(settings.loss_scale)]
    user = dict(runner.trainer_args)
    callbacks = [callback, *list(user.pop("callbacks", []) or [])]
    if "precision" in user:
        kwargs.pop("plugins", None)
    kwargs.update(user)
    kwargs["callbacks"] = callbacks
    return kwargs


def fit_legacy_runner(
    runner: Any, callback: Any, train_loader: Any, val_loader: Any, step_kwargs: Mapping[str, Any]
) -> pl.Trainer:
    """Build the Trainer and the module for ``runner`` and fit (resuming from ``runner.resume``'s file)."""
    module = LegacyRunnerModule(runner, callback.runner, step_kwargs)
    trainer = pl.Trainer(**legacy_trainer_kwargs(runner, callback, val_loader is not None))
    runner.trainer = trainer
    trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader, ckpt_path=runner._resume_from)
    runner._resume_from = None
    return trainer
