"""MMCV 1.x config -> MMEngine-style config (spec mmcv_legacy §5), with one warning per lossy item.

:func:`convert_mmcv_config` works on a plain dict; :func:`migrate_file` reads an MMCV ``.py`` config
(``_base_`` files included) and writes the converted one. Keys this module does not know (``model``,
``data`` pipelines, dataset settings...) are copied unchanged; ``data`` is flagged for manual work.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmhooks.errors import ConfigError, MMHooksTranslationWarning, closest
from mmhooks.legacy.convert_schedule import ScheduleContext, convert_lr_config, convert_momentum_config
from mmhooks.legacy.pyformat import format_config

__all__ = ["convert_mmcv_config", "load_mmcv_file", "migrate_file"]

OPTIMIZER_HOOKS = (
    "Fp16OptimizerHook",
    "GradientCumulativeFp16OptimizerHook",
    "GradientCumulativeOptimizerHook",
    "OptimizerHook",
)
VIS_BACKENDS = {
    "TensorboardLoggerHook": ("TensorboardVisBackend", ("log_dir",), ()),
    "WandbLoggerHook": ("WandbVisBackend", ("init_kwargs", "commit", "define_metric_cfg"),
                        ("with_step", "log_artifact", "out_suffix")),
    "MlflowLoggerHook": ("MLflowVisBackend", ("exp_name", "tags", "params"), ("log_model",)),
    "NeptuneLoggerHook": ("NeptuneVisBackend", ("init_kwargs",), ("with_step",)),
    "DvcliveLoggerHook": ("DVCLiveVisBackend", (), ("model_file", "dvclive")),
    "ClearMLLoggerHook": ("ClearMLVisBackend", ("init_kwargs",), ()),
}
TEXT_LOGGER_KEYS = ("interval_exp_name", "out_dir", "out_suffix", "keep_local", "file_client_args", "ignore_last")
LOGGER_COMMON = ("interval", "ignore_last", "reset_flag", "by_epoch")
CHECKPOINT_KEYS = ("interval", "by_epoch", "save_optimizer", "out_dir", "max_keep_ckpts", "save_last",
                   "filename_tmpl", "file_client_args", "backend_args")
EVAL_HOOK_KEYS = ("interval", "start", "by_epoch", "save_best", "rule", "greater_keys", "less_keys",
                  "gpu_collect", "tmpdir", "broadcast_bn_buffer", "out_dir", "file_client_args", "test_fn")


class _Converter:
    def __init__(self, cfg: Mapping[str, Any], exact: bool, iters_per_epoch: int | None) -> None:
        self.src = copy.deepcopy(dict(cfg))
        self.exact = exact
        self.out: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.custom_hooks: list[dict[str, Any]] = []
        self.default_hooks: dict[str, Any] = {}
        runner = self.src.get("runner")
        total_epochs = self.src.get("total_epochs")
        if runner is None:
            runner = {"type": "EpochBasedRunner", "max_epochs": total_epochs} if total_epochs else {}
        runner = dict(runner)
        self.runner = runner
        self.by_epoch_runner = runner.get("type", "EpochBasedRunner") != "IterBasedRunner"
        self.max_epochs = runner.get("max_epochs", total_epochs) if self.by_epoch_runner else None
        self.max_iters = runner.get("max_iters") if not self.by_epoch_runner else None
        self.iters_per_epoch = iters_per_epoch

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{key}: {message}")

    # ------------------------------------------------------------------ parts
    def runner_cfg(self) -> None:
        runner, src = self.runner, self.src
        total_epochs = src.get("total_epochs")
        if total_epochs is not None and runner.get("max_epochs", total_epochs) != total_epochs:
            raise ConfigError("total_epochs", total_epochs, f"the same value as runner.max_epochs "
                              f"({runner.get('max_epochs')})", "delete total_epochs (legacy key).")
        kind = runner.get("type", "EpochBasedRunner")
        if kind not in ("EpochBasedRunner", "IterBasedRunner", "Runner"):
            self.warn("runner.type", f"{kind!r} is a custom runner; MMEngine needs a custom loop "
                      "(train_cfg.type) written by hand. Converted as an epoch-based loop.")
        if "constructor" in runner:
            self.warn("runner.constructor", f"{runner['constructor']!r} has no MMEngine counterpart; write a custom "
                      "loop (train_cfg.type) by hand.")
        if self.by_epoch_runner:
            self.out["train_cfg"] = {"by_epoch": True, "max_epochs": self.max_epochs}
        else:
            self.out["train_cfg"] = {"by_epoch": False, "max_iters": self.max_iters}

    def workflow(self) -> None:
        for i, entry in enumerate(self.src.get("workflow", [("train", 1)])):
            phase = entry[0] if isinstance(entry, (list, tuple)) and entry else entry
            if phase not in ("train", "val"):
                near = closest(phase, ["train", "val"])
                raise ConfigError(f"workflow[{i}]", entry, "a ('train', n) or ('val', n) pair",
                                  f"did you mean {near!r}?" if near else "keep only ('train', n) / ('val', n) "
                                  "entries (testing is configured with test_cfg in MMEngine).")
            if phase == "val":
                self.warn(f"workflow[{i}]", f"{tuple(entry)!r} (val-loss epochs via val_step) has no MMEngine "
                          "equivalent: ValLoop computes evaluator metrics, not log_vars; the val phase is dropped "
                          f"({entry[1]} val epoch(s) per cycle not run).")

    def optimizer(self) -> None:
        src = self.src
        optimizer = src.get("optimizer")
        opt_cfg = dict(src.get("optimizer_config") or {})
        fp16 = src.get("fp16")
        if optimizer is None:
            return
        wrapper: dict[str, Any] = {"type": "OptimWrapper"}
        if isinstance(optimizer, Mapping) and "type" in optimizer:
            opt = dict(optimizer)
            paramwise = opt.pop("paramwise_cfg", None)
            constructor = opt.pop("constructor", None)
            wrapper["optimizer"] = opt
            if paramwise is not None:
                wrapper["paramwise_cfg"] = paramwise
            if constructor is not None and constructor != "DefaultOptimizerConstructor":
                wrapper["constructor"] = constructor.replace("OptimizerConstructor", "OptimWrapperConstructor")
        else:
            self.out["optim_wrapper"] = {
                "constructor": "MultiOptimWrapperConstructor",
                **{name: {"type": "OptimWrapper", "optimizer": dict(sub)} for name, sub in dict(optimizer).items()},
            }
            return
        kind = opt_cfg.pop("type", "OptimizerHook")
        if kind not in OPTIMIZER_HOOKS:
            near = closest(kind, OPTIMIZER_HOOKS)
            raise ConfigError("optimizer_config.type", kind, f"one of {sorted(OPTIMIZER_HOOKS)}",
                              f"did you mean {near!r}?" if near else "use 'OptimizerHook'.")
        grad_clip = opt_cfg.pop("grad_clip", None)
        if grad_clip:
            wrapper["clip_grad"] = dict(grad_clip)
        if "Cumulative" in kind or "cumulative_iters" in opt_cfg:
            count = opt_cfg.pop("cumulative_iters", 1)
            if count != 1:
                wrapper["accumulative_counts"] = count
        loss_scale = opt_cfg.pop("loss_scale", None)
        if fp16 is not None or "Fp16" in kind:
            scale = (fp16 or {}).get("loss_scale", loss_scale if loss_scale is not None else 512.0)
            wrapper["type"] = "AmpOptimWrapper"
            wrapper["loss_scale"] = scale
            self.warn("fp16", "MMEngine's AmpOptimWrapper autocasts the whole forward; MMCV only the @auto_fp16 "
                      "regions, so fp32-only sections (@force_fp32) may now run in fp16 (numerics differ "
                      "at fp16 precision, ~1e-3 relative).")
        if opt_cfg.pop("detect_anomalous_params", False):
            self.warn("optimizer_config.detect_anomalous_params", "no MMEngine field; the check is dropped (use "
                      "find_unused_parameters or a custom hook).")
        for key in ("coalesce", "bucket_size_mb", "distributed"):
            opt_cfg.pop(key, None)
        for key in opt_cfg:
            self.warn(f"optimizer_config.{key}", "unknown to the optimizer hooks; dropped.")
        self.out["optim_wrapper"] = wrapper

    def schedules(self) -> None:
        optimizer = self.src.get("optimizer")
        base_lr = optimizer.get("lr") if isinstance(optimizer, Mapping) and "type" in optimizer else None
        paramwise = isinstance(optimizer, Mapping) and bool(optimizer.get("paramwise_cfg"))
        ctx = ScheduleContext(self.by_epoch_runner, self.max_epochs, self.max_iters, self.iters_per_epoch,
                              base_lr, single_lr=not paramwise)
        schedulers: list[dict[str, Any]] = []
        for key, fn in (("lr_config", convert_lr_config), ("momentum_config", convert_momentum_config)):
            cfg = self.src.get(key)
            if cfg is None:
                continue
            if not isinstance(cfg, Mapping):
                raise ConfigError(key, cfg, "a dict with a 'policy' key", "write e.g. dict(policy='step', step=[8]).")
            found, hooks = fn(dict(cfg), ctx, exact=self.exact)
            schedulers += found
            self.custom_hooks += hooks
        self.warnings += ctx.warnings
        if schedulers:
            self.out["param_scheduler"] = schedulers
        if self.exact and any(h["type"].startswith("Legacy") for h in self.custom_hooks):
            modules = ["mmhooks.legacy.lr_updater", "mmhooks.legacy.momentum_updater"]
            self.out["custom_imports"] = {"imports": modules, "allow_failed_imports": False}

    def checkpoint(self) -> None:
        src = dict(self.src.get("checkpoint_config") or {})
        if not src and "checkpoint_config" not in self.src:
            return
        hook: dict[str, Any] = {"type": "CheckpointHook"}
        src.pop("type", None)
        for key in CHECKPOINT_KEYS:
            if key in src:
                hook[key] = src.pop(key)
        if not self.by_epoch_runner:
            hook.setdefault("by_epoch", False)
        if src.pop("sync_buffer", False):
            self.custom_hooks.append({"type": "SyncBuffersHook"})
        if "create_symlink" in src:
            src.pop("create_symlink")
            self.warn("checkpoint_config.create_symlink", "dropped: MMEngine writes a 'last_checkpoint' text file "
                      "instead of the latest.pth link (1 file differs in work_dir).")
        for key, value in src.items():
            self.warn(f"checkpoint_config.{key}", f"{value!r} is forwarded by MMCV to save_checkpoint; MMEngine "
                      "has no such field, dropped.")
        self.default_hooks["checkpoint"] = hook

    def logging(self) -> None:
        log = self.src.get("log_config")
        if log is None:
            return
        interval = log.get("interval", 10)
        logger: dict[str, Any] = {"type": "LoggerHook", "interval": interval}
        by_epoch = self.by_epoch_runner
        backends: list[dict[str, Any]] = [{"type": "LocalVisBackend"}]
        for i, hook in enumerate(log.get("hooks", [])):
            hook = dict(hook)
            kind = hook.pop("type", None)
            by_epoch = hook.get("by_epoch", by_epoch)
            if hook.pop("reset_flag", None) is not None:
                pass
            if kind == "TextLoggerHook":
                for key in TEXT_LOGGER_KEYS:
                    if key in hook:
                        logger[key] = hook[key]
            elif kind in VIS_BACKENDS:
                name, keep, drop = VIS_BACKENDS[kind]
                backend = {"type": name, **{k: hook[k] for k in keep if k in hook}}
                if kind == "TensorboardLoggerHook" and "log_dir" in backend:
                    backend["save_dir"] = backend.pop("log_dir")
                backends.append(backend)
                for key in drop:
                    if key in hook:
                        self.warn(f"log_config.hooks[{i}].{key}", f"{kind} option with no {name} counterpart; dropped.")
            else:
                self.warn(f"log_config.hooks[{i}].type", f"{kind!r} has no MMEngine visualization backend; its "
                          "output is not produced (100 % of that backend's logs missing).")
        self.default_hooks["logger"] = logger
        if not by_epoch:
            logger["log_metric_by_epoch"] = False
        self.out["log_processor"] = {"type": "LogProcessor", "window_size": interval, "by_epoch": bool(by_epoch)}
        self.out["visualizer"] = {"type": "Visualizer", "vis_backends": backends}

    def timer(self) -> None:
        timer = self.src.get("timer_config")
        if timer is not None:
            self.default_hooks["timer"] = {"type": "IterTimerHook"}

    def evaluation(self) -> None:
        ev = self.src.get("evaluation")
        if ev is None:
            return
        ev = dict(ev)
        interval = ev.pop("interval", 1)
        start = ev.pop("start", None)
        train_cfg = self.out["train_cfg"]
        train_cfg["val_interval"] = interval
        if start is not None:
            train_cfg["val_begin"] = max(int(start), 1)
            if start % interval and interval != 1:
                self.warn("evaluation.start", f"MMCV validates at {start}, {start + interval}, ...; MMEngine at "
                          f"multiples of {interval} from {max(start, 1)}: every validation point moves "
                          f"{(-start) % interval} later.")
            if start == 0:
                self.warn("evaluation.start", "0 asks MMCV for a validation before training; MMEngine has no "
                          "switch for it (1 validation fewer).")
        total = self.max_epochs if self.by_epoch_runner else self.max_iters
        if total and total % interval and (start is None or (total - start) % interval):
            self.warn("evaluation.interval", f"MMEngine also validates at the last {'epoch' if self.by_epoch_runner else 'iteration'} "
                      f"({total}), which MMCV skips ({total} % {interval} != 0): 1 extra validation.")
        checkpoint = self.default_hooks.setdefault("checkpoint", {"type": "CheckpointHook"})
        for key in ("save_best", "rule", "greater_keys", "less_keys"):
            if key in ev:
                checkpoint[key] = ev.pop(key)
        evaluator: dict[str, Any] = {}
        if "gpu_collect" in ev:
            evaluator["collect_device"] = "gpu" if ev.pop("gpu_collect") else "cpu"
        if "tmpdir" in ev:
            evaluator["collect_dir"] = ev.pop("tmpdir")
        for key in ("by_epoch", "broadcast_bn_buffer", "out_dir", "file_client_args", "test_fn"):
            ev.pop(key, None)
        evaluator.update(ev)
        self.out["val_cfg"] = {"type": "ValLoop"}
        self.out["val_evaluator"] = evaluator
        self.warn("evaluation", "MMCV called dataset.evaluate(metric=...); set val_evaluator.type to the "
                  "downstream metric class (e.g. 'CocoMetric'); metric names gain its prefix (bbox_mAP -> "
                  "coco/bbox_mAP), so save_best keys may need it too.")

    def hooks(self) -> None:
        for i, hook in enumerate(self.src.get("custom_hooks", [])):
            hook = dict(hook)
            kind = hook.get("type")
            key = f"custom_hooks[{i}]"
            if kind == "EMAHook":
                m, k = hook.get("momentum", 0.0002), hook.get("interval", 1)
                new = {"type": "EMAHook", "ema_type": "ExponentialMovingAverage", "momentum": m**k, "interval": k}
                if "priority" in hook:
                    new["priority"] = hook["priority"]
                self.warn(key, f"EMAHook: momentum {m}**{k} = {m ** k:.6g} keeps MMCV's per-update weight; MMEngine "
                          "copies the weights at the first update (MMCV blends from the start), ignores warm_up "
                          f"({hook.get('warm_up', 100)}), and swaps EMA weights around validation, not training epochs.")
                self.custom_hooks.append(new)
            elif kind == "SyncBuffersHook":
                hook.pop("distributed", None)
                self.custom_hooks.append(hook)
            elif kind == "DistSamplerSeedHook":
                self.default_hooks["sampler_seed"] = {"type": "DistSamplerSeedHook"}
            elif kind == "ProfilerHook":
                if "profile_iters" in hook:
                    hook["profile_times"] = hook.pop("profile_iters")
                acts = hook.pop("activities", None)
                if acts is not None:
                    hook["activity_with_cpu"], hook["activity_with_cuda"] = "cpu" in acts, "cuda" in acts
                self.custom_hooks.append(hook)
            elif kind in ("ClosureHook", "PaviLoggerHook", "SegmindLoggerHook"):
                self.warn(f"{key}.type", f"{kind!r} has no MMEngine counterpart; dropped (the hook does not run).")
            else:
                self.custom_hooks.append(hook)

    def runtime(self) -> None:
        src, out = self.src, self.out
        if src.get("resume_from"):
            out["load_from"], out["resume"] = src["resume_from"], True
        elif src.get("load_from"):
            out["load_from"], out["resume"] = src["load_from"], False
        if src.get("auto_resume"):
            out["resume"] = True
        env: dict[str, Any] = {}
        if "cudnn_benchmark" in src:
            env["cudnn_benchmark"] = src["cudnn_benchmark"]
        mp = {k: src[k] for k in ("mp_start_method", "opencv_num_threads") if k in src}
        if mp:
            env["mp_cfg"] = mp
        if "dist_params" in src:
            env["dist_cfg"] = dict(src["dist_params"])
        if env:
            out["env_cfg"] = env
        randomness = {new: src[old] for old, new in (("seed", "seed"), ("deterministic", "deterministic"),
                                                       ("diff_seed", "diff_rank_seed")) if old in src}
        if randomness:
            out["randomness"] = randomness
        for key in ("log_level", "work_dir", "custom_imports", "find_unused_parameters", "auto_scale_lr",
                    "model_wrapper_cfg"):
            if key in src:
                if key == "custom_imports" and "custom_imports" in out:
                    out[key]["imports"] = [*src[key].get("imports", []), *out[key]["imports"]]
                else:
                    out[key] = src[key]
        if "gpu_ids" in src:
            self.warn("gpu_ids", f"{src['gpu_ids']!r} has no config field in MMEngine; choose devices with the "
                      "launcher (or trainer=dict(devices=...)).")

    HANDLED = {
        "runner", "total_epochs", "workflow", "optimizer", "optimizer_config", "fp16", "lr_config",
        "momentum_config", "checkpoint_config", "log_config", "timer_config", "evaluation", "custom_hooks",
        "resume_from", "load_from", "auto_resume", "cudnn_benchmark", "mp_start_method", "opencv_num_threads",
        "dist_params", "seed", "deterministic", "diff_seed", "log_level", "work_dir", "custom_imports",
        "find_unused_parameters", "auto_scale_lr", "model_wrapper_cfg", "gpu_ids",
    }

    def run(self) -> tuple[dict[str, Any], list[str]]:
        passthrough = {k: v for k, v in self.src.items() if k not in self.HANDLED}
        if "data" in passthrough:
            self.warn("data", "copied unchanged: MMEngine reads train_dataloader / val_dataloader / "
                      "test_dataloader; convert samples_per_gpu -> batch_size and the dataset dicts by hand.")
        self.out.update(passthrough)
        self.runner_cfg()
        self.workflow()
        self.optimizer()
        self.schedules()
        self.checkpoint()
        self.timer()
        self.logging()
        self.evaluation()
        self.hooks()
        self.runtime()
        if self.default_hooks:
            self.out["default_hooks"] = self.default_hooks
        if self.custom_hooks:
            self.out["custom_hooks"] = self.custom_hooks
        return self.out, self.warnings


def convert_mmcv_config(
    cfg: Mapping[str, Any], exact: bool = False, iters_per_epoch: int | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Convert an MMCV 1.x config dict to MMEngine form; return it and one warning per lossy item.

    Args:
        cfg: The MMCV config as a plain dict (``Config._cfg_dict`` or ``load_mmcv_file``'s result).
        exact: Keep MMCV's LR/momentum formulas via ``LegacyLrUpdaterHook`` / ``LegacyMomentumUpdaterHook``
            custom hooks wherever MMEngine's schedulers would differ.
        iters_per_epoch: Train batches per epoch, when known; makes by-iteration recipes under an
            EpochBasedRunner exact (poly/linear ``end = P + 1``, epoch-counted warmups).

    Raises:
        ConfigError: unknown ``lr_config.policy`` / ``momentum_config.policy``, a ``workflow`` phase other
            than train/val, an ``optimizer_config.type`` that does not exist.

    Each warning is also issued as :class:`~mmhooks.errors.MMHooksTranslationWarning`.

    Example:
        >>> cfg, notes = convert_mmcv_config(dict(runner=dict(type='EpochBasedRunner', max_epochs=12),
        ...                                       lr_config=dict(policy='step', step=[8, 11])))
        >>> cfg['param_scheduler'], notes
        ([{'type': 'MultiStepLR', 'milestones': [8, 11], 'gamma': 0.1, 'by_epoch': True}], [])
    """
    out, notes = _Converter(cfg, exact, iters_per_epoch).run()
    for note in notes:
        warnings.warn(note, MMHooksTranslationWarning, stacklevel=2)
    return out, notes


def _merge(base: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) and not value.get("_delete_"):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = {k: v for k, v in value.items() if k != "_delete_"} if isinstance(value, Mapping) else value
    return merged


def load_mmcv_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Execute an MMCV ``.py`` config and return its top-level values, ``_base_`` files merged in."""
    path = Path(path)
    namespace: dict[str, Any] = {"__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - configs are Python files
    bases = namespace.get("_base_", [])
    merged: dict[str, Any] = {}
    for base in [bases] if isinstance(bases, str) else bases:
        merged = _merge(merged, load_mmcv_file(path.parent / base))
    own = {
        k: v for k, v in namespace.items()
        if not k.startswith("_") and not callable(v) and type(v).__name__ != "module"
    }
    return _merge(merged, own)


def migrate_file(
    old_path: str | os.PathLike[str], new_path: str | os.PathLike[str] | None = None, exact: bool = False,
    iters_per_epoch: int | None = None,
) -> tuple[str, list[str]]:
    """Convert the MMCV config file ``old_path``; write it to ``new_path`` when given.

    Returns:
        The MMEngine-form config text (one assignment per top-level key, warnings as a comment header)
        and the warnings.
    """
    converted, notes = convert_mmcv_config(load_mmcv_file(old_path), exact=exact, iters_per_epoch=iters_per_epoch)
    header = f"Converted from {Path(old_path).name} by mmhooks migrate."
    if notes:
        header += "\nLossy items:\n" + "\n".join(f"- {n}" for n in notes)
    text = format_config(converted, header)
    if new_path is not None:
        Path(new_path).write_text(text)
    return text, notes
