"""LightningCLI: HookCallback, its hooks and MMEngine's param_scheduler from a YAML (examples/lightning_cli.yaml)."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
from pathlib import Path

import pytest

pytest.importorskip("jsonargparse")
pytest.importorskip("mmengine")

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load_example():
    spec = importlib.util.spec_from_file_location("mmhooks_example_lightning_cli", EXAMPLES / "lightning_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mmengine_lrs(epochs, iters_per_epoch):
    """lr per iteration from mmengine-lite's schedulers for the YAML's param_scheduler (end: MMEngine's default)."""
    import torch
    import yaml
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR

    config = yaml.safe_load((EXAMPLES / "lightning_cli.yaml").read_text())
    (hook_callback,) = [c for c in config["trainer"]["callbacks"] if c["class_path"].endswith("HookCallback")]
    warmup, cosine = (dict(cfg) for cfg in hook_callback["init_args"]["param_scheduler"])
    assert (warmup.pop("type"), cosine.pop("type")) == ("LinearLR", "CosineAnnealingLR")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config["model"]["lr"], momentum=0.9)
    iteration_based, epoch_based = LinearLR(optimizer, **warmup), CosineAnnealingLR(optimizer, end=epochs, **cosine)
    lrs = []
    for _ in range(epochs):
        for _ in range(iters_per_epoch):
            lrs.append(optimizer.param_groups[0]["lr"])
            iteration_based.step()
        epoch_based.step()
    return lrs


@pytest.mark.slow  # LightningCLI introspects the whole Trainer signature: about 5 s
def test_the_lightning_cli_yaml_trains_with_mmengine_hooks_and_schedule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = load_example().main(["fit", "--config", str(EXAMPLES / "lightning_cli.yaml"),
                               "--trainer.default_root_dir", str(tmp_path / "root"), "--trainer.max_epochs", "2",
                               "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"])
    from mmhooks.adapters.lightning import HookCallback

    (callback,) = [c for c in cli.trainer.callbacks if isinstance(c, HookCallback)]
    assert [type(hook).__name__ for hook in callback.hooks] == [
        "LightningRuntimeInfoHook", "LoggedMetricsHook", "EMAHook", "EmptyCacheHook", "IterTimerHook", "LoggerHook",
        "ParamSchedulerHook", "CheckpointHook"]  # dicts and class_path alike, MMEngine's priority order
    assert callback.hooks[3]._do_after_epoch is True  # class_path's init_args reached the hook

    runner = callback.runner
    log_dir = cli.trainer.logger.log_dir
    assert runner.work_dir == log_dir  # one tree: the logger's version folder
    with open(os.path.join(runner.log_dir, f"{runner.timestamp}.log")) as handle:
        train = [line for line in handle if "Epoch(train)" in line]
    # the YAML's schedule as MMEngine's own schedulers give it: the lr of iterations 4 and 8 of each epoch
    expected = [f"{lr:.4e}" for lr in mmengine_lrs(epochs=2, iters_per_epoch=8)[3::4]]
    assert [re.search(r"lr: (\S+)", line).group(1) for line in train] == expected
    assert all(re.search(r"eta: .* time: .* data_time: .* loss: \S+  train_mae: \S+$", line) for line in train)
    files = {os.path.basename(p) for p in glob.glob(os.path.join(log_dir, "*"))}
    assert {"epoch_1.pth", "epoch_2.pth", "last_checkpoint", "config.yaml", "checkpoints"} <= files
    assert any(re.fullmatch(r"best_val_loss_epoch_[12]\.pth", name) for name in files)
    assert os.listdir(tmp_path) == ["root"]  # nothing in the current directory


def test_hook_callback_arguments_parse_from_yaml_as_lightning_cli_reads_them():
    """The jsonargparse part alone (fast tier): typed arguments, hooks as dicts or class_path, schedules as dicts."""
    import yaml
    from jsonargparse import ArgumentParser

    from mmhooks.adapters.lightning import HookCallback

    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(HookCallback, "callback")
    config = parser.parse_object(yaml.safe_load("""
callback:
  class_path: mmhooks.adapters.lightning.HookCallback
  init_args:
    hooks:
      - {type: LoggerHook, interval: 5}
      - class_path: mmhooks.hooks.EMAHook
        init_args: {momentum: 0.01}
    param_scheduler:
      - {type: MultiStepLR, milestones: [2], by_epoch: true}
    complete_logs: false
    visualizer: {vis_backends: [{type: LocalVisBackend}]}
"""))
    callback = parser.instantiate(config).callback
    assert [type(hook).__name__ for hook in callback.hooks] == ["EMAHook", "LoggerHook", "ParamSchedulerHook"]
    assert callback.hooks[0].ema_cfg["momentum"] == 0.01 and callback.hooks[1].interval == 5
    with pytest.raises(Exception, match="complete_logs"):
        parser.parse_object({"callback": {"class_path": "mmhooks.adapters.lightning.HookCallback",
                                          "init_args": {"complete_logs": "sometimes"}}})
