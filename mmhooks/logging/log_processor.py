"""``LogProcessor``: turns the message hub's scalars into MMEngine's log lines and scalar tags.

The text is byte-for-byte MMEngine's (headers, alignment, double spaces,
smoothing windows), so log parsers and eyes trained on MMEngine logs keep
working. It runs only on iterations that are logged: nothing here is
computed per training step.
"""

from __future__ import annotations

import datetime
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any, Optional

import numpy as np
import torch

from mmhooks.errors import ConfigError
from mmhooks.logging.history_buffer import HistoryBuffer
from mmhooks.registry import LOG_PROCESSORS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["LogProcessor"]

_MODES = ("test", "train", "val")
_TIME_KEYS = ("time", "data_time")
# A parsed custom_cfg entry: data_src, log_name, statistics kwargs, and the window spec to resolve per call.
_Entry = tuple[str, str, dict[str, Any], Any]


@LOG_PROCESSORS.register_module()
class LogProcessor:
    """Formats log lines and builds the scalar tags that LoggerHook writes.

    Args:
        window_size: Smoothing window (in logged values) for keys that match ``mean_pattern``.
        by_epoch: ``Epoch(...)`` headers with per-epoch indices; ``False`` for ``Iter(...)`` headers.
            Independent of the train loop: iteration-based training wants ``False``.
        custom_cfg: Extra statistics, each ``dict(data_src=, log_name=, method_name=, window_size=)``;
            ``window_size`` is an int, ``'epoch'``, ``'global'`` or absent (whole history).
        num_digits: Digits after the point for floats (``e`` notation for learning rates).
        log_with_hierarchy: Keep the ``train/``, ``val/`` prefixes in the tags sent to the visualizer.
        mean_pattern: Keys matching this regular expression are shown as windowed means;
            the others as their latest value.

    Raises:
        ConfigError: for a malformed ``custom_cfg`` entry, a repeated ``log_name``, an unknown
            ``method_name``, or ``window_size='epoch'`` with ``by_epoch=False``.

    MMEngine parity:
        MMEngine checks ``custom_cfg`` with ``assert`` and reports a bad ``window_size`` or
        ``method_name`` only when the first line is logged; mmhooks raises at construction.
        MUSA memory is not reported.

    Example:
        >>> LogProcessor(by_epoch=False, custom_cfg=[dict(data_src="loss", method_name="max")]).custom_cfg
        [{'data_src': 'loss', 'method_name': 'max'}]
    """

    def __init__(
        self,
        window_size: int = 10,
        by_epoch: bool = True,
        custom_cfg: Optional[Sequence[Mapping[str, Any]]] = None,
        num_digits: int = 4,
        log_with_hierarchy: bool = False,
        mean_pattern: str = r".*(loss|time|data_time|grad_norm).*",
    ) -> None:
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.custom_cfg: list[dict[str, Any]] = [dict(cfg) for cfg in custom_cfg] if custom_cfg else []
        self.num_digits = num_digits
        self.log_with_hierarchy = log_with_hierarchy
        self.mean_pattern = re.compile(mean_pattern)
        self._entries = self._parse_custom_cfg(self.custom_cfg)

    # ------------------------------------------------------------ configuration
    def _parse_custom_cfg(self, custom_cfg: list[dict[str, Any]]) -> list[_Entry]:
        entries: list[_Entry] = []
        seen: set[str] = set()
        for index, cfg in enumerate(custom_cfg):
            where = f"custom_cfg[{index}]"
            if "data_src" not in cfg:
                raise ConfigError(
                    f"{where}.data_src", None, "the message hub key to summarise", "add data_src='loss' (for example).",
                    "LogProcessor",
                )
            kwargs = {k: v for k, v in cfg.items() if k not in ("data_src", "log_name")}
            data_src = cfg["data_src"]
            log_name = cfg.get("log_name", data_src)
            if log_name in seen:
                raise ConfigError(
                    f"{where}.log_name", log_name, "a log_name used by no other entry",
                    "give each entry its own log_name (it defaults to data_src).", "LogProcessor",
                )
            seen.add(log_name)
            method = kwargs.get("method_name")
            methods = sorted(HistoryBuffer._statistics_methods)
            if method not in methods:
                raise ConfigError(
                    f"{where}.method_name", method, f"one of {methods}",
                    "pick one, or register yours with @HistoryBuffer.register_statistics.", "LogProcessor",
                )
            window = kwargs.get("window_size")
            if not (window is None or isinstance(window, int) or window in ("epoch", "global")):
                raise ConfigError(
                    f"{where}.window_size", window, "an int, 'epoch', 'global' or None", "use one of those.",
                    "LogProcessor",
                )
            if window == "epoch" and not self.by_epoch:
                raise ConfigError(
                    f"{where}.window_size", window, "an int, 'global' or None when by_epoch=False",
                    "use 'global' or an int, or set by_epoch=True.", "LogProcessor",
                )
            entries.append((data_src, log_name, kwargs, window))
        return entries

    @staticmethod
    def _resolve_windows(entries: list[_Entry], runner: RunnerLike, batch_idx: int) -> list[tuple[str, str, dict[str, Any]]]:
        """Statistics kwargs with ``'epoch'``/``'global'`` turned into this call's window lengths."""
        resolved = []
        for data_src, log_name, kwargs, window in entries:
            if window == "epoch":
                kwargs = {**kwargs, "window_size": batch_idx + 1}
            elif window == "global":
                kwargs = {**kwargs, "window_size": runner.iter + 1}
            resolved.append((data_src, log_name, kwargs))
        return resolved

    # -------------------------------------------------------------- iterations
    def get_log_after_iter(self, runner: RunnerLike, batch_idx: int, mode: str) -> tuple[dict[str, Any], str]:
        """The scalar tag and text line of a logged train/val/test iteration.

        Args:
            runner: Needs ``message_hub``, ``iter``, ``epoch``, ``max_epochs``, ``max_iters``,
                ``_train_loop`` and the current loop's ``dataloader``.
            batch_idx: Index of the batch in the current loop.
            mode: ``"train"``, ``"val"`` or ``"test"``.
        """
        _check_mode(mode, _MODES)
        entries = self._resolve_windows(self._entries, runner, batch_idx) if self._entries else []
        log_tag = self._collect_scalars(entries, runner, mode)
        tag = self._collect_scalars(entries, runner, mode, True) if self.log_with_hierarchy else OrderedDict(log_tag)

        lr_items = []
        for key, value in tag.items():
            if key.endswith("lr"):
                short = _remove_prefix(key, f"{mode}/")
                log_tag.pop(short, None)
                lr_items.append(f"{short}: {value:.{self.num_digits}e}")
        has_train_loop = _has_train_loop(runner)

        if self.by_epoch:
            dataloader_len = _dataloader_len(runner, mode)
            iter_str = str(batch_idx + 1).rjust(len(str(dataloader_len)))
            if mode == "test":
                log_str = f"Epoch({mode}) [{iter_str}/{dataloader_len}]  "
            else:
                epoch = self._display_epoch(runner, mode, has_train_loop)
                epoch_str = f"[{epoch}]"
                if has_train_loop:
                    epoch_str = epoch_str.rjust(len(str(runner.max_epochs)) + 3)
                tag["epoch"] = epoch
                log_str = f"Epoch({mode}){epoch_str}[{iter_str}/{dataloader_len}]  "
        elif mode == "train":
            iter_str = str(runner.iter + 1).rjust(len(str(runner.max_iters)))
            log_str = f"Iter({mode}) [{iter_str}/{runner.max_iters}]  "
        else:
            dataloader_len = _dataloader_len(runner, mode)
            iter_str = str(batch_idx + 1).rjust(len(str(dataloader_len)))
            log_str = f"Iter({mode}) [{iter_str}/{dataloader_len}]  "

        tag["iter"] = runner.iter + 1 if has_train_loop else 0
        log_str += " ".join(lr_items) + "  "

        runtime_info = runner.message_hub.runtime_info
        if "time" in log_tag and "data_time" in log_tag and "eta" in runtime_info:
            eta = datetime.timedelta(seconds=int(runtime_info["eta"]))
            digits = self.num_digits
            log_str += (
                f"eta: {eta}  time: {log_tag.pop('time'):.{digits}f}  "
                f"data_time: {log_tag.pop('data_time'):.{digits}f}  "
            )

        if torch.cuda.is_available():
            memory = _max_memory_mb(runner)
            log_str += f"memory: {memory}  "
            tag["memory"] = memory

        if mode in ("train", "val"):
            items = [
                self._format_item(name, value)
                for name, value in log_tag.items()
                if mode == "train" or name.startswith("val/loss")
            ]
            log_str += "  ".join(items)
        return tag, log_str

    # ------------------------------------------------------------------ epochs
    def get_log_after_epoch(
        self, runner: RunnerLike, batch_idx: int, mode: str, with_non_scalar: bool = False
    ) -> tuple[dict[str, Any], str]:
        """The tag and text line that summarise a val/test epoch (metrics, then times).

        Args:
            runner: As for :meth:`get_log_after_iter`.
            batch_idx: LoggerHook passes the dataloader length; the ``'epoch'`` window is ``batch_idx + 1``.
            mode: ``"val"`` or ``"test"``.
            with_non_scalar: Also return non-scalar metrics (arrays) found in the runtime info.
        """
        _check_mode(mode, ("test", "val"))
        dataloader_len = _dataloader_len(runner, mode)
        if not self.by_epoch:
            log_str = f"Iter({mode}) [{dataloader_len}/{dataloader_len}]  "
        elif mode == "val":
            epoch = self._display_epoch(runner, mode, _has_train_loop(runner))
            log_str = f"Epoch({mode}) [{epoch}][{dataloader_len}/{dataloader_len}]  "
        else:
            log_str = f"Epoch({mode}) [{dataloader_len}/{dataloader_len}]  "

        entries = list(self._entries)
        custom_keys = {_remove_prefix(data_src, f"{mode}/") for data_src, _, _, _ in entries}
        for key in _TIME_KEYS:
            if key not in custom_keys:
                entries.append((key, key, {"method_name": "mean"}, "epoch"))
        resolved = self._resolve_windows(entries, runner, batch_idx)
        collected = self._collect_scalars(resolved, runner, mode, self.log_with_hierarchy)
        non_scalars = self._collect_non_scalars(runner, mode)

        tag: OrderedDict[str, Any] = OrderedDict()
        times: OrderedDict[str, Any] = OrderedDict()
        time_names = (*_TIME_KEYS, f"{mode}/time", f"{mode}/data_time")
        for key, value in collected.items():
            (times if key in time_names else tag)[key] = value

        items = [self._format_item(k, v) for k, v in chain(tag.items(), non_scalars.items(), times.items())]
        log_str += "  " + "  ".join(items)
        if with_non_scalar:
            tag.update(non_scalars)
        tag.update(times)
        return tag, log_str

    # ---------------------------------------------------------------- helpers
    def _format_item(self, name: str, value: Any) -> str:
        if isinstance(value, float):
            value = f"{value:.{self.num_digits}f}"
        elif isinstance(value, (torch.Tensor, np.ndarray)):
            value = f"\n{value}\n"
        return f"{name}: {value}"

    def _collect_scalars(
        self, entries: list[tuple[str, str, dict[str, Any]]], runner: RunnerLike, mode: str, reserve_prefix: bool = False
    ) -> OrderedDict[str, Any]:
        """``{name: statistic}`` for every hub scalar whose key starts with ``mode``, then the custom entries."""
        prefix = f"{mode}/"
        buffers: dict[str, HistoryBuffer] = {}
        for full_key, buffer in runner.message_hub.log_scalars.items():
            if full_key.startswith(mode):
                buffers[full_key if reserve_prefix else _remove_prefix(full_key, prefix)] = buffer
        tag: OrderedDict[str, Any] = OrderedDict()
        search = self.mean_pattern.search
        for key, buffer in buffers.items():
            tag[key] = buffer.mean(self.window_size) if search(key) is not None else buffer.current()
        for data_src, log_name, kwargs in entries:
            if reserve_prefix:
                data_src, log_name = prefix + data_src, prefix + log_name
            buffer = buffers.get(data_src)
            if buffer is not None:
                tag[log_name] = buffer.statistics(**kwargs)
        return tag

    def _collect_non_scalars(self, runner: RunnerLike, mode: str) -> OrderedDict[str, Any]:
        prefix = f"{mode}/"
        return OrderedDict(
            (key if self.log_with_hierarchy else _remove_prefix(key, prefix), value)
            for key, value in runner.message_hub.runtime_info.items()
            if key.startswith(mode)
        )

    @staticmethod
    def _display_epoch(runner: RunnerLike, mode: str, has_train_loop: bool) -> int:
        if mode == "train":
            return int(runner.epoch) + 1
        return int(runner.epoch) if has_train_loop else 0


def _check_mode(mode: str, allowed: tuple[str, ...]) -> None:
    if mode not in allowed:
        raise ValueError(f"LogProcessor.mode: got {mode!r}; expected one of {sorted(allowed)}. Fix: pass one of them.")


def _remove_prefix(key: str, prefix: str) -> str:
    return key[len(prefix) :] if key.startswith(prefix) else key


def _has_train_loop(runner: RunnerLike) -> bool:
    """Whether the runner has a built train loop (MMEngine looks at the raw ``_train_loop``)."""
    loop = runner._train_loop
    return not (loop is None or isinstance(loop, dict))


def _dataloader_len(runner: RunnerLike, mode: str) -> int:
    loop = {"train": "train_loop", "val": "val_loop", "test": "test_loop"}[mode]
    return len(getattr(runner, loop).dataloader)


def _max_memory_mb(runner: RunnerLike) -> int:
    """Peak CUDA memory in MiB since the last call; resets the peak, as MMEngine does."""
    device = getattr(runner.model, "output_device", None)
    memory = torch.cuda.max_memory_allocated(device=device) // (1024 * 1024)
    torch.cuda.reset_peak_memory_stats()
    return int(memory)
