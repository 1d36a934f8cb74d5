"""Migrate every config shipped in MMCV-era OpenMMLab wheels as ``_base_`` trees, and check the results.

    python benchmarks/migrate_corpus.py                       # mmdet 2.28.2, mmsegmentation 0.30.0, mmcls 0.25.0
    python benchmarks/migrate_corpus.py --cache ~/.cache/mmhooks-corpus --json counts.json

The wheels are fetched once with ``pip download --no-deps`` into ``--cache`` (default
``$MMHOOKS_CORPUS_CACHE`` or ``~/.cache/mmhooks-corpus``); their configs live under ``<pkg>/.mim/configs``.
For each package the whole ``configs/`` folder goes through :func:`mmhooks.legacy.migrate_tree.migrate_tree`
(which reads every written file back with ``mmhooks.config.Config`` and compares it with the conversion of
the merged MMCV config). Then every written file is also read by MMEngine's own ``Config``, and every
schedule is run both ways:

* MMCV side: mmhooks' MMCV-formula updaters (:mod:`mmhooks.legacy.lr_updater`, tested against MMCV 1.7.2);
* MMEngine side: mmengine's schedulers built from the written file, stepped like its ParamSchedulerHook;

with ``--epoch-length`` batches per epoch (iteration-based runs use their ``max_iters``). A schedule whose lr
or momentum differs at some iteration by more than 1e-9 (relative) must carry a warning for its key:
``exact`` or ``warned`` is the requirement, ``unflagged`` a failure. Identical schedules are run once.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import time
import warnings
import zipfile
from collections import Counter
from types import SimpleNamespace
from typing import Any

PACKAGES = ("mmdet==2.28.2", "mmsegmentation==0.30.0", "mmcls==0.25.0")
TOLERANCE = 1e-9


def fetch(spec: str, cache: str) -> str:
    """The ``configs`` folder of ``spec``'s wheel, downloaded and unpacked into ``cache`` once."""
    name, version = spec.split("==")
    target = osp.join(cache, f"{name}-{version}")
    marker = osp.join(target, ".complete")
    if not osp.exists(marker):
        os.makedirs(cache, exist_ok=True)
        wheel = [f for f in os.listdir(cache) if f.startswith(f"{name}-{version}-") and f.endswith(".whl")]
        if not wheel:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", cache, spec],
                           check=True)
            wheel = [f for f in os.listdir(cache) if f.startswith(f"{name}-{version}-") and f.endswith(".whl")]
        with zipfile.ZipFile(osp.join(cache, wheel[0])) as archive:
            members = [m for m in archive.namelist() if "/.mim/configs/" in m]
            archive.extractall(target, members)
        open(marker, "w").close()
    for root, dirs, _ in os.walk(target):
        if osp.basename(root) == ".mim" and "configs" in dirs:
            return osp.join(root, "configs")
    raise FileNotFoundError(f"{spec}: no .mim/configs in the wheel")


# ------------------------------------------------------------------------------------------ schedules


def _mmcv_trace(mmcv_cfg: dict[str, Any], by_epoch: bool, epochs: int | None, total: int, length: int,
                key: str) -> list[float]:
    import torch

    from mmhooks.legacy.lr_updater import build_lr_updater
    from mmhooks.legacy.momentum_updater import build_momentum_updater

    opt = mmcv_cfg.get("optimizer") or {}
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=float(opt.get("lr", 0.1)),
                                momentum=_momentum(opt))
    hooks = []
    if mmcv_cfg.get("lr_config"):
        hooks.append(build_lr_updater(dict(mmcv_cfg["lr_config"]), by_epoch_default=by_epoch))
    if mmcv_cfg.get("momentum_config"):
        hooks.append(build_momentum_updater(dict(mmcv_cfg["momentum_config"])))
    runner = SimpleNamespace(epoch=0, iter=0, max_epochs=epochs, max_iters=total, optimizer=optimizer,
                             data_loader=range(length))
    for hook in hooks:
        hook.before_run(runner)
    seen = []
    group = optimizer.param_groups[0]
    for t in range(total):
        if t % length == 0 and (by_epoch or t == 0):
            runner.epoch = t // length if by_epoch else 0
            for hook in hooks:
                hook.before_train_epoch(runner)
        runner.iter = t
        for hook in hooks:
            hook.before_train_iter(runner)
        seen.append(float(group[key]))
    return seen


def _momentum(opt: dict[str, Any]) -> float:
    if "momentum" in opt:
        return float(opt["momentum"])
    betas = opt.get("betas")
    return float(betas[0]) if betas else 0.9


def _mmengine_trace(schedulers: list[dict[str, Any]], mmcv_cfg: dict[str, Any], by_epoch: bool, total: int,
                    length: int, key: str) -> list[float]:
    import mmengine.optim  # noqa: F401 - registers the schedulers
    import torch
    from mmengine.registry import PARAM_SCHEDULERS

    opt = mmcv_cfg.get("optimizer") or {}
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=float(opt.get("lr", 0.1)),
                                momentum=_momentum(opt))
    built = []
    for cfg in copy.deepcopy(schedulers):
        cls = PARAM_SCHEDULERS.get(cfg.pop("type"))
        if cfg.pop("convert_to_iter_based", False):
            built.append(cls.build_iter_from_epoch(optimizer, epoch_length=length, **cfg))
        else:
            built.append(cls(optimizer, **cfg))
    seen = []
    group = optimizer.param_groups[0]
    for t in range(total):
        seen.append(float(group[key]))
        for scheduler in built:
            if not scheduler.by_epoch:
                scheduler.step()
        if by_epoch and (t + 1) % length == 0:
            for scheduler in built:
                if scheduler.by_epoch:
                    scheduler.step()
    return seen


def check_schedule(mmcv_cfg: dict[str, Any], written: dict[str, Any], length: int) -> dict[str, float]:
    """Worst relative lr / momentum difference per MMCV key (``lr_config``, ``momentum_config``)."""
    runner = mmcv_cfg.get("runner") or {"type": "EpochBasedRunner", "max_epochs": mmcv_cfg.get("total_epochs")}
    by_epoch = runner.get("type", "EpochBasedRunner") != "IterBasedRunner"
    epochs = runner.get("max_epochs") if by_epoch else None
    total = int(epochs) * length if by_epoch else int(runner["max_iters"])
    per_epoch = length if by_epoch else total
    schedulers = written.get("param_scheduler") or []
    schedulers = [schedulers] if isinstance(schedulers, dict) else list(schedulers)
    worst: dict[str, float] = {}
    for key, value_key, stem in (("lr_config", "lr", "LR"), ("momentum_config", "momentum", "Momentum")):
        if not mmcv_cfg.get(key):
            continue
        mine = [s for s in schedulers if s["type"].endswith(stem)]
        got = _mmengine_trace(mine, mmcv_cfg, by_epoch, total, per_epoch, value_key)
        want = _mmcv_trace(mmcv_cfg, by_epoch, epochs, total, per_epoch, value_key)
        worst[key] = max((abs(g - w) / abs(w) if w else abs(g - w)) for g, w in zip(got, want))
    return worst


def _schedule_signature(mmcv_cfg: dict[str, Any], written: dict[str, Any]) -> str:
    keys = ("lr_config", "momentum_config", "runner", "total_epochs")
    opt = mmcv_cfg.get("optimizer") or {}
    picked = {k: mmcv_cfg.get(k) for k in keys}
    picked["optimizer"] = {k: opt.get(k) for k in ("lr", "momentum", "betas")}
    picked["param_scheduler"] = written.get("param_scheduler")
    return json.dumps(picked, sort_keys=True, default=repr)


# ---------------------------------------------------------------------------------------------- main


def run_package(spec: str, cache: str, out_root: str, length: int) -> dict[str, Any]:
    from mmengine.config import Config as MMEngineConfig

    from mmhooks.config import Config
    from mmhooks.legacy.config_source import read_config_values
    from mmhooks.legacy.convert import convert_with_sources
    from mmhooks.legacy.lr_updater import LR_POLICIES, policy_class_name
    from mmhooks.legacy.migrate_tree import migrate_tree
    from mmhooks.legacy.momentum_updater import MOMENTUM_POLICIES

    configs = fetch(spec, cache)
    out_dir = osp.join(out_root, spec.split("==")[0])
    started = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = migrate_tree(configs, out_dir)
    migrate_s = time.time() - started
    loads = Counter()
    schedules = Counter()
    problems: list[str] = []
    traces: dict[str, dict[str, float]] = {}
    for item in report.files:
        if item.status == "failed":
            continue
        written_path = osp.join(out_dir, item.path)
        written = Config.fromfile(written_path, import_custom_modules=False).to_dict()
        loads["mmhooks"] += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                MMEngineConfig.fromfile(written_path, import_custom_modules=False)
            loads["mmengine"] += 1
        except Exception as err:  # noqa: BLE001 - counted and listed
            problems.append(f"{item.path}: mmengine.Config: {type(err).__name__}: {err}")
        mmcv_cfg = read_config_values(osp.join(configs, item.path))
        if not (mmcv_cfg.get("lr_config") or mmcv_cfg.get("momentum_config")):
            continue
        has_length = mmcv_cfg.get("runner") or mmcv_cfg.get("total_epochs")
        if not has_length:
            schedules["no run length (base file)"] += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notes = convert_with_sources(mmcv_cfg).warnings
        custom = [key for key, names in (("lr_config", LR_POLICIES), ("momentum_config", MOMENTUM_POLICIES))
                  if mmcv_cfg.get(key) and policy_class_name(str(mmcv_cfg[key].get("policy"))) not in names]
        if custom:  # a downstream updater (MMDet's YOLOX policy): kept as a hook, to port by hand
            for key in custom:
                flagged = any(note.startswith(f"{key}.policy") for note in notes)
                schedules["own policy, warned" if flagged else "unflagged"] += 1
            continue
        signature = _schedule_signature(mmcv_cfg, written)
        if signature not in traces:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traces[signature] = check_schedule(mmcv_cfg, written, length)
        for key, worst in traces[signature].items():
            if worst <= TOLERANCE:
                schedules["exact"] += 1
            elif any(note.startswith(key) for note in notes):
                schedules["warned"] += 1
            else:
                schedules["unflagged"] += 1
                problems.append(f"{item.path}: {key}: differs by {worst:.3g} with no warning")
    return {"package": spec, "files": len(report.files), "status": report.counts(), "loads": dict(loads),
            "schedules": dict(schedules), "unique_schedules": len(traces), "problems": problems,
            "failed": {f.path: f.error for f in report.files if f.status == "failed"},
            "migrate_seconds": round(migrate_s, 1), "total_seconds": round(time.time() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=os.environ.get("MMHOOKS_CORPUS_CACHE",
                                                          osp.expanduser("~/.cache/mmhooks-corpus")))
    parser.add_argument("--out", default=None, help="where the migrated trees go (default: <cache>/migrated)")
    parser.add_argument("--packages", nargs="+", default=list(PACKAGES))
    parser.add_argument("--epoch-length", type=int, default=5, help="batches per epoch for the schedule runs")
    parser.add_argument("--json", help="write the counts here")
    args = parser.parse_args(argv)
    out_root = args.out or osp.join(args.cache, "migrated")
    results = [run_package(spec, args.cache, out_root, args.epoch_length) for spec in args.packages]
    for result in results:
        status, loads, schedules = result["status"], result["loads"], result["schedules"]
        print(f"{result['package']}: {result['files']} files: " + ", ".join(f"{v} {k}" for k, v in status.items())
              + f"; loaded by mmhooks {loads.get('mmhooks', 0)}, mmengine {loads.get('mmengine', 0)}; schedules "
              + ", ".join(f"{v} {k}" for k, v in sorted(schedules.items()))
              + f" ({result['unique_schedules']} distinct); {result['migrate_seconds']} s")
        for path, error in result["failed"].items():
            print(f"  failed {path}: {error}")
        for problem in result["problems"]:
            print(f"  PROBLEM {problem}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    bad = sum(len(r["problems"]) for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
