"""trainer_kwargs: every row of the "MMEngine key -> Lightning" table, ``trainer=dict(...)`` wins, bad launchers."""

from __future__ import annotations

import importlib.util

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.plugins.environments import MPIEnvironment, SLURMEnvironment
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import HookCallback, trainer_kwargs
from mmhooks.errors import ConfigError
from mmhooks.hooks import Hook

NO_HOOKS = dict(runtime_info=None, timer=None, sampler_seed=None, logger=None, param_scheduler=None, checkpoint=None)
EPOCHS = dict(by_epoch=True, max_epochs=3)


def base_cfg(**extra):
    return dict(default_hooks=NO_HOOKS, **extra)


# (id, config keys, expected Trainer keyword subset)
TABLE = [
    ("work_dir", dict(work_dir="runs/a"), dict(default_root_dir="runs/a")),
    ("max_epochs", dict(train_cfg=EPOCHS), dict(max_epochs=3, max_steps=-1)),
    ("loop_type_epoch", dict(train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=2)), dict(max_epochs=2)),
    ("max_iters", dict(train_cfg=dict(by_epoch=False, max_iters=7)), dict(max_epochs=-1, max_steps=-1)),
    ("val_interval", dict(train_cfg=dict(EPOCHS, val_interval=2, val_begin=2), val_dataloader=[1]),
     dict(check_val_every_n_epoch=1)),
    ("dynamic_intervals", dict(train_cfg=dict(EPOCHS, dynamic_intervals=[(2, 1)]), val_dataloader=[1]),
     dict(check_val_every_n_epoch=1)),
    ("no_sanity_check", dict(), dict(num_sanity_val_steps=0)),
    ("no_val_dataloader", dict(), dict(limit_val_batches=0)),
    ("amp_fp16", dict(optim_wrapper=dict(type="AmpOptimWrapper", dtype="float16", optimizer=dict(type="SGD"))),
     dict(precision="16-mixed")),
    ("amp_bf16", dict(optim_wrapper=dict(type="AmpOptimWrapper", dtype="bfloat16", optimizer=dict(type="SGD"))),
     dict(precision="bf16-mixed")),
    ("amp_torch_dtype", dict(optim_wrapper=dict(type="AmpOptimWrapper", dtype=torch.bfloat16)),
     dict(precision="bf16-mixed")),
    ("amp_float32", dict(optim_wrapper=dict(type="AmpOptimWrapper", dtype="float32")), dict(precision="32-true")),
    ("clip_and_accumulate", dict(optim_wrapper=dict(optimizer=dict(type="SGD"), clip_grad=dict(max_norm=1),
                                                    accumulative_counts=4)),
     dict(accumulate_grad_batches=1)),
    ("deterministic", dict(randomness=dict(seed=1, deterministic=True)), dict(deterministic=True)),
    ("cudnn_benchmark", dict(env_cfg=dict(cudnn_benchmark=True)), dict(benchmark=True)),
    ("launcher_none", dict(launcher="none"), dict(devices=1)),
    ("launcher_pytorch", dict(launcher="pytorch"), dict(devices="auto")),
    ("hooks_own_checkpointing", dict(), dict(enable_checkpointing=False)),
    ("visualizer_not_lightning_logger", dict(visualizer=dict(type="Visualizer")), dict(logger=False)),
    ("sampler_shards_itself", dict(), dict(use_distributed_sampler=False)),
]


@pytest.mark.parametrize("keys, expected", [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_mapping_table_row(keys, expected):
    kwargs = trainer_kwargs(base_cfg(**keys))
    assert {key: kwargs.get(key, "<absent>") for key in expected} == expected


def test_plain_optim_wrapper_leaves_precision_and_clipping_to_lightning_defaults():
    kwargs = trainer_kwargs(base_cfg(optim_wrapper=dict(optimizer=dict(type="SGD"), clip_grad=dict(max_norm=1))))
    assert "precision" not in kwargs and "gradient_clip_val" not in kwargs


def test_amp_without_dtype_follows_the_wrappers_device_default():
    kwargs = trainer_kwargs(base_cfg(optim_wrapper=dict(type="AmpOptimWrapper", optimizer=dict(type="SGD"))))
    assert kwargs["precision"] == ("16-mixed" if torch.cuda.is_available() else "bf16-mixed")


def test_slurm_launcher_uses_lightnings_slurm_environment():
    kwargs = trainer_kwargs(base_cfg(launcher="slurm"))
    assert type(kwargs["strategy"]).__name__ == "DDPStrategy"
    assert [type(p) for p in kwargs["plugins"]] == [SLURMEnvironment]


def test_mpi_launcher_uses_lightnings_mpi_environment_or_names_mpi4py():
    if importlib.util.find_spec("mpi4py") is None:
        with pytest.raises(ConfigError, match=r"^launcher: got 'mpi'; expected an MPI launch.*pip install mpi4py"):
            trainer_kwargs(base_cfg(launcher="mpi"))
    else:
        kwargs = trainer_kwargs(base_cfg(launcher="mpi"))
        assert type(kwargs["strategy"]).__name__ == "DDPStrategy"
        assert [type(p) for p in kwargs["plugins"]] == [MPIEnvironment]


def test_default_and_custom_hooks_become_one_hook_callback(tmp_path):
    custom = Hook()
    cfg = dict(work_dir=str(tmp_path), default_hooks=dict(NO_HOOKS, logger=dict(type="LoggerHook", interval=3)),
               custom_hooks=[custom, dict(type="EMAHook")])
    (callback,) = trainer_kwargs(cfg)["callbacks"]
    assert isinstance(callback, HookCallback)
    # MMEngine's priority order: both NORMAL (given order), then LoggerHook (BELOW_NORMAL).
    assert [type(h).__name__ for h in callback.hooks] == ["Hook", "EMAHook", "LoggerHook"]
    assert callback.hooks[0] is custom


def test_mmengine_default_hook_set_when_default_hooks_absent():
    (callback,) = trainer_kwargs(dict())["callbacks"]
    names = {type(h).__name__ for h in callback.hooks}
    assert names == {"RuntimeInfoHook", "IterTimerHook", "DistSamplerSeedHook", "LoggerHook", "ParamSchedulerHook",
                     "CheckpointHook"}


def test_visualizer_and_log_processor_become_runner_attributes(tmp_path):
    visualizer = dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")])
    cfg = base_cfg(work_dir=str(tmp_path), visualizer=visualizer, log_processor=dict(window_size=7),
                   experiment_name="exp", randomness=dict(seed=11))
    kwargs = trainer_kwargs(cfg)
    runner = kwargs["callbacks"][0].runner
    assert kwargs["logger"] is False
    assert runner.log_processor.window_size == 7
    assert [type(b).__name__ for b in runner.visualizer._vis_backends.values()] == ["LocalVisBackend"]
    assert runner.experiment_name.startswith("exp_") and runner.seed == 11


def test_trainer_dict_wins_over_mapped_values():
    user_callback = pl.Callback()
    cfg = base_cfg(work_dir="w", launcher="pytorch", train_cfg=EPOCHS, env_cfg=dict(cudnn_benchmark=True),
                   trainer=dict(max_epochs=9, strategy="auto", devices=1, default_root_dir="elsewhere",
                                benchmark=False, num_sanity_val_steps=2, callbacks=[user_callback]))
    kwargs = trainer_kwargs(cfg)
    assert (kwargs["max_epochs"], kwargs["strategy"], kwargs["devices"]) == (9, "auto", 1)
    assert (kwargs["default_root_dir"], kwargs["benchmark"], kwargs["num_sanity_val_steps"]) == ("elsewhere", False, 2)
    assert isinstance(kwargs["callbacks"][0], HookCallback) and kwargs["callbacks"][1] is user_callback


def test_several_devices_without_launcher_default_to_ddp():
    assert type(trainer_kwargs(base_cfg(trainer=dict(devices=2)))["strategy"]).__name__ == "DDPStrategy"


def test_given_hook_callback_is_used():
    callback = HookCallback([])
    assert trainer_kwargs(base_cfg(), hook_callback=callback)["callbacks"] == [callback]


def test_config_object_is_accepted(tmp_path):
    from mmhooks.config import Config

    kwargs = trainer_kwargs(Config(base_cfg(work_dir=str(tmp_path), train_cfg=EPOCHS)))
    assert kwargs["max_epochs"] == 3 and kwargs["default_root_dir"] == str(tmp_path)


@pytest.mark.parametrize(
    "cfg, message",
    [
        (dict(launcher="pytroch"), r"^launcher: got 'pytroch'; expected one of .*Fix: did you mean 'pytorch'\?"),
        (dict(launcher="k8s"), r"^launcher: got 'k8s'; expected one of \['mpi', 'none', 'pytorch', 'slurm'\]"),
        (dict(trainer=[("devices", 2)]), r"^trainer: got \[\('devices', 2\)\]; expected a dict"),
        (dict(train_cfg=dict(max_epochs=1, max_iters=2)), r"^train_cfg\.max_epochs: got"),
        (dict(optim_wrapper=dict(type="AmpOptimWrapper", dtype="int8")), r"^optim_wrapper\.dtype: got 'int8'"),
    ],
    ids=["misspelt_launcher", "unknown_launcher", "trainer_not_dict", "both_lengths", "amp_bad_dtype"],
)
def test_bad_config_names_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message):
        trainer_kwargs(base_cfg(**cfg))


# ----------------------------------------------------------------------------- behaviour in a real Trainer
class Counting(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.validated_after_batches = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.mse_loss(self.layer(x), y)

    def validation_step(self, batch, batch_idx):
        if batch_idx == 0:
            self.validated_after_batches.append(self.trainer.fit_loop.total_batch_idx + 1)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def data(n=8):
    return DataLoader(TensorDataset(torch.randn(n, 2), torch.randn(n, 1)), batch_size=2)


@pytest.mark.parametrize(
    "train_cfg, batches, validations",
    [
        (dict(by_epoch=True, max_epochs=4, val_interval=2), 16, [8, 16]),
        (dict(by_epoch=True, max_epochs=3, val_begin=2), 12, [8, 12]),
        (dict(by_epoch=False, max_iters=6, val_interval=4), 6, [4, 6]),
    ],
    ids=["epochs_val_interval", "epochs_val_begin", "iters_stop_and_interval"],
)
def test_schedule_is_enforced_in_a_users_trainer(tmp_path, train_cfg, batches, validations):
    kwargs = trainer_kwargs(base_cfg(work_dir=str(tmp_path), train_cfg=train_cfg, val_dataloader=dict(batch_size=2),
                                     trainer=dict(accelerator="cpu", enable_progress_bar=False)))
    module = Counting()
    trainer = pl.Trainer(**kwargs)
    trainer.fit(module, data(), data(4))
    assert trainer.fit_loop.total_batch_idx + 1 == batches
    assert module.validated_after_batches == validations


@pytest.mark.parametrize("keys", [dict(launcher="pytorch"), dict(trainer=dict(devices=2)),
                                  dict(trainer=dict(devices=2, strategy="ddp"))],
                         ids=["launcher", "devices", "explicit-ddp-string"])
def test_ddp_does_not_broadcast_buffers_like_mmengine(keys):
    from lightning.pytorch.strategies import DDPStrategy

    strategy = trainer_kwargs(base_cfg(**keys))["strategy"]
    assert isinstance(strategy, DDPStrategy)
    assert strategy._ddp_kwargs == {"broadcast_buffers": False, "find_unused_parameters": False}


def test_unknown_trainer_key_is_located():
    with pytest.raises(ConfigError) as info:
        trainer_kwargs(base_cfg(trainer=dict(max_epoch=3)))
    assert str(info.value) == ("trainer.max_epoch: got 3; expected a lightning.Trainer argument. "
                               "Fix: rename it to 'max_epochs'.")


def test_dist_cfg_sets_backend_and_timeout_but_nccl_needs_cuda():
    import datetime

    kwargs = trainer_kwargs(base_cfg(launcher="pytorch", env_cfg=dict(dist_cfg=dict(backend="gloo", timeout=90))))
    assert kwargs["strategy"]._process_group_backend == "gloo"
    assert kwargs["strategy"]._timeout == datetime.timedelta(seconds=90)
    nccl = trainer_kwargs(base_cfg(launcher="pytorch", env_cfg=dict(dist_cfg=dict(backend="nccl"))))["strategy"]
    assert nccl._process_group_backend == ("nccl" if torch.cuda.is_available() else None)


def test_the_package_export_stays_the_function_after_its_module_is_imported():
    import importlib

    importlib.import_module("mmhooks.adapters.lightning.trainer_args")
    from mmhooks.adapters.lightning import trainer_kwargs as exported

    assert callable(exported) and exported.__name__ == "trainer_kwargs"


def test_the_runners_trainer_profiles_nothing_at_no_per_call_cost(tmp_path):
    """MMEngine has no profiler; the Trainer's default still builds a context manager per hook call."""
    from lightning.pytorch.profilers import PassThroughProfiler, SimpleProfiler

    from mmhooks.adapters.lightning.profiler import QuietProfiler

    kwargs = trainer_kwargs(base_cfg(work_dir=str(tmp_path)))
    profiler = kwargs["profiler"]
    assert isinstance(profiler, QuietProfiler) and isinstance(profiler, PassThroughProfiler)
    with profiler.profile("a") as name, profiler.profile("b") as inner:  # nested, as Lightning's hook calls are
        assert (name, inner) == ("a", "b")
    assert profiler.summary() == ""
    given = SimpleProfiler()
    assert trainer_kwargs(base_cfg(trainer=dict(profiler=given)))["profiler"] is given  # the user's wins
    assert "profiler" not in trainer_kwargs(base_cfg(trainer=dict(barebones=True)))  # barebones refuses any

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            return self.layer(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, profiler=QuietProfiler(),
                         default_root_dir=str(tmp_path))
    trainer.fit(Tiny(), DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=2))
    assert trainer.state.finished and trainer.global_step == 4
