"""MMCV 1.x runners on Lightning: the guide's snippet, LR formulas, hook counters (spec mmcv_legacy §4), errors."""

from __future__ import annotations

import logging
import math
import os
import warnings
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.errors import ConfigError
from mmhooks.legacy import EpochBasedRunner, IterBasedRunner, LegacyEMAHook, LegacyHook

B = 0.1


def dataset(n: int, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, (x.sum(1) > 0).long())


def loader(n: int = 8, batch_size: int = 4, seed: int = 0) -> DataLoader:
    return DataLoader(dataset(n, seed), batch_size=batch_size)


class MMCVNet(nn.Module):
    """A model in MMCV's style: ``train_step(data_batch, optimizer)`` returns loss, log_vars, num_samples."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)

    def train_step(self, data_batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        x, y = data_batch
        loss = F.cross_entropy(self(x), y)
        return dict(loss=loss, log_vars=dict(loss=loss.item()), num_samples=len(x))

    def val_step(self, data_batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.train_step(data_batch, optimizer)


def make_runner(cls: type = EpochBasedRunner, work_dir: Any = None, **kwargs: Any) -> Any:
    model = MMCVNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=B, momentum=0.9)
    return cls(model, optimizer=optimizer, work_dir=str(work_dir) if work_dir else None,
               logger=logging.getLogger("test_legacy_runner"), **kwargs)


class LrRecorder(LegacyHook):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def before_train_iter(self, runner: Any) -> None:
        self.lrs.append(runner.current_lr()[0])


def test_guide_snippet_trains_and_writes_mmcv_checkpoints(tmp_path: Any) -> None:
    runner = make_runner(work_dir=tmp_path, max_epochs=4)
    before = runner.model.fc.weight.detach().clone()
    # the MMCV hooks snippet of MMEngine's runner migration guide, unchanged
    lr_config = dict(policy="step", step=[2, 3])
    optimizer_config = dict(grad_clip=None)
    checkpoint_config = dict(interval=1)
    log_config = dict(interval=100, hooks=[dict(type="TextLoggerHook")])
    runner.register_training_hooks(lr_config=lr_config, optimizer_config=optimizer_config,
                                   checkpoint_config=checkpoint_config, log_config=log_config)
    runner.run([loader()], [("train", 1)])
    assert (runner.epoch, runner.iter) == (4, 8)
    assert runner.current_lr() == [pytest.approx(B * 0.01)]
    assert not torch.equal(before, runner.model.fc.weight)
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".pth"))
    assert files == ["epoch_1.pth", "epoch_2.pth", "epoch_3.pth", "epoch_4.pth", "latest.pth"]
    assert not (tmp_path / "last_checkpoint").exists()
    assert os.readlink(tmp_path / "latest.pth") == "epoch_4.pth"
    for n in range(1, 5):
        checkpoint = torch.load(tmp_path / f"epoch_{n}.pth", weights_only=False)
        assert (checkpoint["meta"]["epoch"], checkpoint["meta"]["iter"]) == (n, 2 * n)
        assert set(checkpoint["state_dict"]) == {"fc.weight", "fc.bias"}
    assert runner.meta["hook_msgs"]["last_ckpt"] == str(tmp_path / "epoch_4.pth")


def linear_warm(t: int, w: int, r: float) -> float:
    return 1 - (1 - t / w) * (1 - r) if t < w else 1.0


def exp_warm(t: int, w: int, r: float) -> float:
    return r ** (1 - t / w) if t < w else 1.0


def cos_anneal(start: float, end: float, f: float) -> float:
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * f))


E, L = 3, 2
CASES = {
    # by epoch: the epoch's step LR, times the warmup factor of the iteration
    "step_linear_warmup": (
        dict(policy="step", step=[1, 2], gamma=0.5, warmup="linear", warmup_iters=3, warmup_ratio=0.1),
        lambda t: B * 0.5 ** sum(t // L >= m for m in (1, 2)) * linear_warm(t, 3, 0.1),
    ),
    # by iteration: cosine over max_iters = E * L, exp warmup
    "cosine_exp_warmup": (
        dict(policy="CosineAnnealing", min_lr_ratio=0.01, by_epoch=False, warmup="exp", warmup_iters=2,
             warmup_ratio=0.1),
        lambda t: cos_anneal(B, B * 0.01, t / (E * L)) * exp_warm(t, 2, 0.1),
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_lr_per_iteration_follows_mmcv_formulas(case: str) -> None:
    lr_config, closed_form = CASES[case]
    runner = make_runner(max_epochs=E)
    recorder = LrRecorder()
    runner.register_training_hooks(lr_config=dict(lr_config), optimizer_config=dict())
    runner.register_hook(recorder)
    runner.run([loader()], [("train", 1)])
    assert recorder.lrs == pytest.approx([closed_form(t) for t in range(E * L)], rel=1e-12)


class Recorder(LegacyHook):
    """Records MMCV's counters at every stage (generic ``before_epoch`` etc. on a second hook)."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []


def _record(stage: str) -> Any:
    def method(self: Recorder, runner: Any) -> None:
        self.rows.append((stage, runner.epoch, runner.iter, runner.inner_iter, runner.mode))

    return method


for _stage in ("before_run", "after_run", "before_train_epoch", "after_train_epoch", "before_val_epoch",
               "after_val_epoch", "before_train_iter", "after_train_iter", "before_val_iter", "after_val_iter"):
    setattr(Recorder, _stage, _record(_stage))


class GenericRecorder(LegacyHook):
    def __init__(self) -> None:
        self.modes: list[tuple[str, str]] = []

    def before_epoch(self, runner: Any) -> None:
        self.modes.append(("before_epoch", runner.mode))

    def after_iter(self, runner: Any) -> None:
        self.modes.append(("after_iter", runner.mode))


def test_counters_of_a_val_workflow_match_spec_table() -> None:
    epochs, per_epoch, val_batches = 2, 2, 2
    runner = make_runner(max_epochs=epochs)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    recorder, generic = Recorder(), GenericRecorder()
    runner.register_hook(recorder)
    runner.register_hook(generic)
    runner.run([loader(), loader(seed=1)], [("train", 1), ("val", 1)])
    # spec mmcv_legacy §4.1 table; errata 2: the stale inner_iter after a val phase is the val loader's last index
    want: list[tuple[Any, ...]] = [("before_run", 0, 0, 0, None)]
    for e in range(epochs):
        want.append(("before_train_epoch", e, e * per_epoch, 0 if e == 0 else val_batches - 1, "train"))
        for i in range(per_epoch):
            want += [("before_train_iter", e, e * per_epoch + i, i, "train"),
                     ("after_train_iter", e, e * per_epoch + i, i, "train")]
        done = (e + 1) * per_epoch
        want.append(("after_train_epoch", e, done, per_epoch - 1, "train"))
        want.append(("before_val_epoch", e + 1, done, per_epoch - 1, "val"))
        for k in range(val_batches):
            want += [("before_val_iter", e + 1, done, k, "val"), ("after_val_iter", e + 1, done, k, "val")]
        want.append(("after_val_epoch", e + 1, done, val_batches - 1, "val"))
    want.append(("after_run", epochs, epochs * per_epoch, val_batches - 1, "val"))
    assert recorder.rows == want
    one_epoch = [("before_epoch", "train"), ("after_iter", "train"), ("after_iter", "train"),
                 ("before_epoch", "val"), ("after_iter", "val"), ("after_iter", "val")]
    assert generic.modes == one_epoch * epochs


def test_iter_based_runner_counters_and_checkpoint_meta(tmp_path: Any) -> None:
    per_pass, max_iters = 3, 8
    runner = make_runner(IterBasedRunner, work_dir=tmp_path, max_iters=max_iters)
    runner.register_training_hooks(lr_config=dict(policy="fixed"), optimizer_config=dict(),
                                   checkpoint_config=dict(interval=4))
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.register_hook(GenericRecorder())
    runner.run([loader(12, 4)], [("train", 1)])
    lagging = [max(t - 1, 0) // per_pass for t in range(max_iters)]  # errata 1
    want: list[tuple[Any, ...]] = [("before_run", 0, 0, 0, None)]
    for t in range(max_iters):
        want += [("before_train_iter", lagging[t], t, 0, "train"), ("after_train_iter", lagging[t], t, 0, "train")]
    want.append(("after_run", lagging[-1], max_iters, 1, "train"))  # errata 3
    assert recorder.rows == want
    checkpoint = torch.load(tmp_path / "iter_4.pth", weights_only=False)
    assert checkpoint["meta"]["iter"] == 3  # MMCV stores iter one lower than the file name
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".pth")) == ["iter_4.pth", "iter_8.pth", "latest.pth"]


def test_cumulative_optimizer_keeps_mmcv_windows_and_remainder() -> None:
    k, epochs = 3, 2
    data = loader(20, 4)  # 5 iterations per epoch, 10 in all: steps after 2, 5, 8 and 9 (remainder 1)
    runner = EpochBasedRunner(MMCVNet(), optimizer=None, max_epochs=epochs)
    runner.optimizer = torch.optim.SGD(runner.model.parameters(), lr=B)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict(
        type="GradientCumulativeOptimizerHook", cumulative_iters=k, grad_clip=dict(max_norm=0.5)))
    runner.run([data], [("train", 1)])

    reference = MMCVNet()
    sgd = torch.optim.SGD(reference.parameters(), lr=B)
    total = epochs * len(data)
    t = 0
    for _ in range(epochs):
        for x, y in data:
            factor = k if t < total - total % k else total % k
            (F.cross_entropy(reference(x), y) / factor).backward()
            if (t + 1) % k == 0 or t + 1 == total:
                torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm=0.5)
                sgd.step()
                sgd.zero_grad()
            t += 1
    torch.testing.assert_close(runner.model.fc.weight, reference.fc.weight)
    torch.testing.assert_close(runner.model.fc.bias, reference.fc.bias)


def test_resume_continues_the_run_exactly(tmp_path: Any) -> None:
    hooks = dict(lr_config=dict(policy="step", step=[1]), optimizer_config=dict(),
                 checkpoint_config=dict(interval=1))
    straight = make_runner(work_dir=tmp_path / "a", max_epochs=2)
    straight.register_training_hooks(**hooks)
    straight.run([loader()], [("train", 1)])

    resumed = make_runner(work_dir=tmp_path / "b", max_epochs=2)
    resumed.register_training_hooks(**hooks)
    recorder = LrRecorder()
    resumed.register_hook(recorder)
    resumed.resume(str(tmp_path / "a" / "epoch_1.pth"))
    assert (resumed.epoch, resumed.iter) == (1, 2)
    resumed.run([loader()], [("train", 1)])
    assert recorder.lrs == pytest.approx([B * 0.1] * 2)
    torch.testing.assert_close(resumed.model.fc.weight, straight.model.fc.weight)
    assert (resumed.epoch, resumed.iter) == (2, 4)


def test_eval_hook_saves_the_best_checkpoint(tmp_path: Any) -> None:
    class Scored(TensorDataset):
        def evaluate(self, results: list[Any], logger: Any = None, **kwargs: Any) -> dict[str, float]:
            return {"acc": float(len(results)) * runner.epoch}  # grows with the epoch

    def test_fn(model: nn.Module, data: Any) -> list[Any]:
        return [model(x) for x, _ in data]

    runner = make_runner(work_dir=tmp_path, max_epochs=2)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    val = DataLoader(Scored(*dataset(4).tensors), batch_size=2)
    runner.register_eval_hook(val, dict(interval=1, save_best="auto", test_fn=test_fn))
    runner.run([loader()], [("train", 1)])
    assert [f for f in os.listdir(tmp_path) if f.startswith("best_")] == ["best_acc_epoch_2.pth"]
    assert runner.meta["hook_msgs"]["best_score"] == 2.0


def test_mmcv_ema_hook_follows_mmcv_update_rule() -> None:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    runner = SimpleNamespace(model=model, iter=0)
    hook = LegacyEMAHook(momentum=0.5, interval=1, warm_up=3)
    hook.before_run(runner)
    ema = 1.0
    for t, w in enumerate([3.0, 5.0]):
        with torch.no_grad():
            model.weight.fill_(w)
        runner.iter = t
        hook.after_train_iter(runner)
        m = min(0.5, (1 + t) / (3 + t))  # warm-up bound: 1/3, then 0.5
        ema = (1 - m) * ema + m * w
    assert float(model.ema_weight) == pytest.approx(ema)
    hook.after_train_epoch(runner)  # swap: params hold the EMA
    assert float(model.weight) == pytest.approx(ema) and float(model.ema_weight) == 5.0


def test_converted_config_gives_the_legacy_lr_trajectory(tmp_path: Any) -> None:
    from mmhooks.hooks import Hook
    from mmhooks.legacy import convert_mmcv_config
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    lr_config = dict(policy="step", step=[1, 2], warmup="linear", warmup_iters=3, warmup_ratio=0.1)
    mmcv_cfg = dict(runner=dict(type="EpochBasedRunner", max_epochs=E),
                    optimizer=dict(type="SGD", lr=B, momentum=0.9), optimizer_config=dict(grad_clip=None),
                    lr_config=lr_config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no lossy item: the conversion must be exact
        cfg, notes = convert_mmcv_config(mmcv_cfg)
    assert notes == []

    legacy = make_runner(max_epochs=E)
    legacy_lrs = LrRecorder()
    legacy.register_training_hooks(lr_config=dict(lr_config), optimizer_config=dict(grad_clip=None))
    legacy.register_hook(legacy_lrs)
    legacy.run([loader()], [("train", 1)])

    class Net(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor, y: Any = None, mode: str = "tensor") -> Any:
            return {"loss": F.cross_entropy(self.fc(x), y)} if mode == "loss" else self.fc(x)

    seen: list[float] = []

    class Recorder(Hook):
        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            seen.append(runner.optim_wrapper.get_lr()["lr"][0])

    runner = Runner(model=Net(), work_dir=str(tmp_path), train_dataloader=loader(), train_cfg=cfg["train_cfg"],
                    optim_wrapper=cfg["optim_wrapper"], param_scheduler=cfg["param_scheduler"],
                    default_hooks=dict(checkpoint=None, logger=None), custom_hooks=[Recorder()],
                    trainer=dict(enable_progress_bar=False))
    runner.train()
    assert seen == pytest.approx(legacy_lrs.lrs, rel=1e-12)
    assert len(seen) == E * L


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda r: r.register_training_hooks(lr_config=dict(policy="stepp", step=[1])), "lr_config.policy"),
        (lambda r: r.register_training_hooks(lr_config=None, optimizer_config=dict(type="AdamOptimizerHook")),
         "optimizer_config.type"),
        (lambda r: r.register_training_hooks(lr_config=None, optimizer_config=dict(grad_clp=None)),
         "optimizer_config.grad_clp"),
        (lambda r: r.run([loader(), loader()], [("train", 1), ("test", 1)]), "workflow[1]"),
        (lambda r: r.run([loader()], [("train", 1), ("val", 1)]), "run.data_loaders"),
        (lambda r: r.register_training_hooks(lr_config=None, log_config=dict(hooks=[dict(type="TextLogerHook")])),
         "log_config.hooks[0].type"),
    ],
    ids=["unknown-policy", "unknown-optimizer-hook", "unknown-optimizer-arg", "workflow-phase", "loader-count",
         "unknown-logger"],
)
def test_bad_input_names_the_key(call: Any, path: str) -> None:
    runner = make_runner(max_epochs=1)
    with pytest.raises(ConfigError) as info:
        call(runner)
    assert str(info.value).startswith(f"{path}: got ")
    assert "Fix:" in str(info.value)


def test_unknown_policy_suggests_the_closest_name() -> None:
    with pytest.raises(ConfigError, match=r"lr_config.policy: got 'stepp'.*did you mean 'Step'"):
        make_runner(max_epochs=1).register_lr_hook(dict(policy="stepp", step=[1]))
