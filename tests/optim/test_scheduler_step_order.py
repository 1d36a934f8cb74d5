"""Scheduler misuse warnings against mmengine-lite: stepped before the optimizer, ``optimizer.step`` replaced.

Each scenario is played on MMEngine's schedulers and on mmhooks', and the
kinds of warning each side raises are compared (the wording differs: mmhooks
names the scheduler).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch

import mmhooks.optim.scheduler as ours
from mmhooks.optim import OptimWrapper

mmengine_scheduler = pytest.importorskip("mmengine.optim.scheduler")
mmengine_optim = pytest.importorskip("mmengine.optim")

KINDS = {
    # MMEngine's wording, then mmhooks'
    "before": ("Detected call of `scheduler.step()` before `optimizer.step()`", "was called before optimizer.step()"),
    "replaced": ("`optimizer.step()` has been overridden", "optimizer.step was replaced"),
}


def kinds_of(record: list[warnings.WarningMessage]) -> list[str]:
    found = []
    for item in record:
        for kind, texts in KINDS.items():
            if any(text in str(item.message) for text in texts):
                assert item.category is UserWarning
                found.append(kind)
    return found


def new_optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)


Scenario = Callable[[Any, dict[str, Any]], None]


def play(scenario: Scenario, side: str) -> list[str]:
    """Run ``scenario`` with one side's scheduler module and OptimWrapper; the kinds of warning raised."""
    env = {
        "module": mmengine_scheduler if side == "mm" else ours,
        "OptimWrapper": mmengine_optim.OptimWrapper if side == "mm" else OptimWrapper,
    }
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        scenario(env["module"], env)
    return kinds_of(record)


def scheduler_first(module: Any, env: dict[str, Any]) -> None:
    optimizer = new_optimizer()
    scheduler = module.StepLR(optimizer, step_size=1)
    scheduler.step()
    optimizer.step()
    scheduler.step()


def optimizer_first(module: Any, env: dict[str, Any]) -> None:
    optimizer = new_optimizer()
    scheduler = module.LinearLR(optimizer, start_factor=0.5, end=3)
    for _ in range(3):
        optimizer.step()
        scheduler.step()


def step_replaced_after_building(module: Any, env: dict[str, Any]) -> None:
    optimizer = new_optimizer()
    scheduler = module.ExponentialLR(optimizer, gamma=0.9)
    original = optimizer.step
    optimizer.step = lambda *args, **kwargs: original(*args, **kwargs)  # type: ignore[method-assign]
    optimizer.step()
    scheduler.step()
    scheduler.step()


def never_stepped_and_replaced(module: Any, env: dict[str, Any]) -> None:
    optimizer = new_optimizer()
    scheduler = module.ExponentialLR(optimizer, gamma=0.9)
    optimizer.step = lambda *args, **kwargs: None  # type: ignore[method-assign]
    scheduler.step()


def second_scheduler_resets_the_count(module: Any, env: dict[str, Any]) -> None:
    optimizer = new_optimizer()
    first = module.StepLR(optimizer, step_size=1)
    optimizer.step()
    second = module.LinearLR(optimizer, start_factor=0.5, end=3)  # resets the optimizer's count, as MMEngine
    first.step()
    second.step()


def only_the_first_step_is_checked(module: Any, env: dict[str, Any]) -> None:
    optimizer = new_optimizer()
    scheduler = module.StepLR(optimizer, step_size=1)
    optimizer.step()
    scheduler.step()
    scheduler.step()
    scheduler.step()


def reduce_on_plateau_never_warns(module: Any, env: dict[str, Any]) -> None:
    optimizer = new_optimizer()
    scheduler = module.ReduceOnPlateauLR(optimizer, patience=0)
    scheduler.step()
    scheduler.step({"loss": 1.0})
    optimizer.step = lambda *args, **kwargs: None  # type: ignore[method-assign]
    scheduler.step({"loss": 2.0})


def momentum_scheduler_first(module: Any, env: dict[str, Any]) -> None:
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = module.CosineAnnealingMomentum(optimizer, T_max=4, eta_min=0.8)
    scheduler.step()


def wrapper_update_params_then_scheduler(module: Any, env: dict[str, Any]) -> None:
    model = torch.nn.Linear(2, 1)
    wrapper = env["OptimWrapper"](torch.optim.SGD(model.parameters(), lr=0.1))
    scheduler = module.LinearLR(wrapper, start_factor=0.5, end=3, by_epoch=False)
    for _ in range(2):
        wrapper.update_params(model(torch.ones(1, 2)).sum())
        scheduler.step()


def accumulation_steps_the_scheduler_first(module: Any, env: dict[str, Any]) -> None:
    model = torch.nn.Linear(2, 1)
    wrapper = env["OptimWrapper"](torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    scheduler = module.LinearLR(wrapper, start_factor=0.5, end=3, by_epoch=False)
    for _ in range(2):  # the first iteration only accumulates: the wrapper has not stepped yet
        wrapper.update_params(model(torch.ones(1, 2)).sum())
        scheduler.step()


def one_cycle_and_restart_first(module: Any, env: dict[str, Any]) -> None:
    optimizer = new_optimizer()
    cycle = module.OneCycleLR(optimizer, eta_max=0.1, total_steps=5)
    restart = module.CosineRestartLR(new_optimizer(), periods=[2], restart_weights=[1], eta_min=0.0)
    cycle.step()
    restart.step()


SCENARIOS: dict[str, tuple[Scenario, list[str]]] = {
    "scheduler-first": (scheduler_first, ["before"]),
    "optimizer-first": (optimizer_first, []),
    "step-replaced-after-building": (step_replaced_after_building, ["replaced"]),
    "never-stepped-and-replaced": (never_stepped_and_replaced, ["replaced"]),
    "second-scheduler-resets-the-count": (second_scheduler_resets_the_count, ["before", "before"]),
    "only-the-first-step-is-checked": (only_the_first_step_is_checked, []),
    "reduce-on-plateau-never-warns": (reduce_on_plateau_never_warns, []),
    "momentum-scheduler-first": (momentum_scheduler_first, ["before"]),
    "wrapper-update-params": (wrapper_update_params_then_scheduler, []),
    "accumulation": (accumulation_steps_the_scheduler_first, ["before"]),
    "one-cycle-and-restart": (one_cycle_and_restart_first, ["before", "before"]),
}


@pytest.mark.parametrize("name", list(SCENARIOS), ids=str)
def test_warnings_match_mmengine(name: str) -> None:
    scenario, expected = SCENARIOS[name]
    assert play(scenario, "mm") == expected  # what MMEngine does (the expectation is checked, not assumed)
    assert play(scenario, "ours") == expected


def test_the_warning_names_the_scheduler_and_points_at_the_caller() -> None:
    optimizer = new_optimizer()
    scheduler = ours.MultiStepLR(optimizer, milestones=[1])
    with pytest.warns(UserWarning, match=r"^MultiStepLR: scheduler\.step\(\) was called before optimizer\.step\(\)") \
            as record:
        scheduler.step()
    assert record[0].filename == __file__


def test_mmhooks_and_mmengine_schedulers_share_one_counter() -> None:
    optimizer = new_optimizer()
    theirs = mmengine_scheduler.StepLR(optimizer, step_size=1)
    mine = ours.StepLR(optimizer, step_size=1)  # finds MMEngine's counting step and keeps it
    assert getattr(optimizer.step, "_with_counter", False)
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theirs.step()
        mine.step()


def test_a_step_of_the_wrapped_optimizer_counts_for_the_wrapper() -> None:
    # Lightning's automatic optimization steps the torch optimizer inside the wrapper, never wrapper.step().
    model = torch.nn.Linear(2, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    scheduler = ours.LinearLR(wrapper, start_factor=0.5, end=3, by_epoch=False)
    model(torch.ones(1, 2)).sum().backward()
    wrapper.optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()


def test_mmengine_warns_when_only_the_wrapped_optimizer_steps_and_mmhooks_does_not() -> None:
    """Deliberate difference: the backend steps the inner optimizer, so mmhooks counts that step."""

    def inner_step_only(module: Any, env: dict[str, Any]) -> None:
        model = torch.nn.Linear(2, 1)
        wrapper = env["OptimWrapper"](torch.optim.SGD(model.parameters(), lr=0.1))
        scheduler = module.LinearLR(wrapper, start_factor=0.5, end=3, by_epoch=False)
        wrapper.optimizer.step()
        scheduler.step()

    assert play(inner_step_only, "mm") == ["before"]
    assert play(inner_step_only, "ours") == []


def test_a_step_replaced_before_building_is_counted() -> None:
    # MMEngine raises AttributeError here (it can only wrap a bound method); mmhooks wraps any callable.
    optimizer = new_optimizer()
    original = optimizer.step
    optimizer.step = lambda *args, **kwargs: original(*args, **kwargs)  # type: ignore[method-assign]
    scheduler = ours.ExponentialLR(optimizer, gamma=0.9)
    optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()
    assert optimizer._global_step == 0  # type: ignore[attr-defined]


def test_an_object_without_step_is_never_warned_about() -> None:
    class ParamGroupsOnly:
        def __init__(self) -> None:
            self.param_groups = [{"lr": 0.1}]

    holder = ParamGroupsOnly()
    scheduler = ours.StepLR(holder, step_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()
    assert not hasattr(holder, "_global_step")


def test_the_counting_step_keeps_no_strong_reference_to_the_optimizer() -> None:
    import gc
    import weakref

    optimizer = new_optimizer()
    ours.StepLR(optimizer, step_size=1)
    ref = weakref.ref(optimizer)
    del optimizer
    gc.collect()
    assert ref() is None


# ------------------------------------------------------------------ whole runs: MMEngine's Runner and mmhooks'
def run_and_collect(side: str, accumulative_counts: int, work_dir: str) -> list[str]:
    import uuid

    from torch.nn import functional as F
    from torch.utils.data import DataLoader, TensorDataset

    if side == "mm":
        from mmengine.model import BaseModel
        from mmengine.runner import Runner

        extra: dict[str, Any] = {}
    else:
        from mmhooks.model import BaseModel  # type: ignore[assignment]
        from mmhooks.runner import Runner  # type: ignore[assignment]

        extra = dict(trainer=dict(enable_progress_bar=False))

    class Toy(BaseModel):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 2)

        def forward(self, inputs: Any, targets: Any = None, mode: str = "tensor") -> Any:
            out = self.layer(inputs)
            return {"loss": F.mse_loss(out, targets)} if mode == "loss" else out

    torch.manual_seed(0)
    data = TensorDataset(torch.randn(12, 4), torch.randn(12, 2))
    cfg = dict(
        experiment_name=f"step-order-{uuid.uuid4().hex}",
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9), accumulative_counts=accumulative_counts),
        param_scheduler=[dict(type="LinearLR", start_factor=0.2, by_epoch=False, end=4),
                         dict(type="StepLR", step_size=1, by_epoch=True)],
        default_hooks=dict(checkpoint=None, logger=None),
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        Runner(model=Toy(), work_dir=work_dir, train_dataloader=DataLoader(data, batch_size=4), **cfg, **extra).train()
    return kinds_of(record)


@pytest.mark.slow
@pytest.mark.parametrize(("accumulative_counts", "expected"), [(1, []), (2, ["before"])],
                         ids=["every-iteration", "accumulation"])
def test_a_run_warns_exactly_when_mmengine_s_run_does(accumulative_counts: int, expected: list[str],
                                                     tmp_path: Any) -> None:
    # With accumulation the first iteration only accumulates, and MMEngine warns once; so does mmhooks.
    assert run_and_collect("mm", accumulative_counts, str(tmp_path / "mm")) == expected
    assert run_and_collect("ours", accumulative_counts, str(tmp_path / "ours")) == expected
