"""fabric_kwargs: the Fabric arguments a config asks for, the same answer as the Trainer's where both have it,
and a located error for what only the Trainer understands."""

from __future__ import annotations

import pytest
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.fabric.strategies.ddp import DDPStrategy

from mmhooks.adapters.fabric.fabric_kwargs import fabric_settings
from mmhooks.errors import ConfigError

AMP = dict(type="AmpOptimWrapper", optimizer=dict(type="SGD", lr=0.1))

# (id, config keys): Fabric and the Trainer must agree on accelerator, devices, precision and the strategy's kind.
SHARED = {
    "default": dict(),
    "amp-bf16": dict(optim_wrapper=dict(AMP, dtype="bfloat16")),
    "amp-fp16": dict(optim_wrapper=dict(AMP, dtype="float16")),
    "amp-default-dtype": dict(optim_wrapper=AMP),
    "amp-float64": dict(optim_wrapper=dict(AMP, dtype="float64")),
    "launcher-pytorch": dict(launcher="pytorch"),
    "launcher-slurm": dict(launcher="slurm"),
    "trainer-devices-2": dict(trainer=dict(accelerator="cpu", devices=2)),
    "trainer-precision-wins": dict(optim_wrapper=dict(AMP, dtype="bfloat16"), trainer=dict(precision="32-true")),
    "trainer-strategy": dict(trainer=dict(devices=2, strategy="ddp_spawn")),
    "dist-cfg": dict(launcher="pytorch", env_cfg=dict(dist_cfg=dict(backend="gloo", timeout=60))),
}


def _summary(kwargs):
    strategy = kwargs.get("strategy")
    kind = type(strategy).__name__ if not isinstance(strategy, (str, type(None))) else strategy
    plugins = [type(p).__name__ for p in kwargs.get("plugins") or []]
    return (kwargs.get("accelerator"), kwargs.get("devices"), kwargs.get("precision"), kind, plugins)


@pytest.mark.parametrize("cfg", list(SHARED.values()), ids=list(SHARED))
def test_fabric_and_trainer_read_the_shared_keys_alike(cfg):
    from mmhooks.adapters.lightning.trainer_args import build_trainer_kwargs

    trainer = build_trainer_kwargs(cfg, None, hook_callback=None)
    fabric = fabric_settings(cfg).kwargs
    assert _summary(fabric) == _summary(trainer)


def test_ddp_is_mmengines_ddp():
    strategy = fabric_settings(dict(launcher="pytorch", env_cfg=dict(dist_cfg=dict(backend="gloo", timeout=60)),
                                    find_unused_parameters=True)).kwargs["strategy"]
    assert isinstance(strategy, DDPStrategy)
    assert strategy._ddp_kwargs == dict(broadcast_buffers=False, find_unused_parameters=True)
    assert strategy._process_group_backend == "gloo"
    assert strategy._timeout.total_seconds() == 60


def test_slurm_launcher_brings_its_environment():
    plugins = fabric_settings(dict(launcher="slurm")).kwargs["plugins"]
    assert [type(p) for p in plugins] == [SLURMEnvironment]


def test_console_options_and_what_fabric_does_anyway_are_accepted():
    settings = fabric_settings(dict(trainer=dict(enable_progress_bar=False, enable_model_summary=False,
                                                 default_root_dir="x", logger=False, enable_checkpointing=False,
                                                 num_sanity_val_steps=0, use_distributed_sampler=False,
                                                 deterministic=True, benchmark=False)))
    assert settings.kwargs == dict(accelerator="auto", devices=1)
    assert (settings.deterministic, settings.benchmark) == (True, False)


def test_a_trainer_only_argument_is_a_located_error():
    with pytest.raises(ConfigError) as excinfo:
        fabric_settings(dict(trainer=dict(accelerator="cpu", max_epochs=3)))
    assert str(excinfo.value) == (
        "trainer.max_epochs: got 3; expected under backend='fabric', one of Fabric's arguments (accelerator, devices, "
        "num_nodes, plugins, precision, strategy), benchmark or deterministic, or a Trainer console option "
        "(default_root_dir, enable_model_summary, enable_progress_bar). Fix: say it with MMEngine's keys (train_cfg, "
        "optim_wrapper, hooks), or run on the Trainer with backend='lightning'.")


def test_a_trainer_setting_fabric_would_not_honour_is_an_error():
    with pytest.raises(ConfigError, match=r"^trainer\.enable_checkpointing: got True; expected under "):
        fabric_settings(dict(trainer=dict(enable_checkpointing=True)))


def test_an_unknown_trainer_key_names_the_closest():
    with pytest.raises(ConfigError) as excinfo:
        fabric_settings(dict(trainer=dict(devics=2)))
    message = str(excinfo.value)
    assert message.startswith("trainer.devics: got 2; expected a lightning.Trainer argument that Fabric also takes (")
    assert message.endswith("Fix: rename it to 'devices'.")


def test_trainer_must_be_a_dict():
    with pytest.raises(ConfigError, match=r"^trainer: got 2; expected a dict of lightning.Trainer arguments"):
        fabric_settings(dict(trainer=2))


def test_the_runner_rejects_a_trainer_only_key_before_writing_anything(tmp_path):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from mmhooks.runner import Runner

    loader = DataLoader(TensorDataset(torch.randn(4, 2), torch.randn(4, 2)), batch_size=2)
    runner = Runner(model=torch.nn.Linear(2, 2), work_dir=str(tmp_path / "work"), train_dataloader=loader,
                    train_cfg=dict(max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                    backend="fabric", trainer=dict(callbacks=[]))
    with pytest.raises(ConfigError, match=r"^trainer\.callbacks: got \[\]; expected under backend='fabric'"):
        runner.train()
    assert not (tmp_path / "work").exists()


def test_without_lightning_the_fabric_backend_names_its_install_command(monkeypatch):
    import sys

    from torch import nn

    from mmhooks.runner import Runner
    from mmhooks.runner.backend import build_backend

    for name in [n for n in sys.modules if n == "lightning" or n.startswith("lightning.")]:
        monkeypatch.setitem(sys.modules, name, None)  # an import of it now fails, as if not installed
    for name in [n for n in sys.modules if n.startswith("mmhooks.adapters.fabric")]:
        monkeypatch.delitem(sys.modules, name)  # imported afresh (restored afterwards)
    runner = Runner(model=nn.Linear(2, 1), work_dir="unused")
    with pytest.raises(ConfigError) as excinfo:
        build_backend("fabric", runner)
    assert str(excinfo.value) == ("backend: got 'fabric'; expected a backend whose packages are installed (lightning "
                                  "is missing). Fix: pip install 'lightning>=2.5,<2.7'")
