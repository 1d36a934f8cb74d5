"""``LoggerHook``: prints MMEngine's log lines and sends the scalars to the visualizer.

Formatting is done by ``runner.log_processor`` and only on logged
iterations. Train scalars go to the visualizer at step ``iter + 1``;
validation scalars at the epoch (or iteration) they belong to; test results
to ``{log_dir}/{timestamp}.json``.
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch

from mmhooks.errors import ConfigError, UnsupportedConfigError
from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["LoggerHook"]

log = logging.getLogger(__name__)

SUFFIX_TYPE = Union[Sequence[str], str]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@HOOKS.register_module()
class LoggerHook(Hook):
    """Log training, validation and test progress in MMEngine's format.

    Args:
        interval: Log every ``interval`` iterations (counted per epoch in epoch-based training).
        ignore_last: Skip the last, partial interval of an epoch (it is logged anyway when the
            epoch is not longer than ``interval``).
        interval_exp_name: Print ``Exp name: ...`` every ``interval_exp_name`` iterations and at the
            end of each epoch.
        out_dir: A local directory the log files are copied to after the run
            (``out_dir/<work_dir name>/...``).
        out_suffix: File name endings that are copied to ``out_dir``.
        keep_local: Keep the local copies of the files copied to ``out_dir``.
        file_client_args: Deprecated; only allowed with ``out_dir``.
        log_metric_by_epoch: Step of validation scalars: the epoch (``True``) or the iteration.
        backend_args: Accepted for MMEngine compatibility (local paths ignore them).

    Raises:
        ConfigError: for an invalid argument.
        UnsupportedConfigError: for an ``out_dir`` that is not a local path (``s3://...``).

    MMEngine parity:
        ``out_dir`` must be a local path: remote storage backends are not bundled.
        The ``out_suffix`` default is MMEngine 0.10.7's code default ``('.json', '.log', '.py', 'yaml')``.
    """

    priority = "BELOW_NORMAL"

    def __init__(
        self,
        interval: int = 10,
        ignore_last: bool = True,
        interval_exp_name: int = 1000,
        out_dir: Optional[Union[str, Path]] = None,
        out_suffix: SUFFIX_TYPE = (".json", ".log", ".py", "yaml"),
        keep_local: bool = True,
        file_client_args: Optional[dict[str, Any]] = None,
        log_metric_by_epoch: bool = True,
        backend_args: Optional[dict[str, Any]] = None,
    ) -> None:
        where = "LoggerHook"
        if not _is_int(interval) or interval <= 0:
            raise ConfigError("interval", interval, "an int > 0", "set interval=10 (for example).", where)
        if not isinstance(ignore_last, bool):
            raise ConfigError("ignore_last", ignore_last, "True or False", "use a bool.", where)
        if not _is_int(interval_exp_name) or interval_exp_name <= 0:
            raise ConfigError("interval_exp_name", interval_exp_name, "an int > 0", "set interval_exp_name=1000.", where)
        if out_dir is not None and not isinstance(out_dir, (str, Path)):
            raise ConfigError("out_dir", out_dir, "a str, a Path or None", "pass a directory path.", where)
        if out_dir is not None and "://" in str(out_dir):
            raise UnsupportedConfigError(
                "out_dir", str(out_dir), "a local directory", "copy the files from runner.log_dir after the run "
                "(remote storage backends are not bundled).", where,
            )
        if not isinstance(keep_local, bool):
            raise ConfigError("keep_local", keep_local, "True or False", "use a bool.", where)
        if file_client_args is not None:
            if out_dir is None:
                raise ConfigError(
                    "file_client_args", file_client_args, "None when out_dir is not set", "remove file_client_args.",
                    where,
                )
            if backend_args is not None:
                raise ConfigError(
                    "file_client_args", file_client_args, "None when backend_args is set",
                    "keep only backend_args (file_client_args is deprecated).", where,
                )
            log.warning("LoggerHook.file_client_args is deprecated; use backend_args instead.")
        if not (isinstance(out_suffix, str) or (
            isinstance(out_suffix, Sequence) and all(isinstance(s, str) for s in out_suffix)
        )):
            raise ConfigError("out_suffix", out_suffix, "a str or a sequence of str", "e.g. ('.json', '.log').", where)
        self.interval = interval
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.out_dir: Optional[str] = str(out_dir) if out_dir is not None else None
        self.out_suffix = out_suffix
        self.keep_local = keep_local
        self.file_client_args = file_client_args
        self.backend_args = backend_args
        self.log_metric_by_epoch = log_metric_by_epoch
        self.json_log_path: Optional[str] = None

    def before_run(self, runner: RunnerLike) -> None:
        if self.out_dir is not None:
            basename = os.path.basename(str(runner.work_dir).rstrip(os.sep))
            self.out_dir = os.path.join(self.out_dir, basename)
            runner.logger.info(f"Text logs will be saved to {self.out_dir} after the training process.")
        self.json_log_path = f"{runner.timestamp}.json"

    # ------------------------------------------------------------------- train
    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        dataloader = runner.train_dataloader
        last_of_epoch = self.end_of_epoch(dataloader, batch_idx)
        if self.every_n_train_iters(runner, self.interval_exp_name) or last_of_epoch:
            runner.logger.info(f"Exp name: {runner.experiment_name}")
        if not self.every_n_inner_iters(batch_idx, self.interval) and not (
            last_of_epoch and (not self.ignore_last or len(dataloader) <= self.interval)
        ):
            return
        tag, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, "train")
        runner.logger.info(log_str)
        runner.visualizer.add_scalars(tag, step=runner.iter + 1, file_path=self.json_log_path)

    # ---------------------------------------------------------------- val/test
    def after_val_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[Sequence[Any]] = None
    ) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, "val")
            runner.logger.info(log_str)

    def after_test_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[Sequence[Any]] = None
    ) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, "test")
            runner.logger.info(log_str)

    def after_val_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(runner, len(runner.val_dataloader), "val")
        runner.logger.info(log_str)
        train_loop = runner._train_loop
        if train_loop is None or isinstance(train_loop, dict):
            step = 0
        else:
            step = runner.epoch if self.log_metric_by_epoch else runner.iter
        runner.visualizer.add_scalars(tag, step=step, file_path=self.json_log_path)

    def after_test_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), "test", with_non_scalar=True
        )
        runner.logger.info(log_str)
        path = os.path.join(runner.log_dir, str(self.json_log_path))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as file:
            json.dump(self._process_tags(tag), file, default=_json_number)

    @staticmethod
    def _process_tags(tags: dict[str, Any]) -> OrderedDict[str, Any]:
        """Tags as JSON values: arrays and tensors become lists, unknown objects ``None``."""

        def convert(value: Any) -> Any:
            if isinstance(value, (list, tuple)):
                return [convert(item) for item in value]
            if isinstance(value, dict):
                return {key: convert(item) for key, item in value.items()}
            if isinstance(value, (str, int, float, bool)) or value is None:
                return value
            if isinstance(value, (torch.Tensor, np.ndarray)):
                return value.tolist()
            return None

        return OrderedDict(convert(tags))

    # --------------------------------------------------------------------- run
    def after_run(self, runner: RunnerLike) -> None:
        runner.visualizer.close()
        if self.out_dir is None:
            return
        log_dir = runner._log_dir
        suffixes = (self.out_suffix,) if isinstance(self.out_suffix, str) else tuple(self.out_suffix)
        copied = []
        for relative in _files_under(log_dir, suffixes):
            local_path = os.path.join(log_dir, relative)
            out_path = os.path.join(self.out_dir, relative)
            os.makedirs(os.path.dirname(out_path), exist_ok=True)
            with open(local_path) as source, open(out_path, "w") as target:
                target.write(source.read())
            copied.append(local_path)
            runner.logger.info(f"The file {local_path} has been uploaded to {out_path}.")
            if not self.keep_local:
                runner.logger.info(
                    f"{local_path} was removed due to the `self.keep_local=False`. You can check the running logs "
                    f"in {out_path}"
                )
        if not self.keep_local:
            for handler in runner.logger.handlers:
                if isinstance(handler, logging.FileHandler):
                    handler.close()
            for path in copied:
                os.remove(path)


def _files_under(root: str, suffixes: tuple[str, ...]) -> list[str]:
    """Paths relative to ``root`` of files not named ``.*`` whose path ends with one of ``suffixes``."""
    found = []
    for directory, _, files in os.walk(root):
        for name in files:
            if name.startswith("."):
                continue
            relative = os.path.relpath(os.path.join(directory, name), root)
            if relative.endswith(suffixes):
                found.append(relative)
    return found


def _json_number(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} cannot be written to the test results JSON")
