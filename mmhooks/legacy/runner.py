"""MMCV 1.x ``EpochBasedRunner`` / ``IterBasedRunner`` with MMCV's API, training on the Lightning Trainer.

The migration guide's MMCV snippet runs with only its import changed::

    from mmhooks.legacy import EpochBasedRunner      # was: from mmcv.runner import EpochBasedRunner
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logger, max_epochs=4)
    runner.register_training_hooks(lr_config=..., optimizer_config=..., checkpoint_config=..., log_config=...)
    runner.run([train_loader], [('train', 1)])

How the parts map (spec mmcv_legacy §1-§4):

=======================================  =============================================================
MMCV                                     mmhooks on Lightning
=======================================  =============================================================
runner loop, counters (§4)               ``HookCallback`` (MMEngine counters) + ``LegacyRunnerView``
                                         (MMCV counters); hooks receive the view
``model.train_step(batch, optimizer)``   called in ``training_step`` under manual optimization
``OptimizerHook`` (backward, clip, step) done after ``train_step`` through Lightning's ``manual_backward``
                                         and optimizer step (precision plugin, strategy); clipping after
                                         unscaling; ``grad_norm`` goes to ``log_buffer``
``GradientCumulativeOptimizerHook``      MMCV's windows on the global iteration, remainder rule kept
``Fp16OptimizerHook`` / ``loss_scale``   ``precision='16-mixed'``; a float scale stays static
``lr_config`` / ``momentum_config``      MMCV's formulas (:mod:`mmhooks.legacy.lr_updater`)
``checkpoint_config``                    :class:`LegacyCheckpointHook`: ``epoch_{n}.pth`` / ``iter_{n}.pth``
                                         + ``latest.pth``, MMCV's ``meta`` counters; no ``last_checkpoint``
``log_config`` Text/Tensorboard hooks    mmhooks ``LoggerHook`` (window = ``interval``) and visualizer
                                         backends; MMEngine's line format and file layout
``custom_hooks_config`` ``EMAHook``      :class:`LegacyEMAHook` (MMCV's buffers, warm-up and swaps)
``evaluation`` (downstream EvalHook)     :class:`LegacyEvalHook` via :meth:`register_eval_hook`
workflow ``[('train', n), ('val', 1)]``  Lightning validation after every n-th and the last epoch
=======================================  =============================================================

MMEngine parity:
    Not MMCV's: the optimizer step happens before every ``after_train_iter`` hook (MMCV: inside
    ``OptimizerHook.after_train_iter``, priority ABOVE_NORMAL), so only hooks with a priority below 40
    that read gradients there see a difference. Logs use MMEngine's layout (``{work_dir}/{timestamp}/``)
    and line format, not MMCV's ``.log.json``. An ``iter_{n}.pth`` resumes at iteration ``n`` (MMCV
    repeats one iteration). Resuming needs a checkpoint written by mmhooks.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import os.path as osp
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch

from mmhooks.errors import ConfigError, MMHooksTranslationWarning, closest
from mmhooks.legacy.hook import GENERIC_FALLBACK, LegacyHook, is_legacy_hook
from mmhooks.legacy.lr_updater import build_lr_updater
from mmhooks.legacy.momentum_updater import build_momentum_updater
from mmhooks.legacy.runner_view import _VIEW_ATTR, LegacyHookAdapter, LegacyRunnerView
from mmhooks.registry import HOOKS
from mmhooks.runner.hook_list import HookList
from mmhooks.runner.priority import get_priority

__all__ = [
    "BaseLegacyRunner",
    "CheckpointHook",
    "EMAHook",
    "EpochBasedRunner",
    "EvalHook",
    "IterBasedRunner",
    "LegacyCheckpointHook",
    "LegacyEMAHook",
    "LegacyEvalHook",
    "OptimizerHook",
    "OptimizerSettings",
    "parse_optimizer_config",
]

# ---------------------------------------------------------------------------------------- optimizer hooks

_OPTIMIZER_HOOK_ARGS: dict[str, tuple[str, ...]] = {
    "OptimizerHook": ("grad_clip", "detect_anomalous_params"),
    "GradientCumulativeOptimizerHook": ("grad_clip", "detect_anomalous_params", "cumulative_iters"),
    "Fp16OptimizerHook": ("grad_clip", "detect_anomalous_params", "coalesce", "bucket_size_mb", "loss_scale",
                          "distributed"),
    "GradientCumulativeFp16OptimizerHook": ("grad_clip", "detect_anomalous_params", "cumulative_iters", "coalesce",
                                            "bucket_size_mb", "loss_scale", "distributed"),
}


@dataclass
class OptimizerSettings:
    """What an MMCV ``optimizer_config`` asks of the optimizer step.

    Args:
        kind: The MMCV hook type (``OptimizerHook``, ``GradientCumulativeOptimizerHook``, ...).
        grad_clip: ``clip_grad_norm_`` keyword arguments, or ``None``.
        cumulative_iters: Iterations per optimizer step (MMCV's windows on the global iteration).
        fp16: Mixed precision (Lightning ``precision='16-mixed'``).
        loss_scale: ``'dynamic'``, a static float, or ``GradScaler`` keyword arguments.
    """

    kind: str = "OptimizerHook"
    grad_clip: dict[str, Any] | None = None
    cumulative_iters: int = 1
    fp16: bool = False
    loss_scale: Any = 512.0

    def loss_factor(self, it: int, max_iters: int) -> int:
        """MMCV 1.7's divisor of the loss at 0-based iteration ``it``: the window, or the last remainder."""
        k = self.cumulative_iters
        remainder = max_iters % k
        return k if it < max_iters - remainder else remainder

    def steps_at(self, it: int, max_iters: int) -> bool:
        """Whether MMCV steps after iteration ``it`` (a full window, or the last iteration)."""
        return (it + 1) % self.cumulative_iters == 0 or it + 1 == max_iters


def parse_optimizer_config(cfg: Mapping[str, Any], path: str = "optimizer_config") -> OptimizerSettings:
    """Validate an MMCV ``optimizer_config`` dict.

    Raises:
        ConfigError: an unknown ``type`` (``optimizer_config.type``), an argument that type does not take,
            or ``cumulative_iters`` that is not a positive int.
    """
    kwargs = dict(cfg)
    kind = kwargs.pop("type", "OptimizerHook")
    if kind not in _OPTIMIZER_HOOK_ARGS:
        names = sorted(_OPTIMIZER_HOOK_ARGS)
        near = closest(kind, names)
        raise ConfigError("type", kind, f"one of {names}", f"did you mean {near!r}?" if near else
                          "use 'OptimizerHook' (or leave type out).", path)
    accepted = _OPTIMIZER_HOOK_ARGS[kind]
    for key, value in kwargs.items():
        if key not in accepted:
            near = closest(key, accepted)
            raise ConfigError(key, value, f"an argument of {kind}: {sorted(accepted)}",
                              f"rename it to {near!r}." if near else "delete it.", path)
    cumulative = kwargs.get("cumulative_iters", 1)
    if not isinstance(cumulative, int) or isinstance(cumulative, bool) or cumulative < 1:
        raise ConfigError("cumulative_iters", cumulative, "an int >= 1", "use e.g. cumulative_iters=4.", path)
    grad_clip = kwargs.get("grad_clip")
    if grad_clip is not None and not isinstance(grad_clip, Mapping):
        raise ConfigError("grad_clip", grad_clip, "None or a dict of clip_grad_norm_ arguments",
                          "write grad_clip=dict(max_norm=35, norm_type=2).", path)
    return OptimizerSettings(
        kind=kind,
        grad_clip=dict(grad_clip) if grad_clip else None,
        cumulative_iters=cumulative,
        fp16="Fp16" in kind,
        loss_scale=kwargs.get("loss_scale", 512.0),
    )


class OptimizerHook(LegacyHook):
    """Stands for MMCV's optimizer hook in ``runner.hooks``; the step itself runs in the LightningModule.

    Args:
        settings: The parsed ``optimizer_config``.
    """

    priority = "ABOVE_NORMAL"

    def __init__(self, settings: OptimizerSettings | None = None) -> None:
        self.settings = settings or OptimizerSettings()

    def __repr__(self) -> str:
        return f"{self.settings.kind}({self.settings})"


# ---------------------------------------------------------------------------------------- checkpoint hook


@HOOKS.register_module()
class LegacyCheckpointHook(LegacyHook):
    """MMCV 1.x ``CheckpointHook``: ``epoch_{n}.pth`` / ``iter_{n}.pth``, ``latest.pth``, ``max_keep_ckpts``.

    Args:
        interval: Save every ``interval`` epochs (iterations with ``by_epoch=False``); ``-1`` only the last.
        by_epoch: Count epochs or iterations.
        save_optimizer: Store the optimizer state.
        out_dir: Root for checkpoints; ``out_dir/<basename(work_dir)>`` when given, else ``work_dir``.
        max_keep_ckpts: Keep only the newest this many (``-1`` keeps all).
        save_last: Also save after the last epoch / iteration.
        sync_buffer: All-reduce the model's buffers before saving (distributed runs).
        file_client_args: Accepted for MMCV compatibility; only local paths are supported.
        kwargs: ``filename_tmpl``, ``create_symlink``, ``meta``, passed to ``runner.save_checkpoint``.

    MMEngine parity:
        MMCV's hook, not MMEngine's: no ``last_checkpoint`` file, ``meta.iter`` of ``iter_{n}.pth`` is
        ``n - 1``, and every rank calls ``save_checkpoint`` (rank zero writes).
    """

    priority = "NORMAL"

    def __init__(
        self,
        interval: int = -1,
        by_epoch: bool = True,
        save_optimizer: bool = True,
        out_dir: str | None = None,
        max_keep_ckpts: int = -1,
        save_last: bool = True,
        sync_buffer: bool = False,
        file_client_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - {"filename_tmpl", "create_symlink", "meta"})
        if unknown:
            raise ConfigError(unknown[0], kwargs[unknown[0]], "an argument of CheckpointHook or save_checkpoint "
                              "(filename_tmpl, create_symlink, meta)", "delete it.", "CheckpointHook")
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.out_dir = out_dir
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.sync_buffer = sync_buffer
        self.file_client_args = file_client_args
        self.args = kwargs

    def before_run(self, runner: Any) -> None:
        if not self.out_dir:
            self.out_dir = runner.work_dir
        elif runner.work_dir:
            self.out_dir = osp.join(self.out_dir, osp.basename(str(runner.work_dir).rstrip(osp.sep)))
        runner.logger.info(f"Checkpoints will be saved to {self.out_dir}.")

    def after_train_epoch(self, runner: Any) -> None:
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval) or (self.save_last and self.is_last_epoch(runner)):
            runner.logger.info(f"Saving checkpoint at {runner.epoch + 1} epochs")
            self._save_checkpoint(runner)

    def after_train_iter(self, runner: Any) -> None:
        if self.by_epoch:
            return
        if self.every_n_iters(runner, self.interval) or (self.save_last and self.is_last_iter(runner)):
            runner.logger.info(f"Saving checkpoint at {runner.iter + 1} iterations")
            self._save_checkpoint(runner)

    def _save_checkpoint(self, runner: Any) -> None:
        if self.sync_buffer:
            _all_reduce_buffers(runner.model)
        runner.save_checkpoint(self.out_dir, save_optimizer=self.save_optimizer, **self.args)
        assert self.out_dir is not None  # set in before_run; save_checkpoint above needs it too
        current = runner.epoch + 1 if self.by_epoch else runner.iter + 1
        template = self.args.get("filename_tmpl", "epoch_{}.pth" if self.by_epoch else "iter_{}.pth")
        if runner.meta is not None:
            runner.meta.setdefault("hook_msgs", {})["last_ckpt"] = osp.join(self.out_dir, template.format(current))
        if self.max_keep_ckpts > 0 and runner.rank == 0:
            step = self.interval if self.interval > 0 else 1
            for old in range(current - self.max_keep_ckpts * step, 0, -step):
                path = osp.join(self.out_dir, template.format(old))
                if not osp.exists(path):
                    break
                os.remove(path)


def _all_reduce_buffers(model: torch.nn.Module) -> None:
    """MMCV's ``allreduce_params(model.buffers())``: average every buffer over the ranks."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    for buffer in getattr(model, "module", model).buffers():
        if buffer.dtype.is_floating_point:
            dist.all_reduce(buffer)
            buffer.div_(dist.get_world_size())


CheckpointHook = LegacyCheckpointHook

# ---------------------------------------------------------------------------------------------- EMA hook


@HOOKS.register_module()
class LegacyEMAHook(LegacyHook):
    """MMCV 1.x ``EMAHook``: EMA copies live in ``ema_*`` model buffers and swap with the weights per epoch.

    Each update at iteration ``t`` (when ``t % interval == 0``) is
    ``ema = (1 - m_t) * ema + m_t * param`` with ``m_t = min(momentum ** interval, (1 + t) / (warm_up + t))``,
    the first one at ``t = 0`` from the pre-training weights. ``before_train_epoch`` and
    ``after_train_epoch`` swap parameters and EMA buffers, so hooks after it at epoch end (checkpoint,
    evaluation) see EMA weights.

    Args:
        momentum: Weight of the new value per update, in (0, 1), before ``** interval``.
        interval: Update every ``interval`` iterations.
        warm_up: Bound ``(1 + t) / (warm_up + t)`` on the weight early in training.
        resume_from: A checkpoint to ``runner.resume`` from once the buffers exist.

    MMEngine parity:
        MMEngine's ``ExponentialMovingAverage`` uses the same convention (weight ``momentum`` on the new
        value), but does not exponentiate by ``interval``, copies the weights at its first update and
        swaps around validation; this class keeps MMCV's rules exactly.
    """

    priority = "NORMAL"

    def __init__(self, momentum: float = 0.0002, interval: int = 1, warm_up: int = 100,
                 resume_from: str | None = None) -> None:
        if not isinstance(interval, int) or interval <= 0:
            raise ConfigError("interval", interval, "an int > 0", "use interval=1.", "EMAHook")
        if not 0 < momentum < 1:
            raise ConfigError("momentum", momentum, "a value in (0, 1)", "use e.g. momentum=0.0002.", "EMAHook")
        self.momentum = momentum**interval
        self.interval = interval
        self.warm_up = warm_up
        self.checkpoint = resume_from
        self.param_ema_buffer: dict[str, str] = {}
        self.model_parameters: dict[str, torch.nn.Parameter] = {}
        self.model_buffers: dict[str, torch.Tensor] = {}

    def before_run(self, runner: Any) -> None:
        model = getattr(runner.model, "module", runner.model)
        self.model_parameters = dict(model.named_parameters(recurse=True))
        for name, value in self.model_parameters.items():
            buffer_name = f"ema_{name.replace('.', '_')}"
            self.param_ema_buffer[name] = buffer_name
            model.register_buffer(buffer_name, value.data.clone())
        self.model_buffers = dict(model.named_buffers(recurse=True))
        if self.checkpoint is not None:
            runner.resume(self.checkpoint)

    def after_train_iter(self, runner: Any) -> None:
        t = runner.iter
        weight = min(self.momentum, (1 + t) / (self.warm_up + t))
        if t % self.interval != 0:
            return
        for name, parameter in self.model_parameters.items():
            ema = self.model_buffers[self.param_ema_buffer[name]]
            ema.mul_(1 - weight).add_(parameter.data, alpha=weight)

    def before_train_epoch(self, runner: Any) -> None:
        self._swap_ema_parameters()

    def after_train_epoch(self, runner: Any) -> None:
        self._swap_ema_parameters()

    def _swap_ema_parameters(self) -> None:
        for name, value in self.model_parameters.items():
            ema = self.model_buffers[self.param_ema_buffer[name]]
            raw = value.data.clone()
            value.data.copy_(ema.data)
            ema.data.copy_(raw)


EMAHook = LegacyEMAHook

# --------------------------------------------------------------------------------------------- eval hook

_GREATER_KEYS = ("acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc")
_LESS_KEYS = ("loss",)


def single_gpu_test(model: torch.nn.Module, data_loader: Iterable[Any]) -> list[Any]:
    """MMCV's default ``test_fn``: ``model(return_loss=False, **batch)`` over the loader, results in order.

    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    results: list[Any] = []
    try:
        with torch.no_grad():
            for batch in data_loader:
                result = model(return_loss=False, **batch) if isinstance(batch, Mapping) else model(batch)
                if isinstance(result, (list, tuple)):
                    results.extend(result)
                else:
                    results.append(result)
    finally:
        model.train(was_training)
    return results


@HOOKS.register_module()
class LegacyEvalHook(LegacyHook):
    """MMCV 1.x ``EvalHook`` (the downstream ``evaluation`` config): evaluate, log, keep the best checkpoint.

    Args:
        dataloader: The evaluation loader; ``dataloader.dataset.evaluate(results, logger, **eval_kwargs)``
            computes the metrics.
        start: First epoch/iteration (1-based) to evaluate at; also enables MMCV's evaluation before
            training when ``start <= runner.epoch`` (``runner.iter``) at the start.
        interval: Evaluate every ``interval`` epochs (iterations).
        by_epoch: Count epochs or iterations.
        save_best: A metric key or ``'auto'`` (the first returned key) to keep ``best_{key}_{epoch|iter}_{n}.pth``.
        rule: ``'greater'`` or ``'less'``; inferred from the key when ``None``.
        test_fn: ``test_fn(model, dataloader) -> results``; defaults to :func:`single_gpu_test`.
        greater_keys: Keys for which greater is better (added to MMCV's defaults' role).
        less_keys: Keys for which less is better.
        out_dir: Where best checkpoints go (``work_dir`` by default).
        file_client_args: Accepted for MMCV compatibility.
        eval_kwargs: Passed to ``dataset.evaluate`` (``metric=...``).
    """

    priority = "LOW"

    def __init__(
        self,
        dataloader: Any,
        start: int | None = None,
        interval: int = 1,
        by_epoch: bool = True,
        save_best: str | None = None,
        rule: str | None = None,
        test_fn: Callable[[Any, Any], Any] | None = None,
        greater_keys: Sequence[str] | None = None,
        less_keys: Sequence[str] | None = None,
        out_dir: str | None = None,
        file_client_args: dict[str, Any] | None = None,
        **eval_kwargs: Any,
    ) -> None:
        where = "EvalHook"
        if not isinstance(interval, int) or interval <= 0:
            raise ConfigError("interval", interval, "an int > 0", "use interval=1.", where)
        if start is not None and start < 0:
            raise ConfigError("start", start, "None or an int >= 0", "use start=None.", where)
        if rule is not None and rule not in ("greater", "less"):
            raise ConfigError("rule", rule, "one of ['greater', 'less'] or None", "leave rule=None to infer it.", where)
        self.dataloader = dataloader
        self.start = start
        self.interval = interval
        self.by_epoch = by_epoch
        self.test_fn = test_fn or single_gpu_test
        self.greater_keys = [k.lower() for k in (greater_keys or _GREATER_KEYS)]
        self.less_keys = [k.lower() for k in (less_keys or _LESS_KEYS)]
        self.out_dir = out_dir
        self.file_client_args = file_client_args
        self.eval_kwargs = eval_kwargs
        self.save_best = save_best
        self.rule = rule
        self.key_indicator = save_best
        self.initial_flag = True
        self.best_ckpt_path: str | None = None
        if save_best is not None and save_best != "auto":
            self._init_rule(rule, save_best)

    def _init_rule(self, rule: str | None, key: str) -> None:
        if rule is None:
            low = key.lower()
            if low in self.greater_keys:
                rule = "greater"
            elif low in self.less_keys:
                rule = "less"
            elif any(k in low for k in self.greater_keys):
                rule = "greater"
            elif any(k in low for k in self.less_keys):
                rule = "less"
            else:
                raise ConfigError("rule", None, "'greater' or 'less'", f"the rule for {key!r} cannot be inferred; "
                                  "set rule explicitly.", "EvalHook")
        self.rule = rule
        self.key_indicator = key

    def before_run(self, runner: Any) -> None:
        if self.out_dir is None:
            self.out_dir = runner.work_dir
        if self.save_best is not None:
            runner.meta.setdefault("hook_msgs", {})
            self.best_ckpt_path = runner.meta["hook_msgs"].get("best_ckpt")

    def before_train_epoch(self, runner: Any) -> None:
        if not (self.by_epoch and self.initial_flag):
            return
        if self.start is not None and runner.epoch >= self.start:
            self.after_train_epoch(runner)
        self.initial_flag = False

    def before_train_iter(self, runner: Any) -> None:
        if self.by_epoch or not self.initial_flag:
            return
        if self.start is not None and runner.iter >= self.start:
            self.after_train_iter(runner)
        self.initial_flag = False

    def after_train_epoch(self, runner: Any) -> None:
        if self.by_epoch and self._should_evaluate(runner):
            self._do_evaluate(runner)

    def after_train_iter(self, runner: Any) -> None:
        if not self.by_epoch and self._should_evaluate(runner):
            runner.log_buffer.clear()
            self._do_evaluate(runner)

    def _should_evaluate(self, runner: Any) -> bool:
        current: int = runner.epoch if self.by_epoch else runner.iter
        if self.start is None:
            return (current + 1) % self.interval == 0
        if current + 1 < self.start:
            return False
        return (current + 1 - self.start) % self.interval == 0

    def _do_evaluate(self, runner: Any) -> None:
        results = self.test_fn(runner.model, self.dataloader)
        runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)
        metrics = self.dataloader.dataset.evaluate(results, logger=runner.logger, **self.eval_kwargs)
        for name, value in metrics.items():
            runner.log_buffer.output[name] = value
        runner.log_buffer.ready = True
        if self.save_best is None or not metrics:
            return
        if self.key_indicator == "auto":
            self._init_rule(self.rule, next(iter(metrics)))
        assert self.key_indicator is not None
        self._save_best(runner, float(metrics[self.key_indicator]))

    def _save_best(self, runner: Any, score: float) -> None:
        unit, count = ("epoch", runner.epoch + 1) if self.by_epoch else ("iter", runner.iter + 1)
        msgs = runner.meta.setdefault("hook_msgs", {})
        best = msgs.get("best_score", -math.inf if self.rule == "greater" else math.inf)
        better = score > best if self.rule == "greater" else score < best
        if not better:
            return
        msgs["best_score"] = score
        if self.best_ckpt_path and osp.isfile(self.best_ckpt_path) and runner.rank == 0:
            os.remove(self.best_ckpt_path)
        assert self.key_indicator is not None  # _do_evaluate set it before calling
        name = f"best_{self.key_indicator.replace('/', '_')}_{unit}_{count}.pth"
        assert self.out_dir is not None
        self.best_ckpt_path = osp.join(self.out_dir, name)
        msgs["best_ckpt"] = self.best_ckpt_path
        runner.save_checkpoint(self.out_dir, filename_tmpl=name, create_symlink=False)
        runner.logger.info(f"Now best checkpoint is saved as {name}.")
        runner.logger.info(f"Best {self.key_indicator} is {score:0.4f} at {count} {unit}.")


EvalHook = LegacyEvalHook

# ------------------------------------------------------------------------------------------ runner view


class _MMCVRunnerView(LegacyRunnerView):
    """The view MMCV hooks receive from a legacy runner: MMCV counters plus the runner's own objects."""

    def __init__(self, facade: Any, by_epoch: bool, legacy_runner: BaseLegacyRunner, train_loader: Any,
                 val_loader: Any) -> None:
        super().__init__(facade, by_epoch)
        self.legacy_runner = legacy_runner
        self.meta = legacy_runner.meta
        self._loaders = (train_loader, val_loader)

    # Lightning attaches its dataloaders after on_fit_start (before_run); the run's own are known earlier.
    def _train_loader(self) -> Any:
        return self._loaders[0]

    def _val_loader(self) -> Any:
        return self._loaders[1]

    @property
    def model(self) -> Any:
        return self.legacy_runner.model

    @property
    def optimizer(self) -> Any:
        return self.legacy_runner.optimizer

    @property
    def logger(self) -> logging.Logger:
        return self.legacy_runner.logger

    @property
    def work_dir(self) -> str | None:
        return self.legacy_runner.work_dir

    @property
    def timestamp(self) -> str:
        return self.legacy_runner.timestamp

    @property
    def hooks(self) -> list[Any]:
        return self.legacy_runner.hooks

    def sync(self, stage: str, batch_idx: int | None = None, data_batch: Any = None, outputs: Any = None,
             metrics: Mapping[str, Any] | None = None) -> None:
        module: Any = getattr(self.runner, "pl_module", None)
        if stage == "after_train_iter" and getattr(module, "mmcv_outputs", None) is not None:
            outputs = module.mmcv_outputs  # MMCV's dict (loss tensor, log_vars, num_samples), not log_vars
        if stage == "after_val_epoch":
            metrics = None  # the val log_vars are in the log buffer already (MMCV adds nothing at epoch end)
        pushed = self._last_push
        super().sync(stage, batch_idx, data_batch, outputs, metrics)
        grad_norm = getattr(module, "pending_grad_norm", None)
        if stage == "after_train_iter" and grad_norm is not None and self._last_push != pushed:
            self.log_buffer.update({"grad_norm": grad_norm}, int(self.outputs.get("num_samples", 1)))
            module.pending_grad_norm = None

    def save_checkpoint(self, *args: Any, **kwargs: Any) -> None:
        self.legacy_runner.save_checkpoint(*args, **kwargs)

    def resume(self, *args: Any, **kwargs: Any) -> None:
        self.legacy_runner.resume(*args, **kwargs)

    def load_checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        return self.legacy_runner.load_checkpoint(*args, **kwargs)

    def register_hook(self, hook: Any, priority: Any = "NORMAL") -> None:
        self.legacy_runner.register_hook(hook, priority)

    def call_hook(self, fn_name: str) -> None:
        self.legacy_runner.call_hook(fn_name)


# ------------------------------------------------------------------------------------------------ runner

_WORKFLOW_PHASES = ("train", "val")


class BaseLegacyRunner:
    """MMCV 1.x runner API (``BaseRunner``) over Lightning; use :class:`EpochBasedRunner` or :class:`IterBasedRunner`.

    Args:
        model: An ``nn.Module`` with MMCV's ``train_step(data_batch, optimizer, **kwargs)`` returning
            ``dict(loss=..., log_vars=..., num_samples=...)`` (and ``val_step`` for val workflows).
        batch_processor: MMCV's deprecated ``batch_processor(model, data, train_mode)`` instead of ``train_step``.
        optimizer: A ``torch.optim.Optimizer``, a dict of them (name -> optimizer), or ``None``.
        work_dir: Where checkpoints and logs go (created).
        logger: A ``logging.Logger``; one named ``mmhooks.legacy`` when ``None``.
        meta: Saved into every checkpoint's ``meta``.
        max_iters: Iteration budget (IterBasedRunner).
        max_epochs: Epoch budget (EpochBasedRunner).
        trainer: Extra ``lightning.Trainer`` arguments (``accelerator``, ``devices``, ``precision``...);
            they win over the ones the runner derives.
    """

    by_epoch = True

    def __init__(
        self,
        model: torch.nn.Module,
        batch_processor: Callable[..., Any] | None = None,
        optimizer: Any = None,
        work_dir: str | None = None,
        logger: logging.Logger | None = None,
        meta: dict[str, Any] | None = None,
        max_iters: int | None = None,
        max_epochs: int | None = None,
        trainer: Mapping[str, Any] | None = None,
    ) -> None:
        where = type(self).__name__
        if batch_processor is None and not callable(getattr(model, "train_step", None)):
            raise ConfigError("model", type(model).__name__, "a module with train_step(data_batch, optimizer) or "
                              "a batch_processor", "add MMCV's train_step to the model.", where)
        if optimizer is not None and not _is_optimizer(optimizer):
            raise ConfigError("optimizer", type(optimizer).__name__, "a torch.optim.Optimizer, a dict of them, "
                              "or None", "build the optimizer first (torch.optim.SGD(model.parameters(), ...)).",
                              where)
        if logger is not None and not isinstance(logger, logging.Logger):
            raise ConfigError("logger", type(logger).__name__, "a logging.Logger",
                              "pass logging.getLogger(...) or None.", where)
        if meta is not None and not isinstance(meta, dict):
            raise ConfigError("meta", type(meta).__name__, "a dict or None", "pass meta=dict(...).", where)
        if max_epochs is not None and max_iters is not None:
            raise ConfigError("max_epochs", max_epochs, "only one of max_epochs and max_iters",
                              "pass max_epochs (EpochBasedRunner) or max_iters (IterBasedRunner).", where)
        self.model = model
        self.batch_processor = batch_processor
        self.optimizer = optimizer
        self.work_dir = osp.abspath(work_dir) if isinstance(work_dir, str) else None
        if self.work_dir is not None:
            os.makedirs(self.work_dir, exist_ok=True)
        self.logger = logger if logger is not None else logging.getLogger("mmhooks.legacy")
        self.meta: dict[str, Any] = meta if meta is not None else {}
        self.timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        self.mode: str | None = None
        self._epoch = 0
        self._iter = 0
        self._inner_iter = 0
        self._max_epochs = max_epochs
        self._max_iters = max_iters
        self.trainer_args: dict[str, Any] = dict(trainer or {})
        self.optimizer_settings: OptimizerSettings | None = None
        self.log_processor_cfg: dict[str, Any] | None = None
        self.vis_backends: list[dict[str, Any]] = []
        self._hook_list = HookList()
        self._resume_from: str | None = None
        self._view: _MMCVRunnerView | None = None
        self.trainer: Any = None

    # ------------------------------------------------------------------ counters
    @property
    def model_name(self) -> str:
        return type(getattr(self.model, "module", self.model)).__name__

    @property
    def hooks(self) -> list[Any]:
        """The registered hooks in order, MMCV hooks unwrapped from their adapters."""
        return [getattr(h, "legacy_hook", h) for h in self._hook_list]

    _hooks = hooks

    @property
    def epoch(self) -> int:
        return self._view.epoch if self._view is not None else self._epoch

    @property
    def iter(self) -> int:
        return self._view.iter if self._view is not None else self._iter

    @property
    def inner_iter(self) -> int:
        return self._view.inner_iter if self._view is not None else self._inner_iter

    @property
    def max_epochs(self) -> int | None:
        return self._max_epochs

    @property
    def max_iters(self) -> int | None:
        return self._max_iters

    @property
    def rank(self) -> int:
        return int(self.trainer.global_rank) if self.trainer is not None else _dist_info()[0]

    @property
    def world_size(self) -> int:
        return int(self.trainer.world_size) if self.trainer is not None else _dist_info()[1]

    @property
    def log_buffer(self) -> Any:
        return self._view.log_buffer if self._view is not None else None

    def current_lr(self) -> list[float] | dict[str, list[float]]:
        """``lr`` of every param group (a dict name -> list for a dict of optimizers)."""
        return _per_group(self.optimizer, lambda g: float(g["lr"]), "current_lr")

    def current_momentum(self) -> list[float] | dict[str, list[float]]:
        """``momentum``, else ``betas[0]``, else 0 of every param group."""
        def value(group: Mapping[str, Any]) -> float:
            if "momentum" in group:
                return float(group["momentum"])
            return float(group["betas"][0]) if "betas" in group else 0.0

        return _per_group(self.optimizer, value, "current_momentum")

    # ------------------------------------------------------------------- hooks
    def register_hook(self, hook: Any, priority: Any = "NORMAL") -> None:
        """Insert ``hook`` after every hook of lower or equal priority (MMCV's stable rule).

        MMCV-style hooks are wrapped in a :class:`~mmhooks.legacy.LegacyHookAdapter` with this runner's
        epoch/iteration semantics; mmhooks (MMEngine-style) hooks are registered as they are.
        """
        try:
            get_priority(getattr(priority, "value", priority))
        except (KeyError, ValueError, TypeError):
            raise ConfigError("priority", priority, "an int in [0, 100] or a Priority name",
                              "use e.g. priority='NORMAL'.", "register_hook") from None
        priority = getattr(priority, "value", priority)
        if is_legacy_hook(hook):
            try:
                hook.priority = priority
            except AttributeError:
                pass
            self._hook_list.register(LegacyHookAdapter(hook, priority=priority, by_epoch=self.by_epoch), priority)
        else:
            self._hook_list.register(hook, priority)

    def register_hook_from_cfg(self, hook_cfg: Mapping[str, Any], path: str = "hook") -> None:
        """Build a hook from ``dict(type=..., priority=...)``; MMCV-only types map to their MMCV semantics."""
        cfg = dict(hook_cfg)
        priority = cfg.pop("priority", "NORMAL")
        self.register_hook(self._build_hook(cfg, path), priority)

    def _build_hook(self, cfg: dict[str, Any], path: str) -> Any:
        kind = cfg.get("type")
        mmcv_types: dict[str, type] = {"EMAHook": LegacyEMAHook, "CheckpointHook": LegacyCheckpointHook,
                                       "EvalHook": LegacyEvalHook, "DistEvalHook": LegacyEvalHook}
        if isinstance(kind, str) and kind in mmcv_types:
            cfg = {**cfg, "type": mmcv_types[kind]}
        if kind == "SyncBuffersHook":
            cfg.pop("distributed", None)  # MMEngine's hook detects the distributed case itself
        if kind in _OPTIMIZER_HOOK_ARGS:
            raise ConfigError("type", kind, "a hook that is not an optimizer hook",
                              "pass it as optimizer_config to register_training_hooks.", path)
        return HOOKS.build(cfg, path=path)

    def call_hook(self, fn_name: str) -> None:
        """Call ``fn_name(runner)`` on every MMCV-style hook (MMCV's ``call_hook``)."""
        view = self._view
        for hook in self._hook_list:
            legacy = getattr(hook, "legacy_hook", None)
            if legacy is None:
                continue
            method = getattr(legacy, fn_name, None) or getattr(legacy, GENERIC_FALLBACK.get(fn_name, ""), None)
            if method is not None:
                method(view if view is not None else self)

    def get_hook_info(self) -> str:
        return self._hook_list.info()

    def register_lr_hook(self, lr_config: Any) -> None:
        if lr_config is None:
            return
        if isinstance(lr_config, Mapping):
            hook = build_lr_updater(lr_config, "lr_config", by_epoch_default=self.by_epoch)
        else:
            hook = lr_config
        self.register_hook(hook, priority="VERY_HIGH")

    def register_momentum_hook(self, momentum_config: Any) -> None:
        if momentum_config is None:
            return
        hook = build_momentum_updater(momentum_config) if isinstance(momentum_config, Mapping) else momentum_config
        self.register_hook(hook, priority="HIGH")

    def register_optimizer_hook(self, optimizer_config: Any) -> None:
        """A dict is run by the LightningModule (backward, clip, step); a hook instance runs as a hook."""
        if optimizer_config is None:
            return
        if not isinstance(optimizer_config, Mapping):
            self.register_hook(optimizer_config, priority="ABOVE_NORMAL")
            return
        settings = parse_optimizer_config(optimizer_config)
        if isinstance(self.optimizer, Mapping):
            raise ConfigError("optimizer_config", dict(optimizer_config), "None with a dict of optimizers (MMCV's "
                              "OptimizerHook steps one optimizer)", "step the optimizers in train_step and pass "
                              "optimizer_config=None.")
        self.optimizer_settings = settings
        self.register_hook(OptimizerHook(settings), priority="ABOVE_NORMAL")

    def register_checkpoint_hook(self, checkpoint_config: Any) -> None:
        if checkpoint_config is None:
            return
        if isinstance(checkpoint_config, Mapping):
            cfg = dict(checkpoint_config)
            kind = cfg.pop("type", "CheckpointHook")
            if kind != "CheckpointHook":
                self.register_hook_from_cfg({"type": kind, **cfg}, path="checkpoint_config")
                return
            if not self.by_epoch:
                cfg.setdefault("by_epoch", False)
            try:
                hook = LegacyCheckpointHook(**cfg)
            except ConfigError as err:
                raise err.under("checkpoint_config") from None
            except TypeError as err:
                raise ConfigError("checkpoint_config", cfg, "CheckpointHook arguments", str(err)) from err
        else:
            hook = checkpoint_config
        self.register_hook(hook, priority="NORMAL")

    def register_timer_hook(self, timer_config: Any) -> None:
        if timer_config is None:
            return
        if isinstance(timer_config, Mapping):
            self.register_hook_from_cfg({"priority": "LOW", **timer_config}, path="timer_config")
        else:
            self.register_hook(timer_config, priority="LOW")

    def register_logger_hooks(self, log_config: Any) -> None:
        """``log_config.hooks``: Text/Tensorboard/... loggers become one mmhooks ``LoggerHook`` and backends.

        The window of the averages is ``log_config.interval`` (MMCV averages the last ``interval`` entries).
        """
        if log_config is None:
            return
        from mmhooks.legacy.convert import VIS_BACKENDS

        interval = log_config.get("interval", 10)
        logger_args: dict[str, Any] | None = None
        by_epoch = self.by_epoch
        for i, info in enumerate(log_config.get("hooks", [])):
            path = f"log_config.hooks[{i}]"
            if not isinstance(info, Mapping):
                self.register_hook(info, priority="VERY_LOW")
                continue
            cfg = {"interval": interval, **info}
            kind = cfg.pop("type", None)
            by_epoch = cfg.pop("by_epoch", by_epoch)
            cfg.pop("reset_flag", None)
            if kind == "TextLoggerHook":
                logger_args = {**(logger_args or {}), **cfg}
            elif kind in VIS_BACKENDS:
                name, keep, drop = VIS_BACKENDS[kind]
                backend = {"type": name, **{k: cfg[k] for k in keep if k in cfg}}
                if "log_dir" in backend:
                    backend["save_dir"] = backend.pop("log_dir")
                self.vis_backends.append(backend)
                logger_args = logger_args or {"interval": cfg["interval"]}
                for key in drop:
                    if key in cfg:
                        warnings.warn(f"{path}.{key}: {kind} option with no {name} counterpart; ignored.",
                                      MMHooksTranslationWarning, stacklevel=3)
            elif isinstance(kind, str) and kind in HOOKS:
                self.register_hook(HOOKS.build({"type": kind, **cfg}, path=path), priority="VERY_LOW")
            else:
                known = sorted(["TextLoggerHook", *VIS_BACKENDS])
                near = closest(kind, known) if isinstance(kind, str) else None
                raise ConfigError("type", kind, f"one of {known} or a registered hook",
                                  f"did you mean {near!r}?" if near else "remove this logger.", path)
        if logger_args is None:
            return
        allowed = ("interval", "ignore_last", "interval_exp_name", "out_dir", "out_suffix", "keep_local",
                   "file_client_args")
        for key, value in logger_args.items():
            if key not in allowed:
                raise ConfigError(key, value, f"a TextLoggerHook argument: {sorted(allowed)}", "delete it.",
                                  "log_config.hooks")
        from mmhooks.hooks.logger_hook import LoggerHook
        from mmhooks.hooks.runtime_info_hook import RuntimeInfoHook

        self.register_hook(RuntimeInfoHook(), priority="VERY_HIGH")
        self.register_hook(LoggerHook(log_metric_by_epoch=bool(by_epoch), **logger_args), priority="VERY_LOW")
        self.log_processor_cfg = {"type": "LogProcessor", "window_size": logger_args["interval"],
                                  "by_epoch": bool(by_epoch)}

    def register_custom_hooks(self, custom_config: Any) -> None:
        if custom_config is None:
            return
        items = custom_config if isinstance(custom_config, (list, tuple)) else [custom_config]
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                self.register_hook_from_cfg(item, path=f"custom_hooks_config[{i}]")
            else:
                self.register_hook(item, priority="NORMAL")

    def register_training_hooks(
        self,
        lr_config: Any,
        optimizer_config: Any = None,
        checkpoint_config: Any = None,
        log_config: Any = None,
        momentum_config: Any = None,
        timer_config: Any = None,
        custom_hooks_config: Any = None,
    ) -> None:
        """MMCV's default hooks, in MMCV's order: lr, momentum, optimizer, checkpoint, timer, loggers, custom.

        Raises:
            ConfigError: an unknown ``lr_config.policy`` / ``momentum_config.policy``, an
                ``optimizer_config.type`` that does not exist, unknown hook arguments.
        """
        if timer_config is None:
            timer_config = {"type": "IterTimerHook"}
        self.register_lr_hook(lr_config)
        self.register_momentum_hook(momentum_config)
        self.register_optimizer_hook(optimizer_config)
        self.register_checkpoint_hook(checkpoint_config)
        self.register_timer_hook(timer_config)
        self.register_logger_hooks(log_config)
        self.register_custom_hooks(custom_hooks_config)

    def register_eval_hook(self, dataloader: Any, evaluation: Mapping[str, Any] | None = None) -> None:
        """The downstream ``evaluation`` config: an MMCV ``EvalHook`` at priority LOW, by epoch for this runner."""
        cfg = {**dict(evaluation or {}), "by_epoch": self.by_epoch}
        cfg.pop("type", None)
        try:
            hook = LegacyEvalHook(dataloader, **cfg)
        except ConfigError as err:
            raise err.under("evaluation") from None
        except TypeError as err:
            raise ConfigError("evaluation", sorted(cfg), "EvalHook arguments", str(err)) from err
        self.register_hook(hook, priority="LOW")

    # ------------------------------------------------------------------ steps
    def train_step(self, data_batch: Any, **kwargs: Any) -> dict[str, Any]:
        """MMCV's ``run_iter`` in train mode: ``train_step`` (or ``batch_processor``) returning a dict."""
        if self.batch_processor is not None:
            outputs = self.batch_processor(self.model, data_batch, train_mode=True, **kwargs)
        else:  # train_step / val_step are MMCV's API, unknown to nn.Module's type
            outputs = cast(Any, self.model).train_step(data_batch, self.optimizer, **kwargs)
        return _check_outputs(outputs, "train_step")

    def val_step(self, data_batch: Any, **kwargs: Any) -> dict[str, Any]:
        if self.batch_processor is not None:
            outputs = self.batch_processor(self.model, data_batch, train_mode=False, **kwargs)
        elif self.by_epoch:
            outputs = cast(Any, self.model).val_step(data_batch, self.optimizer, **kwargs)
        else:  # IterBasedRunner passes no optimizer
            outputs = cast(Any, self.model).val_step(data_batch, **kwargs)
        return _check_outputs(outputs, "val_step")

    # ------------------------------------------------------------- checkpoints
    def save_checkpoint(
        self,
        out_dir: str,
        filename_tmpl: str | None = None,
        save_optimizer: bool = True,
        meta: dict[str, Any] | None = None,
        create_symlink: bool = True,
    ) -> None:
        """Write ``out_dir/filename_tmpl.format(n)`` with MMCV's ``meta`` (``epoch``, ``iter``) and ``latest.pth``.

        During :meth:`run` the file also carries Lightning's loop state, so :meth:`resume` continues the
        fit exactly; outside a run it holds ``meta``, ``state_dict`` and ``optimizer`` only.
        """
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            raise ConfigError("meta", type(meta).__name__, "a dict or None", "pass meta=dict(...).", "save_checkpoint")
        template = filename_tmpl or ("epoch_{}.pth" if self.by_epoch else "iter_{}.pth")
        meta = {**meta, **self.meta, "epoch": self.epoch + 1, "iter": self.iter}
        filename = template.format(self.epoch + 1 if self.by_epoch else self.iter + 1)
        path = osp.join(out_dir, filename)
        os.makedirs(out_dir, exist_ok=True)
        facade = getattr(self._view, "runner", None) if self._view is not None else None
        if facade is not None and getattr(facade, "trainer", None) is not None:
            facade.save_checkpoint(out_dir, filename, save_optimizer=save_optimizer, meta=meta,
                                   by_epoch=self.by_epoch)
        elif self.rank == 0:
            self._save_plain(path, meta, save_optimizer)
        if create_symlink and self.rank == 0:
            latest = osp.join(out_dir, "latest.pth")
            if osp.lexists(latest):
                os.remove(latest)
            try:
                os.symlink(filename, latest)
            except OSError:  # no symlinks (Windows without rights): copy, as MMCV does
                import shutil

                shutil.copy(path, latest)

    def _save_plain(self, path: str, meta: dict[str, Any], save_optimizer: bool) -> None:
        from mmhooks.runner.checkpoint import atomic_save, get_state_dict, weights_to_cpu

        import mmhooks

        checkpoint: dict[str, Any] = {
            "meta": {**meta, "mmhooks_version": mmhooks.__version__, "time": time.asctime()},
            "state_dict": weights_to_cpu(get_state_dict(self.model)),
        }
        if save_optimizer and self.optimizer is not None:
            if isinstance(self.optimizer, Mapping):
                checkpoint["optimizer"] = {k: v.state_dict() for k, v in self.optimizer.items()}
            else:
                checkpoint["optimizer"] = self.optimizer.state_dict()
        atomic_save(checkpoint, path)

    def load_checkpoint(
        self, filename: str, map_location: Any = "cpu", strict: bool = False,
        revise_keys: Sequence[tuple[str, str]] = ((r"^module\.", ""),),
    ) -> dict[str, Any]:
        """Load the weights of ``filename`` into the model (MMCV's ``load_from``); returns the checkpoint."""
        from mmhooks.runner.checkpoint import load_checkpoint_file, load_state_dict

        import re

        checkpoint: dict[str, Any] = load_checkpoint_file(filename, map_location=map_location)
        state_dict = checkpoint.get("state_dict", checkpoint)
        for pattern, replacement in revise_keys:
            state_dict = {re.sub(pattern, replacement, k): v for k, v in state_dict.items()}
        load_state_dict(getattr(self.model, "module", self.model), state_dict, strict=strict, logger=self.logger)
        return checkpoint

    def resume(self, checkpoint: str, resume_optimizer: bool = True, map_location: Any = "default") -> None:
        """Continue a run from a checkpoint an mmhooks legacy run wrote: weights, optimizer, loops, ``meta``.

        Raises:
            ConfigError: the file has no Lightning loop state (e.g. a checkpoint of MMCV itself); use
                :meth:`load_checkpoint` for its weights.
        """
        from mmhooks.runner.checkpoint import load_checkpoint_file

        loaded = load_checkpoint_file(checkpoint, map_location="cpu")
        if "loops" not in loaded:
            raise ConfigError("resume", checkpoint, "a checkpoint written by an mmhooks legacy runner (it carries "
                              "Lightning's loop state)", "use runner.load_checkpoint(path) to start from its "
                              "weights.")
        if not resume_optimizer:
            warnings.warn("resume.resume_optimizer: False is not supported on Lightning; the optimizer state "
                          "is restored.", MMHooksTranslationWarning, stacklevel=2)
        saved_meta = loaded.get("meta", {})
        self._epoch = int(saved_meta.get("epoch", 0))
        self._iter = int(saved_meta.get("iter", 0))
        self.meta.setdefault("hook_msgs", {}).update(saved_meta.get("hook_msgs", {}))
        self._resume_from = checkpoint
        self.logger.info(f"resumed epoch {self._epoch}, iter {self._iter}")

    # --------------------------------------------------------------------- run
    def _check_workflow(self, data_loaders: Sequence[Any], workflow: Sequence[Any]) -> tuple[Any, Any, int, int]:
        """The train loader, the val loader (or None), the train count and the val count."""
        if not isinstance(data_loaders, (list, tuple)):
            raise ConfigError("data_loaders", type(data_loaders).__name__, "a list with one loader per workflow "
                              "entry", "pass [train_loader] or [train_loader, val_loader].", "run")
        if not isinstance(workflow, (list, tuple)) or not workflow:
            raise ConfigError("workflow", workflow, "a list of (phase, count) pairs", "use [('train', 1)].", "run")
        if len(data_loaders) != len(workflow):
            raise ConfigError("data_loaders", f"{len(data_loaders)} loaders", f"{len(workflow)} (one per workflow "
                              "entry)", "pass one loader per workflow entry.", "run")
        phases = []
        for i, entry in enumerate(workflow):
            ok = isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[1], int) and entry[1] > 0
            phase = entry[0] if isinstance(entry, (list, tuple)) and entry else entry
            if phase not in _WORKFLOW_PHASES:
                near = closest(phase, _WORKFLOW_PHASES) if isinstance(phase, str) else None
                raise ConfigError(f"workflow[{i}]", entry, "a ('train', n) or ('val', n) pair",
                                  f"did you mean {near!r}?" if near else "use only 'train' and 'val' phases.")
            if not ok:
                raise ConfigError(f"workflow[{i}]", entry, "a (phase, count) pair with count >= 1",
                                  f"write ({phase!r}, 1).")
            phases.append(phase)
        if phases == ["train"]:
            return data_loaders[0], None, int(workflow[0][1]), 0
        if phases == ["train", "val"] and workflow[1][1] == 1:
            return data_loaders[0], data_loaders[1], int(workflow[0][1]), 1
        raise ConfigError("workflow", [tuple(w) for w in workflow], "[('train', n)] or [('train', n), ('val', 1)] "
                          "on Lightning", "validate once after every n training phases.")

    def run(self, data_loaders: Sequence[Any], workflow: Sequence[Any], max_epochs: int | None = None,
            **kwargs: Any) -> None:
        """Train on a ``lightning.Trainer`` following ``workflow`` (``[('train', n)]`` or with ``('val', 1)``).

        Raises:
            ConfigError: a workflow phase other than train/val, a loader count that does not match the workflow,
                a missing ``max_epochs`` / ``max_iters``.
        """
        raise NotImplementedError

    def _fit(self, train_loader: Any, val_loader: Any, train_count: int, step_kwargs: Mapping[str, Any]) -> None:
        backend = importlib.import_module("mmhooks.adapters.lightning.legacy_module")
        from mmhooks.adapters.lightning.hook_callback import HookCallback
        from mmhooks.optim import OptimWrapper, OptimWrapperDict

        optimizers = self.optimizer
        wrapper: Any = None
        if isinstance(optimizers, Mapping):
            wrapper = OptimWrapperDict(**{k: OptimWrapper(v) for k, v in optimizers.items()})
        elif optimizers is not None:
            wrapper = OptimWrapper(optimizers)
        info: dict[str, Any] = dict(by_epoch=self.by_epoch, timestamp=self.timestamp, optim_wrapper=wrapper,
                                    log_processor=self.log_processor_cfg)
        if self.vis_backends:
            info["visualizer"] = {"type": "Visualizer", "vis_backends": [{"type": "LocalVisBackend"},
                                                                         *self.vis_backends]}
        if self.by_epoch:
            info["max_epochs"] = self._max_epochs
        else:
            info["max_iters"] = self._max_iters
        if val_loader is not None:
            info.update(val_interval=train_count, val_begin=1)
        callback = HookCallback(list(self._hook_list), work_dir=self.work_dir, **info)
        facade = callback.runner
        view = _MMCVRunnerView(facade, self.by_epoch, self, train_loader, val_loader)
        view._epoch, view._iter = self._epoch, self._iter
        setattr(facade, _VIEW_ATTR, view)
        self._view = view
        try:
            backend.fit_legacy_runner(self, callback, train_loader, val_loader, dict(step_kwargs))
        finally:
            # MMCV's values after the run: epoch = max_epochs (IterBasedRunner: passes before the last
            # batch fetch), iter = completed training iterations.
            self._iter = int(facade.iter)
            self._epoch = int(facade.epoch) if self.by_epoch else max(self._iter - 1, 0) // max(len(train_loader), 1)
            self._inner_iter = view.inner_iter
            self.mode = view.mode
            self._view = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model_name}, work_dir={self.work_dir!r})"


class EpochBasedRunner(BaseLegacyRunner):
    """MMCV 1.x ``EpochBasedRunner``: ``run([train_loader(, val_loader)], [('train', n)(, ('val', 1))])``.

    Hooks see MMCV's counters (spec mmcv_legacy §4.1): ``iter`` counts completed training iterations,
    ``epoch`` is incremented after ``after_train_epoch``, validation phases see the incremented epoch.

    Example:
        >>> import torch
        >>> class Net(torch.nn.Linear):
        ...     def train_step(self, data, optimizer):
        ...         loss = self(data).pow(2).mean()
        ...         return dict(loss=loss, log_vars=dict(loss=float(loss)), num_samples=len(data))
        >>> net = Net(2, 1)
        >>> runner = EpochBasedRunner(net, optimizer=torch.optim.SGD(net.parameters(), lr=0.1), max_epochs=1)
        >>> runner.register_training_hooks(lr_config=dict(policy='step', step=[1]), optimizer_config=dict())
        >>> runner.run([torch.utils.data.DataLoader(torch.ones(4, 2), batch_size=2)], [('train', 1)])
        >>> runner.epoch, runner.iter
        (1, 2)
    """

    by_epoch = True

    def run(self, data_loaders: Sequence[Any], workflow: Sequence[Any], max_epochs: int | None = None,
            **kwargs: Any) -> None:
        if max_epochs is not None:
            warnings.warn("run.max_epochs: setting max_epochs in run() is deprecated in MMCV; pass it to the "
                          "runner's constructor.", DeprecationWarning, stacklevel=2)
            self._max_epochs = max_epochs
        if not isinstance(self._max_epochs, int) or self._max_epochs <= 0:
            raise ConfigError("max_epochs", self._max_epochs, "an int > 0", "pass max_epochs to the constructor.",
                              type(self).__name__)
        train_loader, val_loader, count, _ = self._check_workflow(data_loaders, workflow)
        self._max_iters = self._max_epochs * len(train_loader)
        work_dir = self.work_dir if self.work_dir is not None else "NONE"
        self.logger.info(f"Start running, work_dir: {work_dir}")
        self.logger.info(f"Hooks will be executed in the following order:\n{self.get_hook_info()}")
        self.logger.info(f"workflow: {list(workflow)}, max: {self._max_epochs} epochs")
        self._fit(train_loader, val_loader, count, kwargs)


class IterBasedRunner(BaseLegacyRunner):
    """MMCV 1.x ``IterBasedRunner``: ``run([train_loader(, val_loader)], [('train', n)(, ('val', 1))])``.

    Counters follow spec mmcv_legacy §4.2 and its errata: ``before_epoch`` / ``after_epoch`` run once,
    ``inner_iter`` is 0 in every training iteration, ``epoch`` lags one iteration behind the loader wrap.
    ``lr_config``, ``checkpoint_config`` and the loggers default to ``by_epoch=False``.
    """

    by_epoch = False

    def run(  # type: ignore[override]  # MMCV's IterBasedRunner.run names the third argument max_iters
        self, data_loaders: Sequence[Any], workflow: Sequence[Any], max_iters: int | None = None, **kwargs: Any
    ) -> None:
        if max_iters is not None:
            warnings.warn("run.max_iters: setting max_iters in run() is deprecated in MMCV; pass it to the "
                          "runner's constructor.", DeprecationWarning, stacklevel=2)
            self._max_iters = max_iters
        if not isinstance(self._max_iters, int) or self._max_iters <= 0:
            raise ConfigError("max_iters", self._max_iters, "an int > 0", "pass max_iters to the constructor.",
                              type(self).__name__)
        train_loader, val_loader, count, _ = self._check_workflow(data_loaders, workflow)
        work_dir = self.work_dir if self.work_dir is not None else "NONE"
        self.logger.info(f"Start running, work_dir: {work_dir}")
        self.logger.info(f"Hooks will be executed in the following order:\n{self.get_hook_info()}")
        self.logger.info(f"workflow: {list(workflow)}, max: {self._max_iters} iters")
        self._fit(train_loader, val_loader, count, kwargs)


# ---------------------------------------------------------------------------------------------- helpers


def _is_optimizer(value: Any) -> bool:
    if isinstance(value, torch.optim.Optimizer):
        return True
    return isinstance(value, Mapping) and bool(value) and all(
        isinstance(v, torch.optim.Optimizer) for v in value.values())


def _per_group(
    optimizer: Any, read: Callable[[Mapping[str, Any]], float], where: str
) -> list[float] | dict[str, list[float]]:
    if optimizer is None:
        raise RuntimeError(f"{where}: got no optimizer; expected the runner to have one. Fix: pass optimizer= to "
                           "the runner.")
    if isinstance(optimizer, Mapping):
        return {name: [read(g) for g in opt.param_groups] for name, opt in optimizer.items()}
    return [read(g) for g in optimizer.param_groups]


def _dist_info() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _check_outputs(outputs: Any, step: str) -> dict[str, Any]:
    if not isinstance(outputs, dict):
        raise TypeError(f"model.{step}: got {type(outputs).__name__}; expected a dict with loss, log_vars and "
                        f"num_samples. Fix: return dict(loss=loss, log_vars=log_vars, num_samples=n) from {step}.")
    return outputs
