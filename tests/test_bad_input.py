"""Malformed input gives one error (or warning) naming the key path or file, the bad value, what is accepted and a fix.

Each case breaks one key of a tiny valid run and goes through the front door a
user would use: ``Runner.from_cfg(Config(...)).train()``, ``Config.fromfile`` or
``parse_cfg_options``. Every message kind is pinned in full once; the other
cases of that kind check the key path prefix and the ``Fix:``. Runs go through
each backend (the config key ``backend``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import mmhooks.testing.examples  # noqa: F401  (registers SmallCNN, SyntheticImages, TopOneAccuracy)
from backends import backend  # noqa: F401  (the fixture)
from bad_input_runs import loader, tiny_cfg
from mmhooks.config import Config, ConfigFileError, parse_cfg_options
from mmhooks.errors import ConfigError
from mmhooks.hooks import Hook
from mmhooks.runner import Runner
from mmhooks.runner.checkpoint import CheckpointLoadError, UnsafeCheckpointError, load_checkpoint_file
from mmhooks.runner.hook_list import HookError

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*")


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.disable(logging.INFO)
    yield
    logging.disable(logging.NOTSET)


# ----------------------------------------------------------------------------- a finished run to break things with
@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work_dir after one good epoch: ``epoch_1.pth`` and ``last_checkpoint``."""
    work_dir = tmp_path_factory.mktemp("good_run")
    logging.disable(logging.INFO)
    Runner.from_cfg(Config(tiny_cfg(str(work_dir)))).train()
    logging.disable(logging.NOTSET)
    assert (work_dir / "epoch_1.pth").is_file()
    return work_dir


@pytest.fixture(scope="module")
def damaged(good_run: Path) -> dict[str, str]:
    """Checkpoint files that cannot be used: truncated, not a torch file, needing unpickling, not resumable."""
    out = good_run.parent / "damaged"
    out.mkdir(exist_ok=True)
    data = (good_run / "epoch_1.pth").read_bytes()
    (out / "truncated.pth").write_bytes(data[: len(data) // 2])
    (out / "garbage.pth").write_bytes(b"not a checkpoint\n" * 8)
    state = load_checkpoint_file(good_run / "epoch_1.pth")["state_dict"]
    torch.save(dict(state_dict=state, meta=argparse.Namespace(epoch=1)), out / "unsafe.pth")
    torch.save(dict(state_dict=state, meta=dict(epoch=1, iter=2)), out / "weights_only.pth")
    return {path.stem: str(path) for path in out.iterdir()}


def _run(cfg: dict[str, Any], stage: str = "train", backend: str = "lightning") -> Any:
    runner = Runner.from_cfg(Config({**cfg, "backend": backend}))
    return getattr(runner, stage)()


def _config_error_in(err: BaseException) -> BaseException:
    """The ConfigError a wrapper (HookError, ...) was raised from, else ``err`` itself (what the CLI prints)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ConfigError):
            return seen
        seen = seen.__cause__
    return err


# ----------------------------------------------------------------------------- the cases
@dataclasses.dataclass
class Case:
    """One broken key: ``overrides`` of :func:`tiny_cfg` (a callable gets the damaged files), and the expectation.

    ``message`` is the whole message when ``full``, else its start (the key path or file), or a dict of
    those by backend; ``error`` is the type the user catches; ``stage`` is the Runner method that is called
    after ``from_cfg``.
    """

    overrides: dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]]
    error: type[BaseException]
    message: str | dict[str, str]
    full: bool = False
    stage: str = "train"


def _scheduler(*cfgs: dict[str, Any]) -> dict[str, Any]:
    return dict(param_scheduler=list(cfgs))


CASES: dict[str, Case] = {
    # hooks
    "hook-unknown-type": Case(
        dict(custom_hooks=[dict(type="EMAHok")]), ConfigError,
        "custom_hooks[0].type: got 'EMAHok'; expected a registered hook ("),
    "hook-invalid-priority-name": Case(
        dict(custom_hooks=[dict(type="EMAHook", priority="HIGHER")]), ConfigError,
        "custom_hooks[0].priority: got 'HIGHER'; expected an int in [0, 100] or one of ['ABOVE_NORMAL', "
        "'BELOW_NORMAL', 'HIGH', 'HIGHEST', 'LOW', 'LOWEST', 'NORMAL', 'VERY_HIGH', 'VERY_LOW']. "
        "Fix: use e.g. priority='NORMAL' (lower runs earlier).", full=True),
    "hook-priority-out-of-range": Case(
        dict(custom_hooks=[dict(type="EMAHook", priority=200)]), ConfigError,
        "custom_hooks[0].priority: got 200; expected an int in [0, 100]"),
    "hook-unknown-argument": Case(
        dict(custom_hooks=[dict(type="EMAHook", momentm=0.1)]), ConfigError,
        "custom_hooks[0].momentm: got 0.1; expected an argument of EMAHook or ExponentialMovingAverage "
        "(begin_epoch, begin_iter, device, ema_type, interval, momentum, strict_load, update_buffers). "
        "Fix: rename it to 'momentum'.", full=True),
    "hook-unknown-ema-type": Case(
        dict(custom_hooks=[dict(type="EMAHook", ema_type="ExponentialMovingAvg")]), ConfigError,
        "custom_hooks[0].ema_type: got 'ExponentialMovingAvg'; expected a registered averaged model ("),
    "custom-hooks-not-a-list": Case(
        dict(custom_hooks=dict(type="EMAHook")), ConfigError,
        "custom_hooks: got {'type': 'EMAHook'}; expected a list of hook configs or hooks. "
        "Fix: write custom_hooks=[dict(type='EMAHook')].", full=True),
    "default-hooks-misspelt-name": Case(
        dict(default_hooks=dict(checkpiont=dict(type="CheckpointHook", interval=1))), ConfigError,
        "default_hooks.checkpiont: got {'type': 'CheckpointHook', 'interval': 1}; expected one of the default hook "
        "names ['checkpoint', 'logger', 'param_scheduler', 'runtime_info', 'sampler_seed', 'timer'] (as written, "
        "a second CheckpointHook would run beside default_hooks.checkpoint). Fix: did you mean 'checkpoint'?",
        full=True),
    "default-hooks-remove-unknown": Case(
        dict(default_hooks=dict(loger=None)), ConfigError, "default_hooks.loger: got None; expected one of the "),
    "checkpoint-hook-bad-rule": Case(
        dict(default_hooks=dict(checkpoint=dict(type="CheckpointHook", save_best="auto", rule="bigger"))),
        ConfigError, "default_hooks.checkpoint.rule: got 'bigger'; expected one of ['greater', 'less']"),
    "save-best-metric-never-produced": Case(
        dict(default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1, save_best="accuracy/top5"))),
        HookError,
        "default_hooks.checkpoint.save_best: got 'accuracy/top5'; expected a metric key the evaluator returns "
        "(accuracy/top1). Fix: did you mean 'accuracy/top1'?", full=True),
    # parameter schedulers
    "scheduler-begin-not-before-end": Case(
        _scheduler(dict(type="LinearLR", begin=0, end=2, by_epoch=False),
                   dict(type="CosineAnnealingLR", begin=3, end=3, T_max=1)), ConfigError,
        "param_scheduler[1].end: got 3; expected a step greater than begin (3). Fix: raise end or lower begin.",
        full=True),
    "scheduler-unknown-type": Case(
        _scheduler(dict(type="CosineLR")), ConfigError,
        "param_scheduler[0].type: got 'CosineLR'; expected a registered parameter scheduler ("),
    "scheduler-missing-required": Case(
        _scheduler(dict(type="CosineRestartLR", periods=[2], restart_weights=[1])), ConfigError,
        "param_scheduler[0].eta_min: got None; expected exactly one of eta_min and eta_min_ratio (got "
        "{'eta_min': None, 'eta_min_ratio': None}). Fix: set eta_min (an absolute floor, e.g. 0.0) or "
        "eta_min_ratio, not both.", full=True),
    "scheduler-without-optim-wrapper": Case(
        dict(optim_wrapper=None, train_dataloader=None, train_cfg=None, param_scheduler=[dict(type="LinearLR")]),
        ConfigError,
        "optim_wrapper: got None; expected an optimizer wrapper when param_scheduler is set. "
        "Fix: add optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)).", full=True, stage="val"),
    # optimizer wrappers
    "optimizer-unknown-type": Case(
        dict(optim_wrapper=dict(optimizer=dict(type="SDG", lr=0.1))), ConfigError,
        "optim_wrapper.optimizer.type: got 'SDG'; expected a registered optimizer ("),
    "optimizer-unknown-argument": Case(
        dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentun=0.9))), ConfigError,
        "optim_wrapper.optimizer.momentun: got 0.9; expected an argument of SGD ("),
    "optim-wrapper-unknown-type": Case(
        dict(optim_wrapper=dict(type="AmpOptimWraper", optimizer=dict(type="SGD", lr=0.1))), ConfigError,
        "optim_wrapper.type: got 'AmpOptimWraper'; expected a registered optim_wrapper (AmpOptimWrapper, "
        "ApexOptimWrapper, OptimWrapper). Fix: did you mean 'AmpOptimWrapper'?", full=True),
    "optim-wrapper-zero-accumulation": Case(
        dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), accumulative_counts=0)), ConfigError,
        "optim_wrapper.accumulative_counts: got 0; expected an int >= 1."),
    "optim-wrapper-bad-clip-grad": Case(
        dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), clip_grad=dict(max_nrm=1))), ConfigError,
        "optim_wrapper.clip_grad.max_nrm: got 1; expected an argument of clip_grad_norm_ ("),
    "paramwise-cfg-unknown-key": Case(
        dict(optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1), paramwise_cfg=dict(bias_lr_mul=2))),
        ConfigError, "optim_wrapper.paramwise_cfg.bias_lr_mul: got 2; expected a paramwise_cfg key ("),
    # train_cfg
    "train-cfg-both-lengths": Case(
        dict(train_cfg=dict(max_epochs=1, max_iters=2)), ConfigError,
        "train_cfg.max_epochs: got {'max_epochs': 1, 'max_iters': 2}; expected exactly one of max_epochs or "
        "max_iters. Fix: set max_epochs=N for epoch-based or max_iters=N for iteration-based training.", full=True),
    "train-cfg-no-length": Case(
        dict(train_cfg=dict(by_epoch=True)), ConfigError,
        "train_cfg.max_epochs: got None; expected exactly one of max_epochs or max_iters. Fix: "),
    "train-cfg-misspelt-key": Case(
        dict(train_cfg=dict(max_epoch=1)), ConfigError,
        "train_cfg.max_epoch: got 1; expected a key of train_cfg (by_epoch, dynamic_intervals, max_epochs, "
        "max_iters, type, val_begin, val_interval). Fix: rename it to 'max_epochs'.", full=True),
    "train-cfg-zero-val-interval": Case(
        dict(train_cfg=dict(max_epochs=1, val_interval=0)), ConfigError,
        "train_cfg.val_interval: got 0; expected a positive int. Fix: "),
    # dataloaders
    "sampler-unknown-type": Case(
        dict(train_dataloader=loader(8, sampler=dict(type="DefaltSampler"))), ConfigError,
        "train_dataloader.sampler.type: got 'DefaltSampler'; expected a registered data sampler (DefaultSampler, "
        "InfiniteSampler). Fix: did you mean 'DefaultSampler'?", full=True),
    "dataset-unknown-type": Case(
        dict(train_dataloader=loader(8, dataset=dict(type="SynthImages"))), ConfigError,
        "train_dataloader.dataset.type: got 'SynthImages'; expected a registered dataset ("),
    "dataloader-without-dataset": Case(
        dict(val_dataloader=loader(4, dataset=None)), ConfigError,
        "val_dataloader.dataset: got None; expected a dataset config dict or a Dataset object. "
        "Fix: add dataset=dict(type=...) to the dataloader config.", full=True),
    "dataloader-unknown-key": Case(
        dict(train_dataloader=loader(8, shufle=True)), ConfigError,
        "train_dataloader.shufle: got True; expected a dataloader key ("),
    "collate-fn-unknown": Case(
        dict(train_dataloader=loader(8, collate_fn=dict(type="default_colate"))), ConfigError,
        "train_dataloader.collate_fn.type: got 'default_colate'; expected a registered function ("),
    "val-group-incomplete": Case(
        dict(val_evaluator=None), ConfigError,
        "val_evaluator: got None; expected set together with val_dataloader, val_cfg. "
        "Fix: set val_evaluator, or remove val_dataloader, val_cfg.", full=True),
    # evaluators
    "metric-unknown": Case(
        dict(val_evaluator=dict(type="TopOneAcc")), ConfigError,
        "val_evaluator.type: got 'TopOneAcc'; expected a registered metric ("),
    "torchmetrics-class-unknown": Case(
        dict(test_evaluator=dict(type="torchmetrics.classification.MulticlassAcuracy", num_classes=2)),
        ConfigError, "test_evaluator.type: got 'torchmetrics.classification.MulticlassAcuracy'; expected ",
        stage="test"),
    # model and runtime
    "model-unknown-type": Case(
        dict(model=dict(type="SmallCN")), ConfigError, "model.type: got 'SmallCN'; expected a registered model ("),
    "model-unknown-argument": Case(
        dict(model=dict(type="SmallCNN", widht=4)), ConfigError,
        "model.widht: got 4; expected an argument of SmallCNN (data_preprocessor, num_classes, width). "
        "Fix: rename it to 'width'.", full=True),
    "launcher-unknown": Case(
        dict(launcher="pytroch"), ConfigError,
        "launcher: got 'pytroch'; expected one of ['mpi', 'none', 'pytorch', 'slurm']. Fix: did you mean "
        "'pytorch'?", full=True),
    "vis-backend-unknown": Case(
        dict(visualizer=dict(type="Visualizer", vis_backends=[dict(type="TensorBoardVisBackend")])), ConfigError,
        "visualizer.vis_backends[0].type: got 'TensorBoardVisBackend'; expected a registered vis_backend ("),
    "log-processor-unknown-key": Case(
        dict(log_processor=dict(windw_size=10)), ConfigError,
        "log_processor.windw_size: got 10; expected an argument of LogProcessor ("),
    "work-dir-missing": Case(
        dict(work_dir=None), ConfigError,
        "work_dir: got None; expected a directory for checkpoints and logs. "
        "Fix: add work_dir='./work_dirs/my_run' or pass --work-dir.", full=True),
    # checkpoint files
    "load-from-missing-file": Case(
        lambda files: dict(load_from=files["truncated"] + ".gone"), ConfigError,
        "load_from: got '{truncated}.gone'; expected an existing checkpoint file. Fix: check the path (a relative "
        "path is relative to the current directory).", full=True),
    "load-from-truncated": Case(
        lambda files: dict(load_from=files["truncated"]), CheckpointLoadError, "{truncated}: cannot read"),
    "load-from-not-a-checkpoint": Case(
        lambda files: dict(load_from=files["garbage"]), CheckpointLoadError, "{garbage}: cannot read"),
    "resume-from-truncated": Case(
        lambda files: dict(resume=files["truncated"]), CheckpointLoadError, "{truncated}: cannot read"),
    "load-from-needs-unpickling": Case(
        lambda files: dict(load_from=files["unsafe"]), UnsafeCheckpointError,
        "{unsafe}: this checkpoint cannot be loaded with torch.load(weights_only=True)"),
    "resume-from-weights-only-file": Case(
        lambda files: dict(resume=files["weights_only"]), ConfigError, dict(
            lightning="resume: got '{weights_only}'; expected a checkpoint written by mmhooks (it carries "
            "Lightning's loop state). Fix: use load_from=path to start from its weights, or resume from a "
            "checkpoint of an mmhooks run.",
            fabric="resume: got '{weights_only}'; expected a checkpoint with MMEngine's training state (meta.epoch, "
            "meta.iter, state_dict, message_hub), as MMEngine's Runner and mmhooks write them. Fix: use "
            "load_from=path to start from its weights, or resume from a checkpoint of an MMEngine or mmhooks run."),
        full=True),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_run_config_gives_one_located_error(case: Case, damaged: dict[str, str], tmp_path: Path,
                                                backend: str) -> None:
    overrides = case.overrides(damaged) if callable(case.overrides) else case.overrides
    cfg = tiny_cfg(str(tmp_path / "work_dir"), **overrides)
    with pytest.raises(case.error) as excinfo:
        _run(cfg, case.stage, backend)
    message = str(_config_error_in(excinfo.value))
    expected = case.message[backend] if isinstance(case.message, dict) else case.message
    expected = expected.format(**damaged) if callable(case.overrides) else expected
    assert message in str(excinfo.value)  # a wrapper (HookError) carries the located message
    if case.full:
        assert message == expected
    else:
        assert message.startswith(expected)
        assert "Fix: " in message


def test_error_raised_during_a_run_names_hook_and_mount_point(tmp_path: Path, backend: str) -> None:
    cfg = tiny_cfg(str(tmp_path), default_hooks=dict(
        checkpoint=dict(type="CheckpointHook", interval=1, save_best="accuracy/top5")))
    with pytest.raises(Exception) as excinfo:
        _run(cfg, backend=backend)
    assert str(excinfo.value).startswith("CheckpointHook.after_val_epoch raised ConfigError: "
                                         "default_hooks.checkpoint.save_best: got 'accuracy/top5'")


def test_plateau_monitor_missing_from_metrics(tmp_path: Path, backend: str) -> None:
    cfg = tiny_cfg(str(tmp_path), train_cfg=dict(max_epochs=2),
                   param_scheduler=[dict(type="ReduceOnPlateauLR", monitor="loss_val")])
    with pytest.raises(Exception) as excinfo:
        _run(cfg, backend=backend)
    message = str(excinfo.value)
    assert message.startswith("ParamSchedulerHook.after_val_epoch raised ")
    assert ("ReduceOnPlateauLR.monitor: metric 'loss_val' is not among the validation metrics ['accuracy/top1']. "
            "Fix: set monitor to one of those keys, or log 'loss_val' during validation.") in message


# ----------------------------------------------------------------------------- warnings
def test_dataloader_without_batch_size_warns_naming_the_key(tmp_path: Path, backend: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import mmhooks.errors

    monkeypatch.setattr(mmhooks.errors, "_warned", set())  # once per process: each backend's run warns afresh
    cfg = tiny_cfg(str(tmp_path), train_dataloader=loader(2, batch_size=None))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run(cfg, backend=backend)
    ours = [str(w.message) for w in caught if str(w.message).startswith("train_dataloader")]
    assert ours == ["train_dataloader.batch_size: not set; DataLoader's default batch_size=1 is used. "
                    "Fix: set batch_size in the dataloader config."]


def test_resume_true_without_checkpoint_warns_and_trains_from_scratch(tmp_path: Path, backend: str) -> None:
    cfg = tiny_cfg(str(tmp_path), resume=True)
    with pytest.warns(UserWarning, match=r"^resume: got True but .*last_checkpoint does not exist; training starts "
                                         r"from scratch\. Fix: "):
        _run(cfg, backend=backend)
    assert (tmp_path / "epoch_1.pth").is_file()


# ----------------------------------------------------------------------------- config files and --cfg-options
FILE_CASES = {
    "python-syntax-error": ("cfg.py", "a = 1\nb = (1,\n", "{path}:2: got 'b = (1,'; expected valid Python"),
    "missing-base": ("cfg.py", "_base_ = ['./nope.py']\n", "{path}: _base_: got './nope.py'; expected an existing "
                     "config file"),
    "yaml-not-a-mapping": ("cfg.yaml", "- 1\n- 2\n", "{path}: got [1, 2]; expected a mapping of keys to values"),
    "yaml-syntax-error": ("cfg.yaml", "a: [1, 2\nb: 3\n", "{path}:2: got "),
    "json-syntax-error": ("cfg.json", '{"a": 1,\n "b": }', "{path}:2: got 'Expecting value'; expected valid JSON"),
    "unknown-extension": ("cfg.toml", "a = 1\n", "{path}: got '.toml'; expected a config file ending in one of "),
}


@pytest.mark.parametrize("name, text, expected", list(FILE_CASES.values()), ids=list(FILE_CASES))
def test_bad_config_file_names_the_file(name: str, text: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigFileError) as excinfo:
        Config.fromfile(path)
    message = str(excinfo.value)
    assert message.startswith(expected.format(path=path))
    assert "Fix: " in message


OPTION_CASES = {
    "no-equals": (["train_cfg.max_epochs"],
                  "train_cfg.max_epochs: got 'train_cfg.max_epochs'; expected a --cfg-options item of the form "
                  "KEY=VALUE. Fix: write the value after an '=', e.g. 'train_cfg.max_epochs=1'."),
    "unbalanced-brackets": (["a=[1,2"], "a: got '[1,2'; expected a --cfg-options value whose brackets"),
    "empty-key": (["=3"], "=3: got '=3'; expected a --cfg-options item of the form KEY=VALUE with a non-empty KEY"),
}


@pytest.mark.parametrize("options, expected", list(OPTION_CASES.values()), ids=list(OPTION_CASES))
def test_bad_cfg_options(options: list[str], expected: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_cfg_options(options)
    message = str(excinfo.value)
    assert message.startswith(expected)
    assert "Fix: " in message


def test_cfg_option_that_cannot_merge_names_the_key(tmp_path: Path) -> None:
    cfg = Config(dict(train_cfg=dict(max_epochs=1)))
    with pytest.raises(ConfigError) as excinfo:
        cfg.merge_from_dict(parse_cfg_options(["train_cfg.max_epochs.x=1"]))
    assert str(excinfo.value).startswith("train_cfg.max_epochs: got {'x': 1}; expected a value that can merge into "
                                         "the base value 1 (int). Fix: ")


# ----------------------------------------------------------------------------- an existing work_dir survives
class _FailBeforeSave(Hook):
    """Raises when the next checkpoint is about to be written."""

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        raise RuntimeError("disk on fire")


def _fingerprint(work_dir: Path) -> dict[str, str]:
    """Hashes of the checkpoints and last_checkpoint (config dumps of later runs may be added beside them)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in work_dir.iterdir() if path.suffix == ".pth" or path.name == "last_checkpoint"}


def test_failing_runs_leave_existing_checkpoints_intact(tmp_path: Path, damaged: dict[str, str], backend: str) -> None:
    work_dir = tmp_path / "work_dir"
    _run(tiny_cfg(str(work_dir)), backend=backend)
    before = _fingerprint(work_dir)
    assert sorted(before) == ["epoch_1.pth", "last_checkpoint"]

    with pytest.raises(ConfigError):  # rejected before anything runs
        _run(tiny_cfg(str(work_dir), train_cfg=dict(max_epochs=1, max_iters=2)), backend=backend)
    with pytest.raises(CheckpointLoadError):  # fails while loading, after the Trainer started
        _run(tiny_cfg(str(work_dir), load_from=damaged["truncated"]), backend=backend)
    with pytest.raises(Exception, match="disk on fire"):  # fails at the moment epoch_1.pth would be rewritten
        _run(tiny_cfg(str(work_dir), custom_hooks=[_FailBeforeSave()]), backend=backend)

    assert _fingerprint(work_dir) == before
    latest = (work_dir / "last_checkpoint").read_text().strip()
    assert os.path.samefile(latest, work_dir / "epoch_1.pth")
    checkpoint = load_checkpoint_file(latest)
    assert checkpoint["meta"]["epoch"] == 1
    model_keys = set(Runner.from_cfg(Config(tiny_cfg(str(tmp_path / "fresh")))).model.state_dict())
    assert set(checkpoint["state_dict"]) == model_keys
