"""End to end: unchanged mmpretrain configs under MMEngine's ``tools/train.py`` and under ``mmhooks train``.

Each scenario trains one of mmpretrain 1.2.0's own configs (shipped in its wheel
under ``mmpretrain/.mim/configs``) twice from the same seed: with mmpretrain's
``tools/train.py`` (MMEngine's Runner) and with ``mmhooks train``, then compares
what the two work_dirs hold: the file names, every checkpoint (weights, optimizer
state, scheduler state, message hub, ``meta``), ``last_checkpoint``, the
per-iteration scalars (lr, loss, validation metrics), the config dump, the images
the visualization hook drew, and the log from the hook table on.

Needs, next to mmhooks and its test extra:

    pip install mmpretrain==1.2.0 mmcv-lite==2.2.0 mmengine-lite==0.10.7
    pip install torchvision==<the release that matches your torch>   # mmpretrain imports it

The data is a CIFAR-10 folder in CIFAR-10's python-pickle format, generated
here (seeded random images and labels): nothing is downloaded. mmpretrain checks
the real files' md5 sums; the child processes skip that check (the same way in
both runs) because generated files cannot match them.

    python benchmarks/e2e_openmmlab.py                        # every scenario
    python benchmarks/e2e_openmmlab.py --scenarios cifar10,resume --root /tmp/e2e
    python benchmarks/e2e_openmmlab.py --list

The runs are deterministic (``randomness.deterministic=True``, one thread each);
differences are reported with their size. Exit status 1 when anything differs
beyond the tolerances printed with the result.
"""

from __future__ import annotations

import argparse
import difflib
import glob
import json
import os
import os.path as osp
import pickle
import re
import runpy
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

# ----------------------------------------------------------------------------- scenarios
# What differs between the two runs and is not a difference of behaviour.
TIMING_KEYS = {"time", "data_time", "eta"}
# tools/train.py's merge_args adds these to the config before the Runner sees it; `mmhooks train` does not.
TRAIN_PY_ADDITIONS = {"launcher"}
TRAIN_PY_LOADER_DEFAULTS = {"collate_fn", "pin_memory", "persistent_workers"}
# Log lines known to differ, each with why: (pattern on a "-" MMEngine / "+" mmhooks diff line, reason).
KNOWN_LOG_LINES = [
    # MMEngine's CheckpointHook builds a FileClient in before_train, which warns about MMEngine's own deprecations.
    (r'^-.* - WARNING - "FileClient" will be deprecated in future', "MMEngine's own deprecation warnings"),
    (r'^-.* - WARNING - "HardDiskBackend" is the alias of "LocalBackend"', "MMEngine's own deprecation warnings"),
    # mmhooks says where a resumed run continues, after MMEngine's resume lines.
    (r"^\+.* - INFO - Resumed from .* \(epoch \d+, iter \d+\)$", "mmhooks' 'Resumed from <file> (epoch, iter)'"),
]
# Keys mmhooks adds to a checkpoint for Lightning (its loop state, its optimizer and scheduler lists).
LIGHTNING_KEYS = {"epoch", "global_step", "pytorch-lightning_version", "loops", "callbacks", "optimizer_states",
                  "lr_schedulers", "hparams_name", "hyper_parameters"}


@dataclass
class Phase:
    """One command both sides run: ``train`` (MMEngine: tools/train.py) or ``test`` (tools/test.py)."""

    command: str = "train"
    options: list[str] = field(default_factory=list)
    resume: bool = False
    checkpoint: str | None = None  # test: "<scenario>/<file>" of an earlier scenario's MMEngine work_dir


@dataclass
class Scenario:
    """One comparison: a config (relative to mmpretrain's configs, or a derived one written here) and options."""

    config: str
    help: str
    options: list[str] = field(default_factory=list)
    derived: str | None = None  # text of a config written to the scenario's folder (its _base_ is mmpretrain's)
    phases: list[Phase] = field(default_factory=lambda: [Phase()])
    load_from: str | None = None  # "<scenario>/<file>": both runs load that MMEngine checkpoint (load_from)
    epochs: int | None = 2  # train_cfg.max_epochs (None: the config's iteration-based schedule)
    # mmhooks' side: `mmhooks train` ("cli"), or mmpretrain's tools/train.py with its one Runner import
    # changed to mmhooks' ("train.py": Runner.from_cfg(mmengine.Config), the migration a user makes).
    entry: str = "cli"
    known_log: list[tuple[str, str]] = field(default_factory=list)  # (pattern, reason) as KNOWN_LOG_LINES

    def needs(self) -> list[str]:
        """Earlier scenarios whose checkpoints this one uses."""
        sources = [self.load_from] + [phase.checkpoint for phase in self.phases]
        return [source.split("/")[0] for source in sources if source]


RESUME = [Phase(options=["train_cfg.max_epochs=1"]), Phase(resume=True)]
# A resumed run initialises the model as MMEngine's does (same random draws), but Lightning has already put the
# checkpoint's weights back, so the initialisation table calls "ConstantInit: val=1" what MMEngine, initialising
# fresh weights, calls "The value is the same before and after calling `init_weights`". The weights that train
# are the checkpoint's either way.
INIT_TABLE_ON_RESUME = [(r"^[-+](The value is the same before and after calling `init_weights`|\w+Init: |"
                         r"Initialized by user-defined `init_weights`)", "the resumed run's initialisation table")]

ITER_BASED = """\
# mmseg's schedule shape (schedule_20k.py, default_runtime.py) on mmpretrain's CIFAR ResNet-18:
# iteration-based loop, InfiniteSampler, PolyLR by iteration, checkpoints and logs by iteration.
_base_ = ['{configs}/resnet/resnet18_8xb16_cifar10.py']
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
                     clip_grad=None)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=24, by_epoch=False)]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=24, val_interval=8)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8))
log_processor = dict(by_epoch=False)
"""

CUSTOM_HOOKS = """\
# Hooks that mmpretrain configs add: its EMAHook (resolved in the mmpretrain scope) and PreciseBNHook
# (which runs only when runner.train_loop is MMEngine's EpochBasedTrainLoop); a warm-up before the schedule.
_base_ = ['{configs}/resnet/resnet18_8xb16_cifar10.py']
custom_hooks = [
    dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL'),
    dict(type='PreciseBNHook', num_samples=32, interval=1),
]
param_scheduler = [
    dict(type='LinearLR', start_factor=0.25, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1, by_epoch=True, begin=1, end=2),
]
optim_wrapper = dict(clip_grad=dict(max_norm=5.0))
"""

SCENARIOS: dict[str, Scenario] = {
    "cifar10": Scenario("resnet/resnet18_8xb16_cifar10.py", "ResNet-18 on CIFAR-10, 2 epochs"),
    "from-cfg": Scenario("resnet/resnet18_8xb16_cifar10.py",
                         "mmpretrain's tools/train.py with mmhooks' Runner: Runner.from_cfg(mmengine.Config)",
                         entry="train.py"),
    "vis-autoscale": Scenario(
        "resnet/resnet18_8xb16_cifar10.py", "the runtime base's VisualizationHook enabled, auto_scale_lr enabled",
        ["default_hooks.visualization.enable=True", "auto_scale_lr.enable=True"]),
    "resume": Scenario("resnet/resnet18_8xb16_cifar10.py", "1 epoch, then --resume to the end", phases=RESUME,
                       known_log=INIT_TABLE_ON_RESUME),
    "load-from": Scenario("resnet/resnet18_8xb16_cifar10.py", "load_from MMEngine's epoch_1.pth of the resume run",
                          load_from="resume/epoch_1.pth"),
    "test": Scenario("resnet/resnet18_8xb16_cifar10.py", "tools/test.py / mmhooks test on the cifar10 run's epoch_2",
                     phases=[Phase("test", checkpoint="cifar10/epoch_2.pth")], epochs=None),
    "mixup": Scenario("resnet/resnet50_8xb16-mixup_cifar10.py", "ResNet-50, Mixup batch augment, multi-label head"),
    "mixup-resume": Scenario("resnet/resnet50_8xb16-mixup_cifar10.py",
                             "Mixup (torch's generator) across a resume", phases=RESUME,
                             known_log=INIT_TABLE_ON_RESUME),
    "mobilenet-v3": Scenario("mobilenet_v3/mobilenet-v3-small_8xb16_cifar10.py", "MobileNet-V3 small"),
    "iter-based": Scenario("iter_based.py", "mmseg's iteration-based schedule shape", derived=ITER_BASED,
                           epochs=None),
    "iter-resume": Scenario("iter_based.py", "the iteration-based run stopped at iteration 8, then resumed",
                            derived=ITER_BASED, epochs=None,
                            phases=[Phase(options=["train_cfg.max_iters=8"]), Phase(resume=True)],
                            known_log=INIT_TABLE_ON_RESUME),
    "custom-hooks": Scenario("custom_hooks.py", "EMAHook, PreciseBNHook, warm-up + cosine, clip_grad",
                             derived=CUSTOM_HOOKS),
}


def common_options(data_root: str, batch_size: int) -> list[str]:
    options = [f"{split}_dataloader.dataset.data_root={data_root}" for split in ("train", "val", "test")]
    options += [f"{split}_dataloader.num_workers=0" for split in ("train", "val", "test")]
    options += [f"train_dataloader.batch_size={batch_size}", f"val_dataloader.batch_size={batch_size}",
                "randomness.seed=0", "randomness.deterministic=True",
                "default_hooks.logger.interval=1"]
    return options


# ----------------------------------------------------------------------------- data
def write_cifar10(root: str, train_images: int, val_images: int) -> None:
    """CIFAR-10's python-pickle layout (five train batches, a test batch, the meta file), seeded random content."""
    import numpy as np

    folder = osp.join(root, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    per_batch = max(train_images // 5, 1)

    def write(name: str, count: int, label: str) -> None:
        entry = {"batch_label": label, "data": rng.integers(0, 256, size=(count, 3 * 32 * 32), dtype=np.uint8),
                 "labels": rng.integers(0, 10, size=count).tolist(), "filenames": [f"{i}.png" for i in range(count)]}
        with open(osp.join(folder, name), "wb") as file:
            pickle.dump(entry, file)

    for index in range(5):
        write(f"data_batch_{index + 1}", per_batch, f"training batch {index + 1} of 5")
    write("test_batch", val_images, "testing batch 1 of 1")
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(osp.join(folder, "batches.meta"), "wb") as file:
        pickle.dump({"label_names": names, "num_cases_per_batch": per_batch, "num_vis": 3 * 32 * 32}, file)


# ----------------------------------------------------------------------------- child processes
def mmpretrain_tool(command: str) -> str:
    import mmpretrain

    return osp.join(osp.dirname(mmpretrain.__file__), ".mim", "tools", f"{command}.py")


def child(which: str, command: str, argv: list[str]) -> None:
    """Run one side in this process, mmpretrain's md5 check skipped.

    ``mmengine``: mmpretrain's tools/<command>.py. ``mmhooks``: ``mmhooks <command>``.
    ``mmhooks-train.py``: tools/train.py with ``from mmengine.runner import Runner`` made mmhooks'.
    """
    import mmpretrain.datasets.cifar as cifar

    cifar.check_md5 = lambda *args, **kwargs: True  # generated files cannot carry the real md5 sums
    script = mmpretrain_tool(command)
    sys.argv = [script, *argv]
    if which == "mmengine":
        runpy.run_path(script, run_name="__main__")
        return
    if which == "mmhooks-train.py":
        with open(script) as file:
            source = file.read()
        original = "from mmengine.runner import Runner"
        if original not in source:
            raise RuntimeError(f"{script} no longer imports {original!r}")
        code = compile(source.replace(original, "from mmhooks.runner import Runner"), script, "exec")
        exec(code, {"__name__": "__main__", "__file__": script})  # noqa: S102 (mmpretrain's own script)
        return
    from mmhooks.cli import main

    sys.exit(main([command, *argv]))


def run_child(which: str, command: str, argv: list[str], log: str, cwd: str) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    start = time.perf_counter()
    with open(log, "a") as out:
        done = subprocess.run([sys.executable, osp.abspath(__file__), "--child", which, command, "--", *argv],
                              cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        with open(log) as out:
            tail = "".join(out.readlines()[-25:])
        raise RuntimeError(f"{which} run failed (exit {done.returncode}); the end of {log}:\n{tail}")
    return time.perf_counter() - start


def command_lines(scenario: Scenario, which: str, config: str, work_dir: str, options: list[str],
                  root: str) -> list[tuple[str, list[str]]]:
    """Each phase's (command, arguments) for one side."""
    lines = []
    for phase in scenario.phases:
        arguments = [config]
        if phase.checkpoint is not None:
            arguments.append(osp.join(root, phase.checkpoint.split("/")[0], "mmengine",
                                      phase.checkpoint.split("/", 1)[1]))
        arguments += ["--work-dir", work_dir]
        if phase.resume:
            arguments.append("--resume")
        if which != "mmhooks":  # tools/*.py set pin_memory (and persistent_workers) unless told not to
            arguments += ["--no-pin-memory"] + (["--no-persistent-workers"] if phase.command == "train" else [])
        lines.append((phase.command, [*arguments, "--cfg-options", *options, *phase.options]))
    return lines


def run_both(name: str, scenario: Scenario, root: str, configs: str, options: list[str]) -> dict[str, str]:
    """Both sides of a scenario, side by side (one thread each); returns their work_dirs."""
    import shutil
    import threading

    folder = osp.join(root, name)
    os.makedirs(folder, exist_ok=True)
    config = osp.join(configs, scenario.config)
    if scenario.derived is not None:
        config = osp.join(folder, scenario.config)
        with open(config, "w") as file:
            file.write(scenario.derived.format(configs=configs))
    options = list(options) + list(scenario.options)
    if scenario.epochs is not None:
        options.append(f"train_cfg.max_epochs={scenario.epochs}")
    if scenario.load_from is not None:
        source, file_name = scenario.load_from.split("/", 1)
        options.append(f"load_from={osp.join(root, source, 'mmengine', file_name)}")
    work_dirs, jobs = {}, []
    for side in ("mmengine", "mmhooks"):
        which = "mmhooks-train.py" if side == "mmhooks" and scenario.entry == "train.py" else side
        work_dir = work_dirs[side] = osp.join(folder, side)
        if osp.isdir(work_dir):
            shutil.rmtree(work_dir)
        jobs.append((which, command_lines(scenario, which, config, work_dir, options, root),
                     osp.join(folder, f"{side}.out")))
    errors: list[BaseException] = []

    def run_all(which: str, lines: list[tuple[str, list[str]]], log: str) -> None:
        try:
            if osp.exists(log):
                os.remove(log)
            for command, arguments in lines:
                run_child(which, command, arguments, log, cwd=root)
                time.sleep(1.1)  # the next phase gets a new timestamp folder
        except BaseException as err:  # reported after both finish
            errors.append(err)

    threads = [threading.Thread(target=run_all, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return work_dirs


# ----------------------------------------------------------------------------- comparison
@dataclass
class Result:
    item: str
    equal: bool
    detail: str = ""


def stamp_free(text: str) -> str:
    return re.sub(r"\d{8}_\d{6}", "<stamp>", text)


def files_of(work_dir: str) -> list[str]:
    paths = glob.glob(osp.join(work_dir, "**"), recursive=True)
    return sorted(stamp_free(osp.relpath(p, work_dir)) for p in paths if osp.isfile(p))


def run_dirs(work_dir: str) -> list[str]:
    return sorted(d for d in glob.glob(osp.join(work_dir, "*")) if re.fullmatch(r"\d{8}_\d{6}", osp.basename(d)))


class Differences:
    """Walks two nested values; records paths that differ and the largest numeric difference."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.max_abs = 0.0

    def walk(self, ours: Any, theirs: Any, path: str, skip: Callable[[str], bool] = lambda path: False) -> None:
        import numpy as np
        import torch

        if skip(path):
            return
        if type(theirs).__name__ == "HistoryBuffer":
            self.walk(_buffer(ours), _buffer(theirs), path, skip)
        elif isinstance(theirs, dict) and isinstance(ours, dict):
            for key in sorted(set(ours) | set(theirs), key=str):
                if key not in ours or key not in theirs:
                    if not skip(f"{path}.{key}"):
                        self.paths.append(f"{path}.{key} (only in {'mmhooks' if key in ours else 'MMEngine'})")
                    continue
                self.walk(ours[key], theirs[key], f"{path}.{key}", skip)
        elif isinstance(theirs, (list, tuple)) and isinstance(ours, (list, tuple)):
            if len(ours) != len(theirs):
                self.paths.append(f"{path} (length {len(ours)} vs {len(theirs)})")
                return
            for index, (a, b) in enumerate(zip(ours, theirs)):
                self.walk(a, b, f"{path}[{index}]", skip)
        elif isinstance(theirs, (torch.Tensor, np.ndarray)) or isinstance(ours, (torch.Tensor, np.ndarray)):
            a, b = torch.as_tensor(ours), torch.as_tensor(theirs)
            if a.shape != b.shape:
                self.paths.append(f"{path} (shape {tuple(a.shape)} vs {tuple(b.shape)})")
            elif not torch.equal(a, b):
                if a.is_floating_point() or b.is_floating_point():
                    self.max_abs = max(self.max_abs, float((a.double() - b.double()).abs().max()))
                self.paths.append(path)
        elif isinstance(theirs, float) or isinstance(ours, float):
            if not (isinstance(ours, (int, float)) and isinstance(theirs, (int, float))):
                self.paths.append(f"{path} ({ours!r} vs {theirs!r})")
            elif ours != theirs:
                self.max_abs = max(self.max_abs, abs(float(ours) - float(theirs)))
                self.paths.append(path)
        elif ours != theirs:
            self.paths.append(f"{path} ({str(ours)[:60]!r} vs {str(theirs)[:60]!r})")

    def result(self, item: str, atol: float = 0.0) -> Result:
        numeric_only = all(" (" not in p for p in self.paths)
        equal = not self.paths or (numeric_only and self.max_abs <= atol)
        detail = "bitwise equal" if not self.paths else f"max abs diff {self.max_abs:.3g}"
        if self.paths:
            detail += f"; {len(self.paths)} differing: " + ", ".join(self.paths[:4]) + (" ..." if len(self.paths) > 4
                                                                                     else "")
        return Result(item, equal, detail)


def _buffer(buffer: Any) -> Any:
    if type(buffer).__name__ != "HistoryBuffer":
        return buffer
    return {"log": list(buffer._log_history), "count": list(buffer._count_history), "max_length": buffer.max_length}


def load(path: str) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)


def compare_checkpoint(ours_path: str, theirs_path: str, atol: float) -> list[Result]:
    ours, theirs = load(ours_path), load(theirs_path)
    name = osp.basename(theirs_path)
    results = []
    for key in [key for key in theirs if key not in ("meta", "message_hub")]:  # weights, optimizer, schedulers, EMA
        diff = Differences()
        # mmhooks' scheduler state carries a format version MMEngine ignores on load.
        diff.walk(ours.get(key), theirs.get(key), key, skip=lambda path: path.endswith(".version"))
        results.append(diff.result(f"{name}: {key}", atol))
    diff = Differences()
    varying = ("cfg", "experiment_name", "last_ckpt", "mmengine_version", "eta", "time", "data_time")
    diff.walk(ours.get("message_hub"), theirs.get("message_hub"), "message_hub",
              skip=lambda path: path.rsplit(".", 1)[-1] in varying or path.rsplit("/", 1)[-1] in TIMING_KEYS)
    results.append(diff.result(f"{name}: message_hub (scalars, runtime info)", atol))
    diff = Differences()
    diff.walk(ours.get("meta"), theirs.get("meta"), "meta",
              skip=lambda path: path.rsplit(".", 1)[-1] in ("cfg", "experiment_name", "time", "mmengine_version",
                                                          "mmhooks_version"))
    results.append(diff.result(f"{name}: meta (epoch, iter, seed, dataset_meta)"))
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs) - LIGHTNING_KEYS)
    results.append(Result(f"{name}: top-level keys", not missing and not extra,
                          f"MMEngine's keys all present; Lightning's added: {sorted(set(ours) & LIGHTNING_KEYS)}"
                          if not missing and not extra else f"missing {missing}, unexpected {extra}"))
    versions = (theirs.get("meta", {}).get("mmengine_version"), ours.get("meta", {}).get("mmhooks_version"))
    results.append(Result(f"{name}: meta version key", True,
                          f"MMEngine writes mmengine_version={versions[0]!r}, mmhooks mmhooks_version={versions[1]!r}"))
    return results


def json_rows(work_dir: str, relative: str) -> list[dict[str, Any]]:
    """The rows of ``relative`` (``<stamp>`` for a run folder's name) in every run folder, oldest first."""
    rows: list[dict[str, Any]] = []
    for run_dir in run_dirs(work_dir):
        path = osp.join(run_dir, relative.replace("<stamp>", osp.basename(run_dir)))
        if osp.exists(path):
            with open(path) as file:
                rows.extend(json.loads(line) for line in file if line.strip())
    return rows


def json_logs(work_dir: str) -> list[str]:
    """MMEngine's json logs, relative to a run folder: vis_data/scalars.json, vis_data/<stamp>.json, <stamp>.json."""
    found = set()
    for run_dir in run_dirs(work_dir):
        for path in glob.glob(osp.join(run_dir, "**", "*.json"), recursive=True):
            found.add(stamp_free(osp.relpath(path, run_dir)))
    return sorted(found)


def compare_scalars(ours_dir: str, theirs_dir: str, relative: str, atol: float) -> Result:
    ours, theirs = json_rows(ours_dir, relative), json_rows(theirs_dir, relative)
    diff = Differences()
    diff.walk(ours, theirs, relative, skip=lambda path: path.rsplit(".", 1)[-1] in TIMING_KEYS)
    result = diff.result(f"{relative}: per-iteration lr, loss, metrics ({len(theirs)} rows)", atol)
    metrics = sorted({key for row in theirs for key in row if "/" in key or key.startswith("accuracy")})
    if metrics:
        result.detail += f"; metric keys {metrics}"
    return result


def normalised_log(work_dir: str) -> list[str]:
    lines: list[str] = []
    for run_dir in run_dirs(work_dir):
        path = osp.join(run_dir, osp.basename(run_dir) + ".log")
        with open(path) as file:
            text = file.read()
        start = text.find("Hooks will be executed in the following order")
        body = text[start:] if start >= 0 else text
        body = re.sub(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", "<when>", body)
        body = re.sub(r"\b(time|data_time|eta): [0-9:.]+", r"\1: <t>", body)
        body = stamp_free(body.replace(work_dir, "<work_dir>"))
        lines.extend(body.splitlines())
    return lines


def compare_logs(ours_dir: str, theirs_dir: str, known_patterns: list[tuple[str, str]]) -> Result:
    ours, theirs = normalised_log(ours_dir), normalised_log(theirs_dir)
    changed = [line for line in difflib.unified_diff(theirs, ours, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    known: dict[str, int] = {}
    unexplained = []
    for line in changed:
        reason = next((why for pattern, why in KNOWN_LOG_LINES + known_patterns if re.search(pattern, line)), None)
        if reason is None:
            unexplained.append(line)
        else:
            known[reason] = known.get(reason, 0) + 1
    detail = f"{len(theirs)} lines from the hook table on, times and paths masked"
    if known:
        detail += "; known differences left out: " + ", ".join(f"{reason} ({count} lines)"
                                                               for reason, count in known.items())
    if unexplained:
        detail += f"; {len(unexplained)} lines differ (- MMEngine, + mmhooks): " + " | ".join(unexplained[:6])
    return Result("log", not unexplained, detail)


def config_values(path: str) -> dict[str, Any]:
    from mmengine.config import Config

    values = Config.fromfile(path).to_dict()
    for key in TRAIN_PY_ADDITIONS | {"work_dir"}:
        values.pop(key, None)
    for key, value in values.items():
        if key.endswith("_dataloader") and isinstance(value, dict):
            for default in TRAIN_PY_LOADER_DEFAULTS:
                value.pop(default, None)
    return values


def compare_config_dump(ours_dir: str, theirs_dir: str) -> Result:
    dumps = [p for p in glob.glob(osp.join(theirs_dir, "*.py"))]
    if not dumps:
        return Result("config dump", False, "MMEngine wrote no config dump")
    name = osp.basename(dumps[0])
    ours_path = osp.join(ours_dir, name)
    if not osp.exists(ours_path):
        return Result("config dump", False, f"mmhooks wrote no {name}")
    diff = Differences()
    diff.walk(config_values(ours_path), config_values(dumps[0]), "cfg")
    result = diff.result(f"config dump {name}: values (tools/train.py's launcher and loader defaults left out)")
    with open(ours_path) as a, open(dumps[0]) as b:
        same_text = a.read() == b.read()
    result.detail += "; text identical" if same_text else "; text laid out differently (MMEngine formats with yapf)"
    return result


def compare_images(ours_dir: str, theirs_dir: str) -> Result | None:
    import cv2

    theirs = sorted(glob.glob(osp.join(theirs_dir, "*", "vis_data", "vis_image", "*.png")))
    if not theirs:
        return None
    different = []
    for path in theirs:
        mirror = glob.glob(osp.join(ours_dir, "*", "vis_data", "vis_image", osp.basename(path)))
        if not mirror:
            different.append(f"{osp.basename(path)} missing")
            continue
        a, b = cv2.imread(mirror[0], cv2.IMREAD_UNCHANGED), cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if a is None or b is None or a.shape != b.shape or (a != b).any():
            different.append(osp.basename(path))
    return Result(f"visualization images ({len(theirs)})", not different,
                  "pixel-equal" if not different else f"differ: {different}")


def compare(ours_dir: str, theirs_dir: str, atol: float, known_log: list[tuple[str, str]]) -> list[Result]:
    results = []
    ours_files, theirs_files = files_of(ours_dir), files_of(theirs_dir)
    only_theirs = sorted(set(theirs_files) - set(ours_files))
    only_ours = sorted(set(ours_files) - set(theirs_files))
    results.append(Result(f"files ({len(theirs_files)})", not only_theirs and not only_ours,
                          "same names" if not only_theirs and not only_ours
                          else f"only MMEngine: {only_theirs}; only mmhooks: {only_ours}"))
    if osp.exists(osp.join(theirs_dir, "last_checkpoint")):
        with open(osp.join(theirs_dir, "last_checkpoint")) as a, open(osp.join(ours_dir, "last_checkpoint")) as b:
            last = (a.read().replace(theirs_dir, "<work_dir>"), b.read().replace(ours_dir, "<work_dir>"))
        results.append(Result("last_checkpoint", last[0] == last[1], last[0]))
    for path in sorted(glob.glob(osp.join(theirs_dir, "*.pth"))):
        mirror = osp.join(ours_dir, osp.basename(path))
        if osp.exists(mirror):
            results.extend(compare_checkpoint(mirror, path, atol))
    for relative in json_logs(theirs_dir):
        results.append(compare_scalars(ours_dir, theirs_dir, relative, atol))
    results.append(compare_config_dump(ours_dir, theirs_dir))
    images = compare_images(ours_dir, theirs_dir)
    if images is not None:
        results.append(images)
    results.append(compare_logs(ours_dir, theirs_dir, known_log))
    return results


# ----------------------------------------------------------------------------- main
def main() -> int:
    if sys.argv[1:2] == ["--child"]:  # e2e_openmmlab.py --child <side> <train|test> -- <arguments>
        child(sys.argv[2], sys.argv[3], sys.argv[5:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated names (see --list)")
    parser.add_argument("--root", default=osp.join(os.getcwd(), "work_dirs", "e2e_openmmlab"),
                        help="folder for the data and both runs' work_dirs")
    parser.add_argument("--train-images", type=int, default=80)
    parser.add_argument("--val-images", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--atol", type=float, default=0.0, help="tolerance for numbers (default: bitwise)")
    parser.add_argument("--compare-only", action="store_true", help="compare the work_dirs a previous run left")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for name, scenario in SCENARIOS.items():
            print(f"{name:<14} {scenario.config:<50} {scenario.help}")
        return 0
    import mmpretrain

    configs = osp.join(osp.dirname(mmpretrain.__file__), ".mim", "configs")
    root = osp.abspath(args.root)
    data_root = osp.join(root, "cifar10")
    write_cifar10(data_root, args.train_images, args.val_images)
    options = common_options(data_root, args.batch_size)
    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; names are {list(SCENARIOS)}")
    for name in list(names):  # a scenario that loads another's checkpoints runs after it
        for source in SCENARIOS[name].needs():
            if source not in names[: names.index(name)] and not osp.isdir(osp.join(root, source, "mmengine")):
                names.insert(names.index(name), source)
    failures = 0
    for name in names:
        scenario = SCENARIOS[name]
        print(f"\n== {name}: {scenario.help} ({scenario.config})", flush=True)
        if args.compare_only:
            work_dirs = {which: osp.join(root, name, which) for which in ("mmengine", "mmhooks")}
        else:
            start = time.perf_counter()
            work_dirs = run_both(name, scenario, root, configs, options)
            print(f"   ran both in {time.perf_counter() - start:.0f} s", flush=True)
        for result in compare(work_dirs["mmhooks"], work_dirs["mmengine"], args.atol, scenario.known_log):
            failures += not result.equal
            print(f"   [{'same' if result.equal else 'DIFF'}] {result.item}: {result.detail}", flush=True)
    print(f"\n{failures} differences" if failures else "\nno differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
