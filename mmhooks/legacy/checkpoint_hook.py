"""MMCV 1.x ``CheckpointHook`` (registered as ``LegacyCheckpointHook``): MMCV's file names and ``meta``."""

from __future__ import annotations

import os
import os.path as osp
from typing import Any

import torch

from mmhooks.errors import ConfigError
from mmhooks.legacy.hook import LegacyHook
from mmhooks.registry import HOOKS

__all__ = ["CheckpointHook", "LegacyCheckpointHook"]


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
