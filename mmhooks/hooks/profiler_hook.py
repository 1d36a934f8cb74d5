"""``ProfilerHook``: record the first epoch(s) or iterations of training with ``torch.profiler``."""

from __future__ import annotations

import os.path as osp
from collections.abc import Callable, Mapping
from typing import Any, Optional, Union

import torch
import torch.profiler

from mmhooks.dist import is_main_process
from mmhooks.errors import ConfigError, ConfigTypeError, check_choice
from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["ProfilerHook"]

TRACE_TYPES = ("log_trace", "tb_trace")
TraceHandler = Callable[[torch.profiler.profile], None]


def _kineto_available() -> bool:
    try:
        return bool(torch.autograd.kineto_available())  # type: ignore[attr-defined]  # torch does not re-export it
    except AttributeError:
        return False


def check_kineto() -> bool:
    """Whether torch's profiler has Kineto (MMEngine's module-level helper of that name)."""
    return _kineto_available()


@HOOKS.register_module()
class ProfilerHook(Hook):
    """Profile the start of training and hand the result to a trace handler or a Chrome trace file.

    The profiler starts in ``before_run``, steps after every training
    iteration, and stops after the first training epoch (``by_epoch=True``) or
    after ``profile_times`` iterations (``by_epoch=False``), whichever comes
    first.

    Args:
        by_epoch: Profile the first epoch, else the first ``profile_times`` iterations.
        profile_times: Iterations to profile; must be 1 when ``by_epoch``.
        activity_with_cpu: Record CPU activity.
        activity_with_cuda: Record CUDA kernels.
        schedule: Keyword arguments of ``torch.profiler.schedule`` (``wait``,
            ``warmup``, ``active``, ``repeat``, ``skip_first``).
        on_trace_ready: A callable taking the profiler; or
            ``dict(type='log_trace', **table_kwargs)`` to log
            ``key_averages().table(**table_kwargs)``; or
            ``dict(type='tb_trace', dir_name=..., worker_name=..., use_gzip=...)`` to write
            TensorBoard trace files, by default under ``runner.log_dir/tf_tracing_logs``
            (a relative ``dir_name`` is taken relative to ``runner.log_dir``).
        record_shapes: Record operator input shapes.
        profile_memory: Track tensor allocations.
        with_stack: Record source locations.
        with_flops: Estimate FLOPs of matrix multiplications and convolutions.
        json_trace_path: Also export a Chrome trace (``chrome://tracing``) to this path.

    Raises:
        ConfigError: ``profile_times < 1``, ``by_epoch`` with ``profile_times > 1``,
            a ``schedule`` or ``on_trace_ready`` of the wrong form.
        ImportError: PyTorch was built without Kineto.

    MMEngine parity:
        MMEngine requires ``torch_tb_profiler`` for ``tb_trace``; that package only
        lets TensorBoard display the files, so it is not required here. MMEngine
        prints the ``log_trace`` table; here it goes to ``runner.logger``. With
        several ranks only rank zero writes ``json_trace_path`` (MMEngine has
        every rank write the same file). In a run without training
        (``max_epochs``/``max_iters`` of 0) the profiler is not started, where
        MMEngine raises. When ``by_epoch=False`` and ``profile_times`` exceeds the
        first epoch, MMEngine stops at the epoch end and then stops the closed
        profiler a second time (running ``on_trace_ready`` twice); this hook stops once.
    """

    priority = "VERY_LOW"

    def __init__(
        self,
        *,
        by_epoch: bool = True,
        profile_times: int = 1,
        activity_with_cpu: bool = True,
        activity_with_cuda: bool = False,
        schedule: Optional[dict[str, Any]] = None,
        on_trace_ready: Union[TraceHandler, dict[str, Any], None] = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        json_trace_path: Optional[str] = None,
    ) -> None:
        if not _kineto_available():
            raise ImportError(
                "ProfilerHook: this PyTorch build has no Kineto profiler. Fix: install an official "
                "PyTorch wheel (>= 1.9), or remove ProfilerHook."
            )
        where = "ProfilerHook"
        if not isinstance(profile_times, int) or profile_times < 1:
            raise ConfigError(
                "profile_times", profile_times, "an int >= 1", "profile at least one epoch or iteration.", where
            )
        if by_epoch and profile_times > 1:
            raise ConfigError(
                "profile_times", profile_times, "1 when by_epoch=True",
                "profile one epoch, or set by_epoch=False to profile several iterations.", where,
            )
        if schedule is not None and not isinstance(schedule, Mapping):
            raise ConfigError("schedule", schedule, "a dict of torch.profiler.schedule arguments or None",
                              "write e.g. schedule=dict(wait=1, warmup=1, active=2).", where)
        if isinstance(on_trace_ready, Mapping):
            check_choice("type", on_trace_ready.get("type"), TRACE_TYPES, where=f"{where}.on_trace_ready")
        elif on_trace_ready is not None and not callable(on_trace_ready):
            raise ConfigError(
                "on_trace_ready",
                on_trace_ready,
                "a callable, dict(type='log_trace', ...), dict(type='tb_trace', ...) or None",
                "pick one of those forms.",
                where,
            )
        self.by_epoch = by_epoch
        self.profile_times = profile_times
        self.activities = [torch.profiler.ProfilerActivity.CPU] if activity_with_cpu else []
        if activity_with_cuda:
            self.activities.append(torch.profiler.ProfilerActivity.CUDA)
        try:
            self.schedule = None if schedule is None else torch.profiler.schedule(**schedule)
        except TypeError as err:
            raise ConfigTypeError("schedule", schedule, "keyword arguments of torch.profiler.schedule "
                              "(active, repeat, skip_first, wait, warmup)", f"fix the keys ({err}).", where) from None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.json_trace_path = json_trace_path
        self.profiler: Optional[torch.profiler.profile] = None
        self._closed = False

    def _trace_handler(self, runner: RunnerLike) -> Optional[TraceHandler]:
        """The ``on_trace_ready`` callable that the profiler gets, built now that ``log_dir`` is known."""
        if self.on_trace_ready is None or callable(self.on_trace_ready):
            return self.on_trace_ready
        options = dict(self.on_trace_ready)
        trace_type = options.pop("type")
        if trace_type == "log_trace":
            logger = runner.logger

            def log_table(profiler: torch.profiler.profile) -> None:
                logger.info("\n" + profiler.key_averages().table(**options))

            return log_table
        if trace_type != "tb_trace":  # the constructor checks; this catches a value assigned afterwards
            raise ValueError(f"ProfilerHook.on_trace_ready.type: got {trace_type!r}; expected one of "
                             f"{sorted(TRACE_TYPES)}. Fix: use 'log_trace' or 'tb_trace'.")
        dir_name = osp.join(runner.log_dir, options.get("dir_name", "tf_tracing_logs"))  # absolute stays absolute
        options["dir_name"] = dir_name
        runner.logger.info(f"ProfilerHook writes TensorBoard trace files to {dir_name}")
        if self.json_trace_path is not None:
            runner.logger.warning(
                "ProfilerHook: with tb_trace, prefer on_trace_ready's worker_name to json_trace_path "
                "for naming trace files."
            )
        handler: TraceHandler = torch.profiler.tensorboard_trace_handler(**options)
        return handler

    _parse_trace_config = _trace_handler  # MMEngine's name

    def _export_chrome_trace(self, runner: RunnerLike) -> None:
        """MMEngine's name: stop profiling and write ``json_trace_path`` (when set and still profiling)."""
        if self.json_trace_path is not None and not self._closed and self.profiler is not None:
            self._stop(runner)

    def before_run(self, runner: RunnerLike) -> None:
        limit = runner.max_epochs if self.by_epoch else runner.max_iters
        unit = "max_epochs" if self.by_epoch else "max_iters"
        if not limit:
            runner.logger.info("ProfilerHook: no training in this run, so nothing is profiled.")
            self._closed = True
            return
        if limit < self.profile_times:
            raise ConfigError(
                "profile_times", self.profile_times, f"at most the run's {unit} ({limit})",
                f"lower profile_times to {limit} or train longer.", "ProfilerHook",
            )
        self.profiler = torch.profiler.profile(
            activities=self.activities,
            schedule=self.schedule,
            on_trace_ready=self._trace_handler(runner),
            record_shapes=self.record_shapes,
            profile_memory=self.profile_memory,
            with_stack=self.with_stack,
            with_flops=self.with_flops,
        )
        self.profiler.__enter__()  # type: ignore[no-untyped-call]  # torch.profiler.profile.__enter__ is unannotated
        self._closed = False
        runner.logger.info("ProfilerHook: profiling started.")

    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        if self._closed or self.profiler is None:
            return
        self.profiler.step()
        if not self.by_epoch and runner.iter == self.profile_times - 1:
            self._stop(runner)

    def after_train_epoch(self, runner: RunnerLike) -> None:
        # The iteration-based loop also ends with one after_train_epoch.
        if not self._closed and self.profiler is not None:
            self._stop(runner)

    def _stop(self, runner: RunnerLike) -> None:
        """Stop profiling, which runs ``on_trace_ready``, then export the Chrome trace if asked."""
        assert self.profiler is not None
        self._closed = True
        runner.logger.info("ProfilerHook: profiling stopped; writing the trace may take a while.")
        self.profiler.__exit__(None, None, None)  # type: ignore[no-untyped-call]  # unannotated in torch
        if self.json_trace_path is not None and is_main_process():
            self.profiler.export_chrome_trace(self.json_trace_path)
