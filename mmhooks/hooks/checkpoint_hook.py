"""``CheckpointHook``: periodic, last and best checkpoints with MMEngine's file names and resume records."""

from __future__ import annotations

import hashlib
import os
import pickle
import logging
import shutil
from collections import deque
from collections.abc import Callable, Sequence
from math import inf
from pathlib import Path
from typing import Any, Optional, Union, cast

from mmhooks.dist import is_main_process, master_only
from mmhooks.errors import ConfigError, UnsupportedConfigError, closest
from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.hooks.metric_rule import DEFAULT_GREATER_KEYS, DEFAULT_LESS_KEYS, infer_rule, rule_map
from mmhooks.registry import HOOKS
from mmhooks.runner.checkpoint import atomic_save, load_checkpoint_file, write_last_checkpoint
from mmhooks.runner.protocol import RunnerLike

__all__ = ["CheckpointHook"]

log = logging.getLogger(__name__)

_LOCAL_BACKENDS = {None, "local", "disk"}


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save checkpoints every ``interval`` epochs or iterations, at the end, and on new best metrics.

    Files are MMEngine's: ``epoch_{n}.pth`` / ``iter_{n}.pth`` (``n`` counts
    completed epochs or iterations), ``best_{key}_{epoch|iter}_{n}.pth`` and
    ``work_dir/last_checkpoint`` (the absolute path of the newest regular
    checkpoint). The checkpoint content comes from ``runner.save_checkpoint``.

    Args:
        interval: Save period in epochs (``by_epoch``) or iterations; ``<= 0`` never saves periodically.
        by_epoch: Count ``interval`` and ``save_begin`` in epochs, else in iterations.
        save_optimizer: Include the optimizer state (needed to resume).
        save_param_scheduler: Include the parameter schedulers' state (needed to resume).
        out_dir: Root directory; checkpoints go to ``out_dir/<basename of work_dir>``.
            By default they go to ``work_dir``.
        max_keep_ckpts: Keep only this many regular checkpoints (the oldest
            is deleted once a new one is written); ``<= 0`` keeps all.
        save_last: Always save after the last epoch or iteration.
        save_best: Metric key(s) to track, or ``"auto"`` for the first key
            the evaluator returns.
        rule: ``"greater"`` or ``"less"`` (or one per key); inferred from the key
            name when omitted (``acc``, ``mAP``... are greater, ``loss`` is less).
        greater_keys: Replace the key fragments that imply ``"greater"`` (a str becomes a 1-tuple).
        less_keys: Replace the key fragments that imply ``"less"`` (a str becomes a 1-tuple).
        file_client_args: Deprecated MMEngine file-client settings; only local disks are supported.
        filename_tmpl: Name template with one ``{}`` for the count.
        backend_args: MMEngine storage-backend settings; only local disks are supported.
        published_keys: After training, also write ``<name>-<sha256[:8]>.pth``
            copies of the last and best checkpoints holding only these keys.
        save_begin: First epoch or iteration (1-based) that may be saved periodically.
        **kwargs: Forwarded to ``runner.save_checkpoint``.

    State:
        In the message hub's runtime info, as MMEngine: ``best_score`` and
        ``best_ckpt`` (``best_score_{key}``/``best_ckpt_{key}`` for several keys),
        ``keep_ckpt_ids`` and ``last_ckpt``.

    MMEngine parity:
        * ``max_keep_ckpts`` keeps exactly MMEngine's files, across resumes
          too: ``keep_ckpt_ids`` travels in the message hub, so the file a run
          resumed from is deleted in its turn. The oldest checkpoint is deleted
          once the new one and ``last_checkpoint`` are written (MMEngine deletes
          it first), so a crash during a save never leaves the run without a
          checkpoint to resume from.
        * ``last_checkpoint`` is written atomically and holds an absolute path.
        * The output directory is created and checked for write access in
          ``before_train``; a metric named in ``save_best`` that the evaluator
          does not return raises :class:`ConfigError` listing the available keys.
        * Remote storage backends (``backend_args``/``file_client_args`` naming
          a non-local backend, or an ``out_dir`` URI) raise
          :class:`UnsupportedConfigError`.
    """

    priority = "VERY_LOW"

    # Class attributes, as in MMEngine, so downstream projects can extend them.
    rule_map: dict[str, Callable[[Any, Any], Any]] = rule_map
    init_value_map: dict[str, float] = {"greater": -inf, "less": inf}
    _default_greater_keys = DEFAULT_GREATER_KEYS
    _default_less_keys = DEFAULT_LESS_KEYS

    #: Key path used in run-time error messages (the hook's usual place in a config).
    config_path = "default_hooks.checkpoint"

    def __init__(
        self,
        interval: int = -1,
        by_epoch: bool = True,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        out_dir: Optional[Union[str, Path]] = None,
        max_keep_ckpts: int = -1,
        save_last: bool = True,
        save_best: Union[str, list[str], None] = None,
        rule: Union[str, list[str], None] = None,
        greater_keys: Optional[Sequence[str]] = None,
        less_keys: Optional[Sequence[str]] = None,
        file_client_args: Optional[dict[str, Any]] = None,
        filename_tmpl: Optional[str] = None,
        backend_args: Optional[dict[str, Any]] = None,
        published_keys: Union[str, list[str], None] = None,
        save_begin: int = 0,
        **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self._out_dir_arg = None if out_dir is None else os.fspath(out_dir)
        self.out_dir: Optional[str] = self._out_dir_arg
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.args = kwargs

        if file_client_args is not None:
            log.warning("%s.file_client_args is deprecated (as in MMEngine); use backend_args instead.", where)
            if backend_args is not None:
                raise ConfigError(
                    "file_client_args",
                    file_client_args,
                    "None when backend_args is set",
                    "keep only backend_args.",
                    where,
                )
        _check_local_storage("file_client_args", file_client_args, where)
        _check_local_storage("backend_args", backend_args, where)
        if self._out_dir_arg is not None and "://" in self._out_dir_arg:
            raise UnsupportedConfigError(
                "out_dir",
                self._out_dir_arg,
                "a local directory",
                "write checkpoints to a local directory and copy them to remote storage afterwards.",
                where,
            )
        self.file_client_args = file_client_args
        self.backend_args = backend_args
        self.filename_tmpl = filename_tmpl if filename_tmpl is not None else (
            "epoch_{}.pth" if by_epoch else "iter_{}.pth"
        )

        self.save_best = _parse_save_best(save_best, where)
        rules = _parse_rule(rule, self.save_best, where)
        self.greater_keys = _parse_keys("greater_keys", greater_keys, self._default_greater_keys, where)
        self.less_keys = _parse_keys("less_keys", less_keys, self._default_less_keys, where)
        self.is_better_than: dict[str, Callable[[Any, Any], Any]] = {}
        self.rules: list[Optional[str]] = []
        self.key_indicators: list[str] = []
        if self.save_best is not None:
            self._init_rule(rules, self.save_best)
            if len(self.key_indicators) == 1:
                self.best_ckpt_path: Optional[str] = None
            else:
                self.best_ckpt_path_dict: dict[str, Optional[str]] = {}

        self.published_keys = _parse_published_keys(published_keys, where)
        self.last_ckpt: Optional[str] = None
        if save_begin < 0:
            raise ConfigError(
                "save_begin", save_begin, "an int >= 0", "use save_begin=0 to save from the start.", where
            )
        self.save_begin = save_begin
        self.keep_ckpt_ids: deque[int] = deque()

    # ----------------------------------------------------------------- rules
    def _init_rule(self, rules: Sequence[Optional[str]], key_indicators: Sequence[str]) -> None:
        """Resolve one comparison rule per key, inferring missing ones from the key name (case-insensitive)."""
        if len(rules) == 1:
            rules = list(rules) * len(key_indicators)
        resolved: list[Optional[str]] = []
        for rule, key in zip(rules, key_indicators):
            if rule is not None and rule not in self.rule_map:
                choices = sorted(self.rule_map)
                raise ConfigError(
                    "rule", rule, f"one of {choices} or None", f"pick one of {choices}.", type(self).__name__
                )
            if rule is None and key != "auto":
                rule = self._infer_rule(key)
            if rule is not None:
                self.is_better_than[key] = self.rule_map[rule]
            resolved.append(rule)
        self.rules = resolved
        self.key_indicators = list(key_indicators)

    def _infer_rule(self, key: str) -> str:
        rule = infer_rule(key, self.greater_keys, self.less_keys)
        if rule is not None:
            return rule
        raise ConfigError(
            "rule",
            None,
            f"'greater' or 'less': it cannot be inferred for save_best key {key!r}",
            "set rule='greater' or rule='less' (or extend greater_keys/less_keys).",
            type(self).__name__,
        )

    # ---------------------------------------------------------------- set-up
    def before_train(self, runner: RunnerLike) -> None:
        """Resolve and check the output directory, and restore best and kept checkpoints after a resume."""
        work_dir = os.fspath(runner.work_dir)
        out_dir = work_dir if self._out_dir_arg is None else self._out_dir_arg
        if out_dir != work_dir:
            out_dir = os.path.join(out_dir, os.path.basename(work_dir.rstrip(os.sep)))
        self.out_dir = out_dir
        self._set_file_backends(out_dir)
        if is_main_process():
            self._check_writable(out_dir)
        runner.logger.info(f"Checkpoints will be saved to {out_dir}.")

        hub = runner.message_hub
        if self.save_best is not None:
            if len(self.key_indicators) == 1:
                self.best_ckpt_path = hub.get_info("best_ckpt") if "best_ckpt" in hub.runtime_info else None
            else:
                for key in self.key_indicators:
                    info_key = f"best_ckpt_{key}"
                    self.best_ckpt_path_dict[key] = hub.get_info(info_key) if info_key in hub.runtime_info else None

        if self.max_keep_ckpts > 0:
            keep_ckpt_ids: list[int] = []
            if "keep_ckpt_ids" in hub.runtime_info:
                keep_ckpt_ids = list(hub.get_info("keep_ckpt_ids"))
                if len(keep_ckpt_ids) > self.max_keep_ckpts:  # max_keep_ckpts shrank since the checkpoint
                    while len(keep_ckpt_ids) > self.max_keep_ckpts:
                        step = keep_ckpt_ids.pop(0)
                        if is_main_process():
                            self._remove_checkpoint(self._join(self.filename_tmpl.format(step)))
                    hub.update_info("keep_ckpt_ids", list(keep_ckpt_ids))  # MMEngine trims the hub's list in place
            self.keep_ckpt_ids = deque(keep_ckpt_ids, self.max_keep_ckpts)

    def _set_file_backends(self, out_dir: str) -> None:
        """MMEngine's ``file_client`` and ``file_backend`` attributes (local disk only: see ``_check_local_storage``)."""
        from mmhooks.fileio import FileClient, get_file_backend

        self.file_client = FileClient.infer_client(self.file_client_args, out_dir)
        self.file_backend: Any = self.file_client if self.file_client_args is not None else \
            get_file_backend(out_dir, backend_args=self.backend_args)

    def _check_writable(self, out_dir: str) -> None:
        key = "out_dir" if self._out_dir_arg is not None else "work_dir"
        fix = "choose a directory you can write to, or fix its permissions."
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                key, out_dir, f"a directory this process can create ({err.strerror or err})", fix, self.config_path
            ) from err
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise ConfigError(key, out_dir, "a writable directory for checkpoints", fix, self.config_path)

    # -------------------------------------------------------- periodic saves
    def after_train_epoch(self, runner: RunnerLike) -> None:
        """Save every ``interval`` epochs from ``save_begin``, and after the last epoch if ``save_last``."""
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval, self.save_begin) or (
            self.save_last and self.is_last_train_epoch(runner)
        ):
            runner.logger.info(f"Saving checkpoint at {runner.epoch + 1} epochs")
            self._save_checkpoint(runner)

    def after_train_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[dict[str, Any]] = None
    ) -> None:
        """Save every ``interval`` iterations from ``save_begin``, and after the last one if ``save_last``."""
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval, self.save_begin) or (
            self.save_last and self.is_last_train_iter(runner)
        ):
            runner.logger.info(f"Saving checkpoint at {runner.iter + 1} iterations")
            self._save_checkpoint(runner)

    def _save_checkpoint(self, runner: RunnerLike) -> None:
        if self.by_epoch:
            step = runner.epoch + 1
            meta = dict(epoch=step, iter=runner.iter)
        else:
            step = runner.iter + 1
            meta = dict(epoch=runner.epoch, iter=step)
        self._save_checkpoint_with_step(runner, step, meta)

    def _save_checkpoint_with_step(self, runner: RunnerLike, step: int, meta: dict[str, Any]) -> None:
        """Write the regular checkpoint ``filename_tmpl.format(step)`` and record it in the message hub.

        The hub is updated before saving, so the file lists itself in
        ``keep_ckpt_ids`` and ``last_ckpt`` (as in MMEngine); the checkpoint
        that drops out of ``keep_ckpt_ids`` is deleted after the save.
        """
        hub = runner.message_hub
        expired: Optional[int] = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                expired = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self._join(filename)
        hub.update_info("last_ckpt", self.last_ckpt)
        runner.save_checkpoint(
            self._resolved_out_dir(),
            filename,
            file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if is_main_process():
            write_last_checkpoint(runner.work_dir, self.last_ckpt)
            if expired is not None:
                self._remove_checkpoint(self._join(self.filename_tmpl.format(expired)))

    # ------------------------------------------------------------ best saves
    def after_val_epoch(self, runner: RunnerLike, metrics: Optional[dict[str, float]] = None) -> None:
        """Save a best checkpoint for every tracked metric that improved."""
        if not metrics:
            runner.logger.warning(
                "Since `metrics` is an empty dict, the behavior to save the best checkpoint will be skipped "
                "in this evaluation."
            )
            return
        self._save_best_checkpoint(runner, metrics)

    def _save_best_checkpoint(self, runner: RunnerLike, metrics: dict[str, Any]) -> None:
        if not self.save_best:
            return
        unit, count = ("epoch", runner.epoch) if self.by_epoch else ("iter", runner.iter)
        ckpt_filename = self.filename_tmpl.format(count)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if "auto" in self.key_indicators:
            self._init_rule(self.rules, [next(iter(metrics))])

        hub = runner.message_hub
        single = len(self.key_indicators) == 1
        best_updated = False
        for key, rule in zip(self.key_indicators, self.rules):
            score = self._score(metrics, key)
            score_key = "best_score" if single else f"best_score_{key}"
            ckpt_key = "best_ckpt" if single else f"best_ckpt_{key}"
            previous = self.best_ckpt_path if single else self.best_ckpt_path_dict.get(key)
            best_score = hub.get_info(score_key) if score_key in hub.runtime_info else self.init_value_map[cast(str, rule)]
            if score is None or not self.is_better_than[key](score, best_score):
                continue
            best_updated = True
            hub.update_info(score_key, score)

            best_name = f"best_{key}_{ckpt_filename}".replace("/", "_")
            best_path = self._join(best_name)
            if single:
                self.best_ckpt_path = best_path
            else:
                self.best_ckpt_path_dict[key] = best_path
            if previous and is_main_process() and self._remove_checkpoint(previous):
                runner.logger.info(f"The previous best checkpoint {previous} is removed")
            hub.update_info(ckpt_key, best_path)
            runner.save_checkpoint(
                self._resolved_out_dir(),
                filename=best_name,
                file_client_args=self.file_client_args,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=meta,
                by_epoch=False,
                backend_args=self.backend_args,
            )
            runner.logger.info(
                f"The best checkpoint with {score:0.4f} {key} at {count} {unit} is saved to {best_name}."
            )

        # Re-save the regular checkpoint of this point so that its message hub
        # records the new best (MMEngine does this even off the save interval).
        if best_updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, count, meta)

    def _score(self, metrics: dict[str, Any], key: str) -> Any:
        if key in metrics:
            return metrics[key]
        available = sorted(metrics)
        near = closest(key, available)
        fix = f"did you mean {near!r}?" if near else f"set save_best to one of {available}, or to 'auto'."
        raise ConfigError(
            "save_best", key, f"a metric key the evaluator returns ({', '.join(available)})", fix, self.config_path
        )

    # ------------------------------------------------------------ publishing
    def after_train(self, runner: RunnerLike) -> None:
        """Publish the last and best checkpoints, trimmed to ``published_keys``, if requested."""
        if self.published_keys is None:
            return
        if self.save_last and self.last_ckpt is not None:
            self._publish_model(runner, self.last_ckpt)
        if getattr(self, "best_ckpt_path", None) is not None:
            self._publish_model(runner, str(self.best_ckpt_path))
        for best in getattr(self, "best_ckpt_path_dict", {}).values():
            if best is not None:
                self._publish_model(runner, best)

    @master_only
    def _publish_model(self, runner: RunnerLike, ckpt_path: str) -> None:
        """Write ``<stem>-<sha256[:8]>.pth`` with only the published keys of ``ckpt_path``."""
        assert self.published_keys is not None
        # This hook wrote the file, so it may be unpickled fully if it holds more than weights.
        checkpoint = load_checkpoint_file(ckpt_path, allow_unsafe=True)
        removed = [key for key in list(checkpoint) if key not in self.published_keys]
        for key in removed:
            checkpoint.pop(key)
        if removed:
            runner.logger.info(
                f"Key {removed} will be removed because they are not found in published_keys. If you want to "
                f"keep them, please set `{removed}` in published_keys"
            )
        sha = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
        final_path = os.path.splitext(ckpt_path)[0] + f"-{sha[:8]}.pth"
        atomic_save(checkpoint, final_path)
        runner.logger.info(f"The checkpoint ({ckpt_path}) is published to {final_path}.")

    # --------------------------------------------------------------- helpers
    def _resolved_out_dir(self) -> str:
        assert self.out_dir is not None, "before_train resolves out_dir"
        return self.out_dir

    def _join(self, filename: str) -> str:
        return os.path.join(self._resolved_out_dir(), filename)

    @staticmethod
    def _remove_checkpoint(path: str) -> bool:
        """Delete a checkpoint file (or a DeepSpeed directory); True if something was removed."""
        if os.path.isfile(path):
            os.remove(path)
            return True
        if os.path.isdir(path):
            shutil.rmtree(path)
            return True
        return False


# ------------------------------------------------------------------ argument parsing
def _check_local_storage(key: str, args: Optional[dict[str, Any]], where: str) -> None:
    if args is None:
        return
    if not isinstance(args, dict):
        raise ConfigError(key, args, "a dict or None", f"remove {key}.", where)
    if args.get("backend") not in _LOCAL_BACKENDS:
        raise UnsupportedConfigError(
            key,
            args,
            "a local backend (backend='local') or None",
            "write checkpoints to a local directory and copy them to remote storage afterwards.",
            where,
        )


def _parse_save_best(save_best: object, where: str) -> Optional[list[str]]:
    if save_best is None:
        return None
    if isinstance(save_best, str):
        return [save_best]
    if not isinstance(save_best, (list, tuple)) or not all(isinstance(key, str) for key in save_best):
        raise ConfigError("save_best", save_best, "a str, a list of str, or None", "name the metric key(s).", where)
    keys = list(save_best)
    if "auto" in keys and len(keys) != 1:
        raise ConfigError(
            "save_best", save_best, "'auto' alone or a list of metric keys", "use save_best='auto'.", where
        )
    if len(keys) != len(set(keys)):
        raise ConfigError("save_best", save_best, "a list without duplicates", "remove the repeated keys.", where)
    return keys


def _parse_rule(rule: object, save_best: Optional[list[str]], where: str) -> list[Optional[str]]:
    if rule is None or isinstance(rule, str):
        return [rule]
    if not isinstance(rule, (list, tuple)) or not all(item is None or isinstance(item, str) for item in rule):
        raise ConfigError("rule", rule, "'greater', 'less', None, or a list of them", "fix the rule value.", where)
    allowed = {1, len(save_best or [])}
    if len(rule) not in allowed:
        raise ConfigError(
            "rule",
            rule,
            f"one rule or one per save_best key ({len(save_best or [])})",
            "give a single rule or one per key.",
            where,
        )
    return list(rule)


def _parse_keys(key: str, value: Optional[Sequence[str]], default: Sequence[str], where: str) -> Sequence[str]:
    """MMEngine's types: the class default when None, ``(value,)`` for a str, else the list or tuple as given."""
    if value is None:
        return default
    items: Sequence[str] = (value,) if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        raise ConfigError(key, value, "a str or a list of str", "list metric key fragments.", where)
    return items


def _parse_published_keys(value: object, where: str) -> Optional[list[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ConfigError("published_keys", value, "a str, a list of str, or None", "list checkpoint keys.", where)
    if len(value) != len(set(value)):
        raise ConfigError("published_keys", value, "a list without duplicates", "remove the repeated keys.", where)
    return list(value)
