"""LegacyHookAdapter on a stub MMEngine-style loop: counters must match spec mmcv_legacy §4.3 / errata."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from mmhooks.hooks.hook import Hook
from mmhooks.legacy.hook import LegacyHook, is_legacy_hook
from mmhooks.legacy.log_buffer import LogBuffer
from mmhooks.legacy.runner_view import LegacyHookAdapter, LegacyRunnerView

STAGES = ("before_run", "after_run", "before_epoch", "after_epoch", "before_train_epoch", "after_train_epoch",
          "before_val_epoch", "after_val_epoch", "before_train_iter", "after_train_iter", "before_val_iter",
          "after_val_iter")


class Recorder(LegacyHook):
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []


def _recording(stage: str) -> Any:
    def method(self: Recorder, runner: Any) -> None:
        self.rows.append((stage, runner.epoch, runner.iter, runner.inner_iter, runner.mode))

    return method


for _stage in STAGES:
    setattr(Recorder, _stage, _recording(_stage))


def facade(epochs: int, per_epoch: int, max_iters: int | None = None, by_epoch: bool = True) -> SimpleNamespace:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    loop = SimpleNamespace(by_epoch=by_epoch, dataloader=list(range(per_epoch)))
    return SimpleNamespace(
        epoch=0, iter=0, max_epochs=epochs if by_epoch else 1, max_iters=max_iters or epochs * per_epoch,
        train_loop=loop, train_dataloader=loop.dataloader, val_dataloader=[0, 1], val_loop=None,
        optim_wrapper=SimpleNamespace(optimizer=optimizer), hooks=[], model=torch.nn.Linear(1, 1),
    )


def run_epoch_loop(hooks: list[Hook], runner: SimpleNamespace, epochs: int, per_epoch: int, val: int) -> None:
    """MMEngine's EpochBasedTrainLoop + ValLoop call order (mmengine_hooks §4.3/§4.5)."""
    call = lambda name, **kw: [getattr(h, name)(runner, **kw) for h in hooks]  # noqa: E731
    call("before_run")
    for _ in range(epochs):
        call("before_train_epoch")
        for i in range(per_epoch):
            batch = torch.zeros(4, 1)
            call("before_train_iter", batch_idx=i, data_batch=batch)
            call("after_train_iter", batch_idx=i, data_batch=batch, outputs={"loss": torch.tensor(float(runner.iter))})
            runner.iter += 1
        call("after_train_epoch")
        runner.epoch += 1
        call("before_val_epoch")
        for k in range(val):
            call("before_val_iter", batch_idx=k, data_batch=None)
            call("after_val_iter", batch_idx=k, data_batch=None, outputs=[object()])
        call("after_val_epoch", metrics={"acc": 0.5})
    call("after_run")


def test_epoch_based_counters_match_spec_table() -> None:
    E, L, V = 2, 3, 2
    rec = Recorder()
    runner = facade(E, L)
    run_epoch_loop([LegacyHookAdapter(rec)], runner, E, L, V)
    # spec §4.3 table (+ errata 2: stale inner_iter after a val phase is the val loader's last index)
    want: list[tuple[Any, ...]] = [("before_run", 0, 0, 0, None)]
    for e in range(E):
        want.append(("before_train_epoch", e, e * L, 0 if e == 0 else V - 1, "train"))
        for i in range(L):
            want += [("before_train_iter", e, e * L + i, i, "train"), ("after_train_iter", e, e * L + i, i, "train")]
        want.append(("after_train_epoch", e, (e + 1) * L, L - 1, "train"))
        want.append(("before_val_epoch", e + 1, (e + 1) * L, L - 1, "val"))
        for k in range(V):
            want += [("before_val_iter", e + 1, (e + 1) * L, k, "val"), ("after_val_iter", e + 1, (e + 1) * L, k, "val")]
        want.append(("after_val_epoch", e + 1, (e + 1) * L, V - 1, "val"))
    want.append(("after_run", E, E * L, V - 1, "val"))
    assert rec.rows == want


def test_iter_based_counters_match_errata() -> None:
    L, N = 3, 8
    rec = Recorder()
    runner = facade(1, L, max_iters=N, by_epoch=False)
    adapter = LegacyHookAdapter(rec)
    adapter.before_run(runner)
    adapter.before_train_epoch(runner)  # MMEngine IterBasedTrainLoop: once
    for t in range(N):
        adapter.before_train_iter(runner, batch_idx=t)
        adapter.after_train_iter(runner, batch_idx=t, outputs={"loss": torch.tensor(1.0)})
        runner.iter += 1
    adapter.after_train_epoch(runner)
    adapter.after_run(runner)
    # errata 1: epoch = passes completed before the batch fetch (lags one iteration behind the wrap)
    lagging = [0, 0, 0, 0, 1, 1, 1, 2]
    want: list[tuple[Any, ...]] = [("before_run", 0, 0, 0, None), ("before_epoch", 0, 0, 0, None)]
    for t in range(N):
        want += [("before_train_iter", lagging[t], t, 0, "train"), ("after_train_iter", lagging[t], t, 0, "train")]
    # errata 3: after_epoch / after_run see inner_iter 1 with the final epoch and iter
    want += [("after_epoch", 2, N, 1, "train"), ("after_run", 2, N, 1, "train")]
    assert rec.rows == want
    assert rec.rows[1] == ("before_epoch", 0, 0, 0, None)


def test_generic_fallback_and_shared_log_buffer() -> None:
    class AfterIterOnly(LegacyHook):
        def __init__(self) -> None:
            self.modes: list[str] = []

        def after_iter(self, runner: Any) -> None:
            self.modes.append(runner.mode)

    class Duck:  # an MMCV hook that does not inherit from any base
        def __init__(self) -> None:
            self.seen: list[float] = []

        def after_train_iter(self, runner: Any) -> None:
            self.seen.append(runner.outputs["log_vars"]["loss"])

    first, duck = AfterIterOnly(), Duck()
    runner = facade(1, 2)
    run_epoch_loop([LegacyHookAdapter(first), LegacyHookAdapter(duck)], runner, 1, 2, 1)
    assert first.modes == ["train", "train", "val"]
    assert duck.seen == [0.0, 1.0]
    view = LegacyRunnerView.of(runner)
    # pushed once per iteration although two adapters ran; weight = batch size 4; metrics weight 1
    assert view.log_buffer.val_history["loss"] == [0.0, 1.0]
    assert view.log_buffer.n_history["loss"] == [4, 4]
    assert view.log_buffer.val_history["acc"] == [0.5]


def test_view_reads_optimizer_and_predicates() -> None:
    runner = facade(2, 3)
    view = LegacyRunnerView.of(runner)
    view.sync("before_train_iter", batch_idx=2)
    assert view.current_lr() == [0.1] and view.current_momentum() == [0.9]
    hook = LegacyHook()
    assert hook.end_of_epoch(view) and hook.every_n_inner_iters(view, 3) and not hook.every_n_iters(view, 2)
    assert hook.is_last_epoch(view) is False and hook.is_last_iter(view) is False
    runner.iter, runner.epoch = 5, 1
    view.sync("after_train_iter", batch_idx=2, outputs={"loss": torch.tensor(2.0)})
    assert hook.is_last_iter(view) and hook.is_last_epoch(view) and hook.every_n_epochs(view, 2)
    assert view.outputs == {"loss": torch.tensor(2.0), "log_vars": {"loss": 2.0}, "num_samples": 1}


def test_triggered_stages_follow_generic_overrides() -> None:
    class T(LegacyHook):
        def after_iter(self, runner: Any) -> None: ...

        def before_run(self, runner: Any) -> None: ...

    assert T().get_triggered_stages() == ["before_run", "after_train_iter", "after_val_iter"]


def test_is_legacy_hook() -> None:
    class Duck:
        def after_train_iter(self, runner): ...  # noqa: ANN001, ANN201

    class Modern:
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None): ...  # noqa: ANN001, ANN201

    assert [is_legacy_hook(x) for x in (LegacyHook(), Duck(), Hook(), Modern(), object())] == [
        True, True, False, False, False]


def test_adapter_takes_the_hooks_priority() -> None:
    hook = LegacyHook()
    hook.priority = SimpleNamespace(value=90)  # an MMCV Priority enum member carries .value
    assert LegacyHookAdapter(hook).priority == 90
    assert LegacyHookAdapter(LegacyHook(), priority="LOW").priority == "LOW"


@pytest.mark.parametrize("n", [0, 2], ids=["all", "last2"])
def test_log_buffer_weighted_average(n: int) -> None:
    buf = LogBuffer()
    for value, count in ((1.0, 1), (2.0, 2), (4.0, 2)):
        buf.update({"loss": value}, count)
    buf.average(n)
    assert buf.output["loss"] == pytest.approx((1 + 4 + 8) / 5 if n == 0 else (4 + 8) / 4) and buf.ready
    buf.clear_output()
    assert not buf.ready and buf.val_history["loss"]
    buf.clear()
    assert not buf.val_history
