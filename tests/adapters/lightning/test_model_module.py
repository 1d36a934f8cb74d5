"""MMModelModule trains an MMEngine-style model to MMEngine's weights: GANs, accumulation, clipping, precision."""

from __future__ import annotations

import math
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import MMModelModule

mmengine = pytest.importorskip("mmengine")

NO_HOOKS = dict(runtime_info=None, timer=None, sampler_seed=None, logger=None, param_scheduler=None, checkpoint=None)


def gan(base):
    class TinyGAN(base):
        """Two optimizers: the discriminator steps, then the generator (train_step overridden)."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.generator = nn.Linear(2, 3)
            self.discriminator = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))

        def forward(self, inputs, data_samples=None, mode="tensor"):
            return self.generator(inputs)

        def train_step(self, data, optim_wrapper):
            noise, real = self.data_preprocessor(data, True)
            disc_wrapper, gen_wrapper = optim_wrapper["discriminator"], optim_wrapper["generator"]
            with disc_wrapper.optim_context(self.discriminator):
                fake = self.generator(noise).detach()
                loss_d = F.softplus(-self.discriminator(real)).mean() + F.softplus(self.discriminator(fake)).mean()
            disc_wrapper.update_params(loss_d)
            with gen_wrapper.optim_context(self.generator):
                loss_g = F.softplus(-self.discriminator(self.generator(noise))).mean()
            gen_wrapper.update_params(loss_g)
            return dict(loss_d=loss_d.detach(), loss_g=loss_g.detach())

    return TinyGAN()


def regressor(base):
    class Regressor(base):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layer = nn.Linear(4, 2)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets) * 10}
            return out

    return Regressor()


def gan_wrappers(wrapper_cls, model):
    return dict(
        generator=wrapper_cls(torch.optim.Adam(model.generator.parameters(), lr=0.01)),
        discriminator=wrapper_cls(torch.optim.SGD(model.discriminator.parameters(), lr=0.05, momentum=0.9)),
    )


def gan_loader():
    g = torch.Generator().manual_seed(2)
    return DataLoader(TensorDataset(torch.randn(12, 2, generator=g), torch.randn(12, 3, generator=g) + 1), batch_size=4)


def regression_loader(n=20):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, 4, generator=g)
    return DataLoader(TensorDataset(x, torch.stack([x.sum(1), x[:, 0] * 2], 1)), batch_size=4)


def run_mmengine(tmp_path, model, optim_wrapper, loader, max_epochs):
    from mmengine.runner import Runner

    runner = Runner(
        model=model, work_dir=str(tmp_path / "mm"), train_dataloader=loader, optim_wrapper=optim_wrapper,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs), default_hooks=NO_HOOKS, log_level="WARNING",
        experiment_name=f"module_{uuid.uuid4().hex}",
    )
    return runner.train()


def run_mmhooks(tmp_path, model, optim_wrapper, loader, max_epochs, **trainer):
    from mmhooks.runner import Runner

    runner = Runner(
        model=model, work_dir=str(tmp_path / "ours"), train_dataloader=loader, optim_wrapper=optim_wrapper,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs), default_hooks=NO_HOOKS, log_level="WARNING",
        trainer=dict(enable_progress_bar=False, accelerator="cpu", **trainer),
    )
    return runner.train(), runner


def assert_same_weights(ours, theirs, atol=1e-6):
    theirs_sd, ours_sd = theirs.state_dict(), ours.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key, value in theirs_sd.items():
        torch.testing.assert_close(ours_sd[key], value, rtol=0, atol=atol, msg=key)


def test_gan_with_two_optimizers_matches_mmengine(tmp_path):
    from mmengine.model import BaseModel as MMBaseModel
    from mmengine.optim import OptimWrapper as MMOptimWrapper

    from mmhooks.model import BaseModel
    from mmhooks.optim import OptimWrapper

    initial = gan(BaseModel).state_dict()
    mm_model = gan(MMBaseModel)
    theirs = run_mmengine(tmp_path, mm_model, gan_wrappers(MMOptimWrapper, mm_model), gan_loader(), 2)
    model = gan(BaseModel)
    ours, runner = run_mmhooks(tmp_path, model, gan_wrappers(OptimWrapper, model), gan_loader(), 2)
    module = runner.trainer.lightning_module
    assert module.automatic_optimization is False
    assert len(runner.trainer.optimizers) == 2
    assert_same_weights(ours, theirs)
    moved = [k for k, v in initial.items() if not torch.equal(v, ours.state_dict()[k])]
    assert any(k.startswith("generator") for k in moved) and any(k.startswith("discriminator") for k in moved)


@pytest.mark.parametrize(
    "extra",
    [dict(accumulative_counts=2), dict(clip_grad=dict(max_norm=0.5, norm_type=1)),
     dict(accumulative_counts=3, clip_grad=dict(max_norm=0.5, norm_type=2))],
    ids=["accumulate2", "clip_l1", "accumulate3_clip_l2"],
)
def test_wrapper_options_match_mmengine(tmp_path, extra):
    from mmengine.model import BaseModel as MMBaseModel

    from mmhooks.model import BaseModel

    optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9), **extra)
    # 5 batches per epoch, 2 epochs: accumulation windows cross the epoch end and the last one is short.
    theirs = run_mmengine(tmp_path, regressor(MMBaseModel), dict(optim_wrapper), regression_loader(), 2)
    ours, runner = run_mmhooks(tmp_path, regressor(BaseModel), dict(optim_wrapper), regression_loader(), 2)
    assert runner.trainer.lightning_module.automatic_optimization is False  # the model's train_step steps
    assert_same_weights(ours, theirs)


def test_the_runner_calls_the_models_own_train_step_as_mmengine_does(tmp_path):
    """MMEngine's loop calls ``runner.model.train_step`` every iteration, even BaseModel's own (a spy set on the
    instance sees every call); the Runner's module must not replace it with its own forward and backward."""
    from mmengine.model import BaseModel as MMBaseModel

    from mmhooks.model import BaseModel

    def spied(model):
        calls = []
        original = model.train_step

        def train_step(data, optim_wrapper):
            calls.append(type(optim_wrapper).__name__)
            return original(data, optim_wrapper)

        model.train_step = train_step
        return model, calls

    optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9))
    mm_model, theirs_calls = spied(regressor(MMBaseModel))
    theirs = run_mmengine(tmp_path, mm_model, dict(optim_wrapper), regression_loader(), 2)
    model, our_calls = spied(regressor(BaseModel))
    ours, _ = run_mmhooks(tmp_path, model, dict(optim_wrapper), regression_loader(), 2)
    assert len(theirs_calls) == 10 and our_calls == theirs_calls
    assert_same_weights(ours, theirs)


def test_state_dict_keys_are_the_models_own():
    from mmhooks.model import BaseModel

    model = gan(BaseModel)
    module = MMModelModule(model)
    assert list(module.state_dict()) == list(model.state_dict())
    assert not any(key.startswith("mm_model.") for key in module.state_dict())
    changed = {k: v + 1 for k, v in model.state_dict().items()}
    module.load_state_dict(changed)
    torch.testing.assert_close(model.generator.bias, changed["generator.bias"], rtol=0, atol=0)


def test_default_train_step_uses_automatic_optimization_and_override_manual():
    from mmhooks.model import BaseModel
    from mmhooks.optim import OptimWrapper, OptimWrapperDict

    plain = regressor(BaseModel)
    assert MMModelModule(plain, OptimWrapper(torch.optim.SGD(plain.parameters(), lr=0.1))).automatic_optimization
    model = gan(BaseModel)
    wrappers = OptimWrapperDict(**gan_wrappers(OptimWrapper, model))
    module = MMModelModule(model, wrappers)
    assert module.automatic_optimization is False
    assert len(module.configure_optimizers()) == 2


def test_bf16_mixed_amp_wrapper_runs_on_cpu(tmp_path):
    from mmhooks.model import BaseModel

    model = regressor(BaseModel)
    seen = []  # (output dtype of the linear layer, loss) per training forward
    original = model.forward

    def recording_forward(inputs, targets=None, mode="tensor"):
        out = original(inputs, targets, mode)
        if mode == "loss":
            seen.append((model.layer(inputs).dtype, float(out["loss"].detach())))
        return out

    model.forward = recording_forward
    optim_wrapper = dict(type="AmpOptimWrapper", dtype="bfloat16", optimizer=dict(type="SGD", lr=0.01))
    trained, runner = run_mmhooks(tmp_path, model, optim_wrapper, regression_loader(8), 1)
    assert runner.trainer.precision == "bf16-mixed"
    assert [dtype for dtype, _ in seen] == [torch.bfloat16, torch.bfloat16]
    assert all(math.isfinite(loss) for _, loss in seen)
    assert all(torch.isfinite(p).all() for p in trained.parameters())


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed", "shared_list"])
def test_gan_with_param_schedulers_matches_mmengine(tmp_path, keyed):
    """A config-driven GAN (OptimWrapperDict) with schedulers, keyed by optimizer name or one list for all."""
    from mmengine.hooks import Hook as MMHook
    from mmengine.model import BaseModel as MMBaseModel
    from mmengine.optim import OptimWrapper as MMOptimWrapper
    from mmengine.runner import Runner as MMRunner

    from mmhooks.hooks import Hook
    from mmhooks.model import BaseModel
    from mmhooks.optim import OptimWrapper
    from mmhooks.runner import Runner

    linear = dict(type="LinearLR", start_factor=0.25, by_epoch=False, begin=0, end=4)
    schedulers = dict(generator=[linear], discriminator=[dict(linear, start_factor=0.5)]) if keyed else [linear]
    lrs = {"mm": [], "ours": []}

    def recorder(base, key):
        class Lr(base):
            def before_train_iter(self, runner, batch_idx, data_batch=None):
                lrs[key].append({k: v[0] for k, v in runner.optim_wrapper.get_lr().items()})

        return Lr()

    def run(runner_cls, base, wrapper_cls, hook_base, key, work_dir, **extra):
        model = gan(base)
        runner = runner_cls(model=model, work_dir=str(work_dir), train_dataloader=gan_loader(),
                            optim_wrapper=gan_wrappers(wrapper_cls, model), param_scheduler=schedulers,
                            train_cfg=dict(by_epoch=True, max_epochs=2), default_hooks=dict(
                                NO_HOOKS, param_scheduler=dict(type="ParamSchedulerHook")),
                            custom_hooks=[recorder(hook_base, key)], log_level="WARNING",
                            experiment_name=f"gan_sched_{uuid.uuid4().hex}", **extra)
        return runner.train()

    theirs = run(MMRunner, MMBaseModel, MMOptimWrapper, MMHook, "mm", tmp_path / "mm")
    ours = run(Runner, BaseModel, OptimWrapper, Hook, "ours", tmp_path / "ours",
               trainer=dict(enable_progress_bar=False, accelerator="cpu"))
    assert len(lrs["mm"]) == 6 and lrs["ours"] == lrs["mm"]
    assert_same_weights(ours, theirs)


def test_plain_attribute_writes_keep_module_registration():
    """Lightning's per-hook bookkeeping skips nn.Module's lookups; other assignments still register."""
    import inspect

    module = MMModelModule(regressor(mmengine.model.BaseModel))
    module._current_fx_name = "training_step"
    module.mm_train_outputs = {"loss": torch.tensor(1.0)}
    assert module.__dict__["_current_fx_name"] == "training_step"
    assert "mm_train_outputs" in module.__dict__ and "mm_train_outputs" not in module._buffers
    module.extra = nn.Linear(1, 1)  # any other name goes through nn.Module
    assert "extra" in module._modules and "extra" not in module.__dict__
    assert list(inspect.signature(module.training_step).parameters) == ["batch", "batch_idx"]
