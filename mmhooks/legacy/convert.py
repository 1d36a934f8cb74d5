"""MMCV 1.x config -> MMEngine-style config (spec mmcv_legacy §5), with one warning per lossy item.

:func:`convert_mmcv_config` works on a plain dict and emits only what the keys it is given describe (a
runtime base gives no ``train_cfg``), recording which source keys each output key comes from, so that
:mod:`mmhooks.legacy.migrate_tree` can convert a ``_base_`` tree file by file. :func:`migrate_file` reads
one MMCV ``.py`` config (``_base_`` files merged, through :class:`mmhooks.config.Config`) and writes it
flattened. Keys this module does not know (``model``, ``data`` pipelines, dataset settings...) are copied
unchanged; ``data`` is flagged for manual work.
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

__all__ = ["ConversionResult", "convert_mmcv_config", "convert_with_sources", "load_mmcv_file", "migrate_file"]

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
CHECKPOINT_KEYS = ("interval", "by_epoch", "save_optimizer", "out_dir", "max_keep_ckpts", "save_last",
                   "filename_tmpl", "file_client_args", "backend_args")
# Hooks MMEngine 0.10 builds itself, and hooks of the MMEngine-era OpenMMLab packages (mmdet 3, mmseg 1,
# mmpretrain 1) that kept their MMCV-era name and arguments: kept without a warning.
MMENGINE_HOOKS = frozenset({
    "CheckpointHook", "DistSamplerSeedHook", "EarlyStoppingHook", "EMAHook", "EmptyCacheHook", "IterTimerHook",
    "LoggerHook", "NaiveVisualizationHook", "ParamSchedulerHook", "PrepareTTAHook", "ProfilerHook",
    "RuntimeInfoHook", "SyncBuffersHook",
})
DOWNSTREAM_HOOKS = frozenset({
    "CheckInvalidLossHook", "MeanTeacherHook", "MemoryProfilerHook", "NumClassCheckHook", "PipelineSwitchHook",
    "SetEpochInfoHook", "SyncNormHook", "YOLOXModeSwitchHook", "ClassNumCheckHook", "PreciseBNHook",
    "DenseCLHook", "SimSiamHook", "SwAVHook", "SetAdaptiveMarginsHook",
})
MMCV_ONLY_HOOKS = ("ClosureHook", "PaviLoggerHook", "SegmindLoggerHook")


def _mapping(value: Any, key: str) -> dict[str, Any]:
    """``value`` as a dict, or a :class:`ConfigError` naming ``key`` (``evaluation=[dict(...)]`` and the like)."""
    if isinstance(value, Mapping):
        return dict(value)
    raise ConfigError(key, value, "a dict", f"write {key.split('.')[-1].split('[')[0]} = dict(...).")


def _sequence(value: Any, key: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ConfigError(key, value, "a list", f"write {key.split('.')[-1]} = [...].")


class ConversionResult:
    """A converted config: ``cfg``, the lossy-item ``warnings``, and ``sources`` (output key -> MMCV keys)."""

    def __init__(self, cfg: dict[str, Any], warnings_: list[str], sources: dict[str, set[str]]) -> None:
        self.cfg = cfg
        self.warnings = warnings_
        self.sources = sources


class _Converter:
    """One conversion of a plain MMCV config dict; each part reads only the source keys it is named after."""

    HANDLED = frozenset({
        "runner", "total_epochs", "workflow", "optimizer", "optimizer_config", "fp16", "lr_config",
        "momentum_config", "checkpoint_config", "log_config", "timer_config", "evaluation", "custom_hooks",
        "resume_from", "load_from", "auto_resume", "cudnn_benchmark", "mp_start_method", "opencv_num_threads",
        "dist_params", "seed", "deterministic", "diff_seed", "log_level", "work_dir", "custom_imports",
        "find_unused_parameters", "auto_scale_lr", "model_wrapper_cfg", "gpu_ids", "train_cfg", "test_cfg",
    })

    def __init__(self, cfg: Mapping[str, Any], exact: bool, iters_per_epoch: int | None) -> None:
        self.src = copy.deepcopy(dict(cfg))
        self.exact = exact
        self.out: dict[str, Any] = {}
        self.sources: dict[str, set[str]] = {}
        self.warnings: list[str] = []
        self.custom_hooks: list[dict[str, Any]] = []
        self.default_hooks: dict[str, Any] = {}
        self.iters_per_epoch = iters_per_epoch
        total_epochs = self.src.get("total_epochs")
        runner = self.src.get("runner")
        if runner is None:
            runner = {"type": "EpochBasedRunner", "max_epochs": total_epochs} if total_epochs else {}
        self.runner = _mapping(runner, "runner")
        self.by_epoch_runner = self.runner.get("type", "EpochBasedRunner") != "IterBasedRunner"
        self.max_epochs = self.runner.get("max_epochs", total_epochs) if self.by_epoch_runner else None
        self.max_iters = self.runner.get("max_iters") if not self.by_epoch_runner else None

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{key}: {message}")

    def emit(self, key: str, value: Any, *sources: str) -> None:
        """Set output ``key`` and note the MMCV keys it comes from."""
        self.out[key] = value
        self.sources.setdefault(key, set()).update(sources)

    def note(self, key: str, *sources: str) -> None:
        self.sources.setdefault(key, set()).update(sources)

    # ------------------------------------------------------------------ parts
    def runner_cfg(self) -> None:
        runner, src = self.runner, self.src
        if "runner" not in src and "total_epochs" not in src:
            return
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
        used = [k for k in ("runner", "total_epochs") if k in src]
        if self.by_epoch_runner:
            self.emit("train_cfg", {"by_epoch": True, "max_epochs": self.max_epochs}, *used)
        else:
            self.emit("train_cfg", {"by_epoch": False, "max_iters": self.max_iters}, *used)

    def workflow(self) -> None:
        if "workflow" not in self.src:
            return
        for i, entry in enumerate(_sequence(self.src["workflow"], "workflow")):
            phase = entry[0] if isinstance(entry, (list, tuple)) and entry else entry
            if phase not in ("train", "val"):
                near = closest(phase, ["train", "val"]) if isinstance(phase, str) else None
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
        if optimizer is None:
            return
        opt_cfg = _mapping(src.get("optimizer_config") or {}, "optimizer_config")
        fp16 = src.get("fp16")
        used = [k for k in ("optimizer", "optimizer_config", "fp16") if k in src]
        optimizer = _mapping(optimizer, "optimizer")
        wrapper: dict[str, Any] = {"type": "OptimWrapper"}
        if "type" in optimizer:
            opt = dict(optimizer)
            paramwise = opt.pop("paramwise_cfg", None)
            constructor = opt.pop("constructor", None)
            wrapper["optimizer"] = opt
            if paramwise is not None:
                wrapper["paramwise_cfg"] = paramwise
            if constructor is not None and constructor != "DefaultOptimizerConstructor":
                wrapper["constructor"] = constructor.replace("OptimizerConstructor", "OptimWrapperConstructor")
        else:
            self.emit("optim_wrapper", {
                "constructor": "MultiOptimWrapperConstructor",
                **{name: {"type": "OptimWrapper", "optimizer": _mapping(sub, f"optimizer.{name}")}
                   for name, sub in optimizer.items()},
            }, *used)
            return
        kind = opt_cfg.pop("type", "OptimizerHook")
        if kind not in OPTIMIZER_HOOKS:
            near = closest(kind, OPTIMIZER_HOOKS)
            raise ConfigError("optimizer_config.type", kind, f"one of {sorted(OPTIMIZER_HOOKS)}",
                              f"did you mean {near!r}?" if near else "use 'OptimizerHook'.")
        grad_clip = opt_cfg.pop("grad_clip", None)
        if grad_clip:
            wrapper["clip_grad"] = _mapping(grad_clip, "optimizer_config.grad_clip")
        if "Cumulative" in kind or "cumulative_iters" in opt_cfg:
            count = opt_cfg.pop("cumulative_iters", 1)
            if count != 1:
                wrapper["accumulative_counts"] = count
        loss_scale = opt_cfg.pop("loss_scale", None)
        if fp16 is not None or "Fp16" in kind:
            fp16_cfg = _mapping(fp16, "fp16") if fp16 is not None else {}
            scale = fp16_cfg.get("loss_scale", loss_scale if loss_scale is not None else 512.0)
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
            self.warn(f"optimizer_config.{key}", f"unknown to {kind}; dropped (port it by hand if a custom "
                      "optimizer hook read it).")
        self.emit("optim_wrapper", wrapper, *used)

    def schedules(self) -> None:
        optimizer = self.src.get("optimizer")
        base_lr = optimizer.get("lr") if isinstance(optimizer, Mapping) and "type" in optimizer else None
        paramwise = isinstance(optimizer, Mapping) and bool(optimizer.get("paramwise_cfg"))
        ctx = ScheduleContext(self.by_epoch_runner, self.max_epochs, self.max_iters, self.iters_per_epoch,
                              base_lr, single_lr=not paramwise)
        schedulers: list[dict[str, Any]] = []
        used: list[str] = []
        for key, fn in (("lr_config", convert_lr_config), ("momentum_config", convert_momentum_config)):
            cfg = self.src.get(key)
            if cfg is None:
                continue
            if not isinstance(cfg, Mapping):
                raise ConfigError(key, cfg, "a dict with a 'policy' key", "write e.g. dict(policy='step', step=[8]).")
            found, hooks = fn(dict(cfg), ctx, exact=self.exact)
            schedulers += found
            self.custom_hooks += hooks
            used.append(key)
            if hooks:
                self.note("custom_hooks", key)
        self.warnings += ctx.warnings
        if schedulers:
            self.emit("param_scheduler", schedulers, *used)
        if self.exact and any(h["type"].startswith("Legacy") for h in self.custom_hooks):
            modules = ["mmhooks.legacy.lr_updater", "mmhooks.legacy.momentum_updater"]
            self.emit("custom_imports", {"imports": modules, "allow_failed_imports": False}, *used)

    def checkpoint(self) -> None:
        if "checkpoint_config" not in self.src:
            return
        src = _mapping(self.src["checkpoint_config"] or {}, "checkpoint_config")
        hook: dict[str, Any] = {"type": "CheckpointHook"}
        src.pop("type", None)
        for key in CHECKPOINT_KEYS:
            if key in src:
                hook[key] = src.pop(key)
        if not self.by_epoch_runner:
            hook.setdefault("by_epoch", False)
        if src.pop("sync_buffer", False):
            self.custom_hooks.append({"type": "SyncBuffersHook"})
            self.note("custom_hooks", "checkpoint_config")
        if "create_symlink" in src:
            src.pop("create_symlink")
            self.warn("checkpoint_config.create_symlink", "dropped: MMEngine writes a 'last_checkpoint' text file "
                      "instead of the latest.pth link (1 file differs in work_dir).")
        for key, value in src.items():
            self.warn(f"checkpoint_config.{key}", f"{value!r} is forwarded by MMCV to save_checkpoint; MMEngine "
                      "has no such field, dropped.")
        self.default_hooks["checkpoint"] = hook
        self.note("default_hooks", "checkpoint_config")

    def logging(self) -> None:
        if "log_config" not in self.src:
            return
        log = _mapping(self.src["log_config"] or {}, "log_config")
        interval = log.get("interval", 10)
        logger: dict[str, Any] = {"type": "LoggerHook", "interval": interval}
        by_epoch = self.by_epoch_runner
        backends: list[dict[str, Any]] = [{"type": "LocalVisBackend"}]
        for i, hook in enumerate(_sequence(log.get("hooks", []), "log_config.hooks")):
            hook = _mapping(hook, f"log_config.hooks[{i}]")
            kind = hook.pop("type", None)
            by_epoch = hook.get("by_epoch", by_epoch)
            hook.pop("reset_flag", None)
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
            elif kind in MMCV_ONLY_HOOKS:
                self.warn(f"log_config.hooks[{i}].type", f"{kind!r} has no MMEngine visualization backend; its "
                          "output is not produced (100 % of that backend's logs missing).")
            else:
                kept = {"type": kind, "interval": interval, **hook, "priority": "VERY_LOW"}
                self.custom_hooks.append(kept)
                self.note("custom_hooks", "log_config")
                self.warn(f"log_config.hooks[{i}].type", f"{kind!r} is not an MMCV logger mmhooks knows; kept as a "
                          "custom_hooks entry (priority VERY_LOW, MMCV's interval), which MMEngine cannot run as "
                          "is: port it by hand to an MMEngine visualization backend (visualizer.vis_backends) or "
                          "to MMEngine's Hook API.")
        self.default_hooks["logger"] = logger
        self.note("default_hooks", "log_config")
        if not by_epoch:
            logger["log_metric_by_epoch"] = False
        self.emit("log_processor", {"type": "LogProcessor", "window_size": interval, "by_epoch": bool(by_epoch)},
                  "log_config")
        self.emit("visualizer", {"type": "Visualizer", "vis_backends": backends}, "log_config")

    def timer(self) -> None:
        if self.src.get("timer_config") is not None:
            self.default_hooks["timer"] = {"type": "IterTimerHook"}
            self.note("default_hooks", "timer_config")

    def evaluation(self) -> None:
        if self.src.get("evaluation") is None:
            return
        ev = _mapping(self.src["evaluation"], "evaluation")
        interval = ev.pop("interval", 1)
        start = ev.pop("start", None)
        train_cfg = self.out.setdefault("train_cfg", {})
        self.note("train_cfg", "evaluation")
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
        has_length = "runner" in self.src or "total_epochs" in self.src
        total = (self.max_epochs if self.by_epoch_runner else self.max_iters) if has_length else None
        if total and total % interval and (start is None or (total - start) % interval):
            unit = "epoch" if self.by_epoch_runner else "iteration"
            self.warn("evaluation.interval", f"MMEngine also validates at the last {unit} ({total}), which MMCV "
                      f"skips ({total} % {interval} != 0): 1 extra validation.")
        checkpoint_keys = [key for key in ("save_best", "rule", "greater_keys", "less_keys") if key in ev]
        if checkpoint_keys:
            checkpoint = self.default_hooks.setdefault("checkpoint", {"type": "CheckpointHook"})
            for key in checkpoint_keys:
                checkpoint[key] = ev.pop(key)
            self.note("default_hooks", "evaluation")
        evaluator: dict[str, Any] = {}
        if "gpu_collect" in ev:
            evaluator["collect_device"] = "gpu" if ev.pop("gpu_collect") else "cpu"
        if "tmpdir" in ev:
            evaluator["collect_dir"] = ev.pop("tmpdir")
        for name in ("by_epoch", "broadcast_bn_buffer", "out_dir", "file_client_args", "test_fn"):
            ev.pop(name, None)
        evaluator.update(ev)
        self.emit("val_cfg", {"type": "ValLoop"}, "evaluation")
        self.emit("val_evaluator", evaluator, "evaluation")
        self.warn("evaluation", "MMCV called dataset.evaluate(metric=...); set val_evaluator.type to the "
                  "downstream metric class (e.g. 'CocoMetric'); metric names gain its prefix (bbox_mAP -> "
                  "coco/bbox_mAP), so save_best keys may need it too.")

    def hooks(self) -> None:
        if "custom_hooks" not in self.src:
            return
        self.note("custom_hooks", "custom_hooks")
        for i, hook in enumerate(_sequence(self.src["custom_hooks"] or [], "custom_hooks")):
            key = f"custom_hooks[{i}]"
            hook = _mapping(hook, key)
            kind = hook.get("type")
            if kind == "EMAHook":
                m, k = hook.get("momentum", 0.0002), hook.get("interval", 1)
                new = {"type": "EMAHook", "ema_type": "ExponentialMovingAverage", "momentum": m**k, "interval": k}
                if "priority" in hook:
                    new["priority"] = hook["priority"]
                self.warn(key, f"EMAHook: momentum {m}**{k} = {m ** k:.6g} keeps MMCV's per-update weight; MMEngine "
                          "copies the weights at the first update (MMCV blends from the start), ignores warm_up "
                          f"({hook.get('warm_up', 100)}), and swaps EMA weights around validation, not training epochs.")
                self.custom_hooks.append(new)
            elif kind == "ExpMomentumEMAHook":
                new = {"type": "EMAHook", "ema_type": "ExpMomentumEMA", "momentum": hook.get("momentum", 0.0002),
                       "gamma": hook.get("total_iter", 2000), "interval": hook.get("interval", 1),
                       "update_buffers": not hook.get("skip_buffers", False)}
                if "priority" in hook:
                    new["priority"] = hook["priority"]
                self.warn(key, "ExpMomentumEMAHook: MMDet 3's EMAHook(ema_type='ExpMomentumEMA') has the same "
                          "momentum formula (gamma = total_iter) but copies the weights at the first update (MMDet 2 "
                          "blends from the start) and swaps EMA weights around validation, not training epochs.")
                self.custom_hooks.append(new)
            elif kind == "SyncBuffersHook":
                hook.pop("distributed", None)
                self.custom_hooks.append(hook)
            elif kind == "DistSamplerSeedHook":
                self.default_hooks["sampler_seed"] = {"type": "DistSamplerSeedHook"}
                self.note("default_hooks", "custom_hooks")
            elif kind == "ProfilerHook":
                if "profile_iters" in hook:
                    hook["profile_times"] = hook.pop("profile_iters")
                acts = hook.pop("activities", None)
                if acts is not None:
                    hook["activity_with_cpu"], hook["activity_with_cuda"] = "cpu" in acts, "cuda" in acts
                self.custom_hooks.append(hook)
            elif kind in MMCV_ONLY_HOOKS:
                self.warn(f"{key}.type", f"{kind!r} has no MMEngine counterpart; dropped (the hook does not run).")
            else:
                if kind not in MMENGINE_HOOKS and kind not in DOWNSTREAM_HOOKS:
                    self.warn(f"{key}.type", f"{kind!r} is neither an MMEngine hook nor one of the OpenMMLab 2.x "
                              "hooks that kept their name; kept as is: port it by hand to MMEngine's Hook API "
                              "(iteration stages take batch_idx, data_batch, outputs), or run the MMCV hook "
                              "unchanged through mmhooks.legacy.LegacyHookAdapter.")
                self.custom_hooks.append(hook)

    def model_settings(self) -> None:
        """MMCV-era top-level ``train_cfg`` / ``test_cfg`` are the model's (MMDet 2 / MMSeg 0 pass them to the
        model builder as defaults); in MMEngine those names are the loops, so they move into ``model``."""
        moved = {key: self.src[key] for key in ("train_cfg", "test_cfg") if key in self.src}
        if not moved:
            return
        model = _mapping(self.src.get("model", {}), "model")
        for key, value in moved.items():
            if model.get(key) is not None and value is not None:
                raise ConfigError(key, value, f"settings given once (model.{key} is set too)",
                                  f"delete the top-level {key} or model.{key}.")
            if value is not None or key not in model:
                model[key] = value
        self.emit("model", model, "model", *moved)

    def runtime(self) -> None:
        src = self.src
        if src.get("resume_from"):
            self.emit("load_from", src["resume_from"], "resume_from")
            self.emit("resume", True, "resume_from")
        elif src.get("load_from"):
            self.emit("load_from", src["load_from"], "load_from")
            self.emit("resume", False, "load_from")
        if src.get("auto_resume"):
            self.emit("resume", True, "auto_resume")
        env: dict[str, Any] = {}
        used = []
        if "cudnn_benchmark" in src:
            env["cudnn_benchmark"] = src["cudnn_benchmark"]
            used.append("cudnn_benchmark")
        mp = {k: src[k] for k in ("mp_start_method", "opencv_num_threads") if k in src}
        if mp:
            env["mp_cfg"] = mp
            used += list(mp)
        if "dist_params" in src:
            env["dist_cfg"] = _mapping(src["dist_params"], "dist_params")
            used.append("dist_params")
        if env:
            self.emit("env_cfg", env, *used)
        pairs = (("seed", "seed"), ("deterministic", "deterministic"), ("diff_seed", "diff_rank_seed"))
        randomness = {new: src[old] for old, new in pairs if old in src}
        if randomness:
            self.emit("randomness", randomness, *(old for old, _ in pairs if old in src))
        for key in ("log_level", "work_dir", "custom_imports", "find_unused_parameters", "auto_scale_lr",
                    "model_wrapper_cfg"):
            if key in src:
                if key == "custom_imports" and "custom_imports" in self.out:
                    imports = _mapping(src[key], key).get("imports", [])
                    imports = [imports] if isinstance(imports, str) else list(imports)
                    self.out[key]["imports"] = [*imports, *self.out[key]["imports"]]
                    self.note(key, key)
                else:
                    self.emit(key, src[key], key)
        if "gpu_ids" in src:
            self.warn("gpu_ids", f"{src['gpu_ids']!r} has no config field in MMEngine; choose devices with the "
                      "launcher (or trainer=dict(devices=...)).")

    def run(self) -> ConversionResult:
        passthrough = {k: v for k, v in self.src.items() if k not in self.HANDLED}
        if "data" in passthrough:
            self.warn("data", "copied unchanged: MMEngine reads train_dataloader / val_dataloader / "
                      "test_dataloader; convert samples_per_gpu -> batch_size and the dataset dicts by hand.")
        for key, value in passthrough.items():
            self.emit(key, value, key)
        self.model_settings()
        steps = [self.runner_cfg, self.workflow, self.optimizer, self.schedules, self.checkpoint, self.timer,
                 self.logging, self.evaluation, self.hooks, self.runtime]
        for step in steps:
            step()
        if self.default_hooks:
            self.out["default_hooks"] = self.default_hooks
        if self.custom_hooks or "custom_hooks" in self.sources:
            self.out["custom_hooks"] = self.custom_hooks
        return ConversionResult(self.out, self.warnings, self.sources)



def convert_with_sources(
    cfg: Mapping[str, Any], exact: bool = False, iters_per_epoch: int | None = None
) -> ConversionResult:
    """:func:`convert_mmcv_config` without issuing warnings, with each output key's MMCV source keys."""
    return _Converter(cfg, exact, iters_per_epoch).run()


def convert_mmcv_config(
    cfg: Mapping[str, Any], exact: bool = False, iters_per_epoch: int | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Convert an MMCV 1.x config dict to MMEngine form; return it and one warning per lossy item.

    Args:
        cfg: The MMCV config as a plain dict (``Config.to_dict()`` or :func:`load_mmcv_file`'s result).
        exact: Keep MMCV's LR/momentum formulas via ``LegacyLrUpdaterHook`` / ``LegacyMomentumUpdaterHook``
            custom hooks wherever MMEngine's schedulers would differ (the CLI's ``--exact``).
        iters_per_epoch: Train batches per epoch, when known (the CLI's ``--iters-per-epoch``); makes
            by-iteration recipes under an EpochBasedRunner exact (poly/linear ``end = P + 1``, epoch-counted
            warmups) and the warning sizes those of this epoch length.

    Raises:
        ConfigError: a value of the wrong type (``evaluation=[dict(...)]``), bad policy arguments, a
            ``workflow`` phase other than train/val, an ``optimizer_config.type`` that does not exist.

    Each warning is also issued as :class:`~mmhooks.errors.MMHooksTranslationWarning`. A policy or hook
    MMCV does not ship is kept (as a custom hook) with a warning saying what to port by hand.

    Example:
        >>> cfg, notes = convert_mmcv_config(dict(runner=dict(type='EpochBasedRunner', max_epochs=12),
        ...                                       lr_config=dict(policy='step', step=[8, 11])))
        >>> cfg['param_scheduler'], notes
        ([{'type': 'MultiStepLR', 'milestones': [8, 11], 'gamma': 0.1, 'by_epoch': True}], [])
    """
    result = convert_with_sources(cfg, exact, iters_per_epoch)
    for note in result.warnings:
        warnings.warn(note, MMHooksTranslationWarning, stacklevel=2)
    return result.cfg, result.warnings


def load_mmcv_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The values of an MMCV ``.py`` config, ``_base_`` files merged, read by :class:`mmhooks.config.Config`.

    The same loader as ``Config.fromfile`` (base references ``{{_base_.x}}``, ``_delete_``, predefined
    variables); ``custom_imports`` are not imported (migration only reads the values).
    """
    from mmhooks.legacy.config_source import read_config_values

    return read_config_values(str(path))


def located(err: ConfigError, path: str | os.PathLike[str]) -> ConfigError:
    """``err`` with the config file in front of its key path (errors already located in a file stay)."""
    from mmhooks.config.errors import ConfigFileError

    if isinstance(err, ConfigFileError):
        return err
    return ConfigFileError(err.path, err.value, err.expected, err.fix, str(path))


def migrate_file(
    old_path: str | os.PathLike[str], new_path: str | os.PathLike[str] | None = None, exact: bool = False,
    iters_per_epoch: int | None = None,
) -> tuple[str, list[str]]:
    """Convert the MMCV config file ``old_path`` (bases merged in, one flat file); write it to ``new_path``.

    Use :func:`mmhooks.legacy.migrate_tree.migrate_tree` to keep a ``_base_`` tree.

    Returns:
        The MMEngine-form config text (one assignment per top-level key, warnings as a comment header)
        and the warnings.

    Raises:
        ConfigFileError: a file that cannot be read, or a value that cannot be converted; the message
            starts with the file, then the key path.
    """
    from mmhooks.legacy.migrate_tree import chain_sources, find_helpers

    try:
        converted, notes = convert_mmcv_config(load_mmcv_file(old_path), exact=exact,
                                               iters_per_epoch=iters_per_epoch)
    except ConfigError as err:
        raise located(err, old_path) from None
    for helper in find_helpers(chain_sources(str(old_path))):  # read only by keys converted away
        converted.pop(helper, None)
    header = f"Converted from {Path(old_path).name} by mmhooks migrate."
    if notes:
        header += "\nLossy items:\n" + "\n".join(f"- {n}" for n in notes)
    text = format_config(converted, header)
    if new_path is not None:
        Path(new_path).write_text(text)
    return text, notes
