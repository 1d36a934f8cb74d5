"""MMCV 1.x ``EvalHook`` (registered as ``LegacyEvalHook``): the downstream ``evaluation`` config."""

from __future__ import annotations

import math
import os
import os.path as osp
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch

from mmhooks.errors import ConfigError
from mmhooks.legacy.hook import LegacyHook
from mmhooks.registry import HOOKS

__all__ = ["EvalHook", "LegacyEvalHook", "single_gpu_test"]

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
            # MMCV logs the training window first, so the evaluation's record stands alone.
            from mmhooks.legacy.logger_hooks import LegacyLoggerHook

            for hook in runner.hooks:
                if isinstance(hook, LegacyLoggerHook):
                    hook.after_train_iter(runner)
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
