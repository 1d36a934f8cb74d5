"""MMCV 1.x's ``IterTimerHook``, ``LoggerHook`` base, ``TextLoggerHook`` and ``TensorboardLoggerHook``.

These run as MMCV-style hooks (through :class:`~mmhooks.legacy.LegacyHookAdapter`) on the ``log_buffer``
the legacy runner view fills, so a legacy run writes what MMCV 1.7.2 writes:

* ``{work_dir}/{timestamp}.log.json``: ``runner.meta`` first (when the runner was given one), then one
  record per logged training iteration and per validation phase, keys in MMCV's order (``mode``,
  ``epoch``, ``iter``, ``lr``, ``memory`` on CUDA, then the buffer's averages in insertion order), floats
  rounded to 5 decimals (lists too; a dict of per-optimizer LRs is not rounded, as in MMCV);
* console lines ``Epoch [e][i/L]\\tlr: ..., eta: ..., time: ..., data_time: ..., <key>: <value>`` (or
  ``Iter [i/N]``) on ``runner.logger``;
* ``{work_dir}/tf_logs`` TensorBoard scalars tagged ``<mode>/<key>``, ``learning_rate``, ``momentum``, at
  step ``iter + 1``.
"""

from __future__ import annotations

import datetime
import json
import os
import os.path as osp
import shutil
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch

from mmhooks.errors import ConfigError
from mmhooks.legacy.hook import LegacyHook
from mmhooks.registry import HOOKS

__all__ = ["LegacyIterTimerHook", "LegacyLoggerHook", "LegacyTensorboardLoggerHook", "LegacyTextLoggerHook"]


@HOOKS.register_module()
class LegacyIterTimerHook(LegacyHook):
    """MMCV's ``IterTimerHook``: ``data_time`` before and ``time`` after every train and val iteration."""

    priority = "LOW"

    def __init__(self) -> None:
        self.t = time.time()

    def before_epoch(self, runner: Any) -> None:
        self.t = time.time()

    def before_iter(self, runner: Any) -> None:
        runner.log_buffer.update({"data_time": time.time() - self.t})

    def after_iter(self, runner: Any) -> None:
        runner.log_buffer.update({"time": time.time() - self.t})
        self.t = time.time()


class LegacyLoggerHook(LegacyHook):
    """MMCV's ``LoggerHook``: when to average the log buffer and call :meth:`log`.

    Args:
        interval: Average and log every ``interval`` iterations (inner iterations by epoch).
        ignore_last: Skip the partial window at the end of an epoch.
        reset_flag: Clear the averages after logging (set on the last logger at ``before_run``).
        by_epoch: Count ``interval`` within the epoch (EpochBasedRunner) or globally.
    """

    priority = "VERY_LOW"

    def __init__(self, interval: int = 10, ignore_last: bool = True, reset_flag: bool = False,
                 by_epoch: bool = True) -> None:
        where = type(self).__name__
        if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
            raise ConfigError("interval", interval, "an int > 0", "use e.g. interval=50.", where)
        self.interval = interval
        self.ignore_last = ignore_last
        self.reset_flag = reset_flag
        self.by_epoch = by_epoch

    def log(self, runner: Any) -> Any:
        raise NotImplementedError

    def get_mode(self, runner: Any) -> str:
        if runner.mode == "train":
            return "train" if "time" in runner.log_buffer.output else "val"
        if runner.mode == "val":
            return "val"
        raise ValueError(f"runner.mode: got {runner.mode!r}; expected 'train' or 'val'. Fix: log only during "
                         "a training or validation phase.")

    def get_epoch(self, runner: Any) -> int:
        if runner.mode == "train":
            return int(runner.epoch) + 1
        if runner.mode == "val":
            return int(runner.epoch)
        raise ValueError(f"runner.mode: got {runner.mode!r}; expected 'train' or 'val'. Fix: log only during "
                         "a training or validation phase.")

    def get_iter(self, runner: Any, inner_iter: bool = False) -> int:
        return int(runner.inner_iter if self.by_epoch and inner_iter else runner.iter) + 1

    def get_lr_tags(self, runner: Any) -> dict[str, float]:
        lrs = runner.current_lr()
        if isinstance(lrs, Mapping):
            return {f"learning_rate/{name}": values[0] for name, values in lrs.items()}
        return {"learning_rate": lrs[0]}

    def get_momentum_tags(self, runner: Any) -> dict[str, float]:
        values = runner.current_momentum()
        if isinstance(values, Mapping):
            return {f"momentum/{name}": v[0] for name, v in values.items()}
        return {"momentum": values[0]}

    def get_loggable_tags(self, runner: Any, allow_scalar: bool = True, allow_text: bool = False,
                          add_mode: bool = True, tags_to_skip: tuple[str, ...] = ("time", "data_time")
                          ) -> dict[str, Any]:
        tags: dict[str, Any] = {}
        for name, value in runner.log_buffer.output.items():
            if name in tags_to_skip or (_is_scalar(value) and not allow_scalar):
                continue
            if isinstance(value, str) and not allow_text:
                continue
            tags[f"{self.get_mode(runner)}/{name}" if add_mode else name] = value
        tags.update(self.get_lr_tags(runner))
        tags.update(self.get_momentum_tags(runner))
        return tags

    def before_run(self, runner: Any) -> None:
        for hook in reversed(list(runner.hooks)):
            if isinstance(hook, LegacyLoggerHook):
                hook.reset_flag = True
                break

    def before_epoch(self, runner: Any) -> None:
        runner.log_buffer.clear()

    def _log_if_ready(self, runner: Any) -> None:
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_train_iter(self, runner: Any) -> None:
        if self.by_epoch and self.every_n_inner_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif not self.by_epoch and self.every_n_iters(runner, self.interval):
            runner.log_buffer.average(self.interval)
        elif self.end_of_epoch(runner) and not self.ignore_last:
            runner.log_buffer.average(self.interval)
        self._log_if_ready(runner)

    def after_train_epoch(self, runner: Any) -> None:
        self._log_if_ready(runner)

    def after_val_epoch(self, runner: Any) -> None:
        runner.log_buffer.average()
        self.log(runner)
        if self.reset_flag:
            runner.log_buffer.clear_output()


def _is_scalar(value: Any) -> bool:
    import numbers

    import numpy as np

    if isinstance(value, numbers.Number):
        return True
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return True
    return isinstance(value, torch.Tensor) and value.numel() == 1


def _round_float(value: Any) -> Any:
    """MMCV's rounding of a ``.log.json`` value: floats and lists of floats to 5 decimals, nothing else."""
    if isinstance(value, list):
        return [_round_float(item) for item in value]
    if isinstance(value, float):
        return round(value, 5)
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


@HOOKS.register_module()
class LegacyTextLoggerHook(LegacyLoggerHook):
    """MMCV's ``TextLoggerHook``: console lines on ``runner.logger`` and ``{timestamp}.log.json`` in work_dir.

    Args:
        by_epoch, interval, ignore_last, reset_flag: See :class:`LegacyLoggerHook`.
        interval_exp_name: Log ``Exp name: <meta['exp_name']>`` every this many iterations (and at the end
            of each epoch by epoch).
        out_dir: A local directory; after the run the files of work_dir ending in ``out_suffix`` are copied
            to ``out_dir/<basename of work_dir>``.
        out_suffix: File endings copied to ``out_dir``.
        keep_local: Keep the work_dir copies after copying them to ``out_dir``.
        file_client_args: Accepted when ``out_dir`` is set (only local paths are supported).

    MMEngine parity:
        MMCV's file, record for record; MMEngine writes ``{timestamp}/vis_data/scalars.json`` instead.
    """

    def __init__(self, by_epoch: bool = True, interval: int = 10, ignore_last: bool = True,
                 reset_flag: bool = False, interval_exp_name: int = 1000, out_dir: str | None = None,
                 out_suffix: str | tuple[str, ...] = (".log.json", ".log", ".py"), keep_local: bool = True,
                 file_client_args: dict[str, Any] | None = None) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        where = type(self).__name__
        if out_dir is None and file_client_args is not None:
            raise ConfigError("file_client_args", file_client_args, "None when out_dir is not set",
                              "set out_dir, or delete file_client_args.", where)
        if out_dir is not None and (not isinstance(out_dir, str) or "://" in out_dir):
            raise ConfigError("out_dir", out_dir, "a local directory path or None",
                              "copy the logs to remote storage after training.", where)
        self.time_sec_tot = 0.0
        self.interval_exp_name = interval_exp_name
        self.out_dir = out_dir
        self.out_suffix = out_suffix
        self.keep_local = keep_local
        self.start_iter = 0
        self.json_log_path: str | None = None

    def before_run(self, runner: Any) -> None:
        super().before_run(runner)
        work_dir = runner.work_dir
        if self.out_dir is not None and work_dir is not None:
            self.out_dir = osp.join(self.out_dir, osp.basename(work_dir.rstrip(osp.sep)))
            runner.logger.info(f"Text logs will be saved to {self.out_dir} by LocalBackend after the training "
                               "process.")
        self.start_iter = int(runner.iter)
        self.json_log_path = osp.join(work_dir, f"{runner.timestamp}.log.json") if work_dir else None
        meta = getattr(runner, "meta", None)
        if meta is not None and getattr(runner, "meta_given", True):
            self._dump_log(meta, runner)

    def _get_max_memory(self, runner: Any) -> int:
        device = getattr(runner.model, "output_device", None)
        megabytes = torch.tensor([int(torch.cuda.max_memory_allocated(device=device)) // (1024 * 1024)],
                                 dtype=torch.int, device=device)
        if runner.world_size > 1:
            import torch.distributed as dist

            dist.reduce(megabytes, 0, op=dist.ReduceOp.MAX)
        return int(megabytes.item())

    def _log_info(self, log_dict: Mapping[str, Any], runner: Any) -> None:
        meta = getattr(runner, "meta", None)
        if meta is not None and "exp_name" in meta and (
                self.every_n_iters(runner, self.interval_exp_name) or (self.by_epoch and self.end_of_epoch(runner))):
            runner.logger.info(f"Exp name: {meta['exp_name']}")
        if log_dict["mode"] == "train":
            lr = log_dict["lr"]
            lr_text = (" ".join(f"lr_{k}: {v:.3e}" for k, v in lr.items()) if isinstance(lr, Mapping)
                       else f"lr: {lr:.3e}")
            if self.by_epoch:
                line = f"Epoch [{log_dict['epoch']}][{log_dict['iter']}/{len(runner.data_loader)}]\t"
            else:
                line = f"Iter [{log_dict['iter']}/{runner.max_iters}]\t"
            line += f"{lr_text}, "
            if "time" in log_dict:
                self.time_sec_tot += log_dict["time"] * self.interval
                average = self.time_sec_tot / (runner.iter - self.start_iter + 1)
                eta = datetime.timedelta(seconds=int(average * (runner.max_iters - runner.iter - 1)))
                line += f"eta: {eta}, time: {log_dict['time']:.3f}, data_time: {log_dict['data_time']:.3f}, "
                if torch.cuda.is_available():
                    line += f"memory: {log_dict['memory']}, "
        elif self.by_epoch:
            line = f"Epoch({log_dict['mode']}) [{log_dict['epoch']}][{log_dict['iter']}]\t"
        else:
            line = f"Iter({log_dict['mode']}) [{log_dict['iter']}]\t"
        skipped = ("mode", "Epoch", "iter", "lr", "time", "data_time", "memory", "epoch")
        items = [f"{name}: {f'{value:.4f}' if isinstance(value, float) else value}"
                 for name, value in log_dict.items() if name not in skipped]
        runner.logger.info(line + ", ".join(items))

    def _dump_log(self, log_dict: Mapping[str, Any], runner: Any) -> None:
        if self.json_log_path is None or runner.rank != 0:
            return
        record = OrderedDict((key, _round_float(value)) for key, value in log_dict.items())
        with open(self.json_log_path, "a+", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=_json_default) + "\n")

    def log(self, runner: Any) -> OrderedDict[str, Any]:
        output = runner.log_buffer.output
        current = output.pop("eval_iter_num") if "eval_iter_num" in output else self.get_iter(runner, True)
        log_dict: OrderedDict[str, Any] = OrderedDict(mode=self.get_mode(runner), epoch=self.get_epoch(runner),
                                                      iter=current)
        lrs = runner.current_lr()
        log_dict["lr"] = {k: v[0] for k, v in lrs.items()} if isinstance(lrs, Mapping) else lrs[0]
        if "time" in output and torch.cuda.is_available():
            log_dict["memory"] = self._get_max_memory(runner)
        log_dict.update(output)
        self._log_info(log_dict, runner)
        self._dump_log(log_dict, runner)
        return log_dict

    def after_run(self, runner: Any) -> None:
        work_dir = runner.work_dir
        if self.out_dir is None or work_dir is None:
            return
        os.makedirs(self.out_dir, exist_ok=True)
        suffixes = (self.out_suffix,) if isinstance(self.out_suffix, str) else tuple(self.out_suffix)
        for root, _, files in os.walk(work_dir):
            for name in files:
                if not name.endswith(suffixes):
                    continue
                local = osp.join(root, name)
                target = osp.join(self.out_dir, osp.relpath(local, work_dir))
                os.makedirs(osp.dirname(target), exist_ok=True)
                shutil.copyfile(local, target)
                runner.logger.info(f"The file {local} has been uploaded to {target}.")
                if not self.keep_local:
                    os.remove(local)
                    runner.logger.info(f"{local} was removed due to the `self.keep_local=False`")


@HOOKS.register_module()
class LegacyTensorboardLoggerHook(LegacyLoggerHook):
    """MMCV's ``TensorboardLoggerHook``: scalars (and text) at step ``iter + 1`` in ``log_dir``.

    Args:
        log_dir: Event file directory; ``{work_dir}/tf_logs`` when ``None``.
        interval, ignore_last, reset_flag, by_epoch: See :class:`LegacyLoggerHook`.
    """

    def __init__(self, log_dir: str | None = None, interval: int = 10, ignore_last: bool = True,
                 reset_flag: bool = False, by_epoch: bool = True) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.log_dir = log_dir
        self.writer: Any = None

    def before_run(self, runner: Any) -> None:
        super().before_run(runner)
        if runner.rank != 0:
            return
        from torch.utils.tensorboard import SummaryWriter

        if self.log_dir is None:
            self.log_dir = osp.join(runner.work_dir or ".", "tf_logs")
        self.writer = SummaryWriter(self.log_dir)

    def log(self, runner: Any) -> None:
        if self.writer is None:
            return
        for tag, value in self.get_loggable_tags(runner, allow_text=True).items():
            if isinstance(value, str):
                self.writer.add_text(tag, value, self.get_iter(runner))
            else:
                self.writer.add_scalar(tag, value, self.get_iter(runner))

    def after_run(self, runner: Any) -> None:
        if self.writer is not None:
            self.writer.close()
