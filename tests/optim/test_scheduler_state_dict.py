"""Schedulers' ``state_dict``/``load_state_dict`` against mmengine-lite: every attribute, hyper-parameters included.

MMEngine saves every attribute but the optimizer and restores them all, so a
scheduler built from one config and loaded with another's state behaves as
the saved one. Each test does the same thing to an MMEngine scheduler and to
mmhooks' and compares the states and the values the optimizer then receives.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
import torch

import mmhooks.optim.scheduler as ours

mmengine_scheduler = pytest.importorskip("mmengine.optim.scheduler")

# Keys only mmhooks saves: the state version, and OneCycle's annealing by name (MMEngine saves the function).
OUR_EXTRA_KEYS = {"version", "anneal_strategy", "pct_start", "three_phase"}
MMENGINE_ONLY_KEYS = {"anneal_func"}

# name -> (saved config, a different config to load the saved state into)
PAIRS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "StepLR": (dict(step_size=2, gamma=0.5, by_epoch=False), dict(step_size=5, gamma=0.9, by_epoch=False)),
    "MultiStepLR": (dict(milestones=[2, 3, 3], gamma=0.5, by_epoch=False), dict(milestones=[7], by_epoch=False)),
    "ConstantLR": (dict(factor=0.25, end=6, by_epoch=False), dict(factor=0.5, end=3, by_epoch=False)),
    "ExponentialLR": (dict(gamma=0.8, begin=1, by_epoch=False), dict(gamma=0.99, by_epoch=False)),
    "CosineAnnealingLR": (dict(T_max=6, eta_min=0.01, by_epoch=False), dict(T_max=20, by_epoch=False)),
    "LinearLR": (dict(start_factor=0.1, end=8, by_epoch=False), dict(start_factor=0.5, end=3, by_epoch=False)),
    "PolyLR": (dict(power=2.0, eta_min=0.001, end=9, by_epoch=False), dict(power=1.0, end=20, by_epoch=False)),
    "OneCycleLR": (dict(eta_max=0.2, total_steps=12, anneal_strategy="linear", pct_start=0.25, by_epoch=False),
                   dict(eta_max=0.2, total_steps=30, by_epoch=False)),
    "CosineRestartLR": (dict(periods=[3, 5], restart_weights=[1, 0.5], eta_min=0.0, by_epoch=False),
                        dict(periods=[10], restart_weights=[1], eta_min_ratio=0.5, by_epoch=False)),
    "StepMomentum": (dict(step_size=2, gamma=0.9, by_epoch=False), dict(step_size=7, gamma=0.5, by_epoch=False)),
    "CosineAnnealingMomentum": (dict(T_max=6, eta_min=0.8, by_epoch=False), dict(T_max=30, eta_min=0.5,
                                                                                by_epoch=False)),
}
PLATEAU: tuple[dict[str, Any], dict[str, Any]] = (
    dict(monitor="loss", factor=0.5, patience=0, cooldown=1),
    dict(monitor="acc", rule="greater", factor=0.1, patience=5),
)
LOSSES = [1.0, 0.9, 0.9, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]


def make_optimizer(kind: str = "sgd") -> torch.optim.Optimizer:
    params = [{"params": [torch.zeros(2, requires_grad=True)]}, {"params": [torch.zeros(1, requires_grad=True)],
                                                                 "lr": 0.05}]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)
    return torch.optim.Adam(params, lr=0.1, betas=(0.95, 0.999))


def values(optimizer: torch.optim.Optimizer, name: str) -> list[float]:
    if name == "momentum" and "betas" in optimizer.param_groups[0]:
        return [group["betas"][0] for group in optimizer.param_groups]
    return [group[name] for group in optimizer.param_groups]


def run(optimizer: torch.optim.Optimizer, scheduler: Any, name: str, steps: int,
        losses: list[float] | None = None) -> list[list[float]]:
    """Step the optimizer, then the scheduler (with the next loss for ReduceOnPlateau); record the values."""
    trace = []
    for index in range(steps):
        optimizer.step()
        if losses is None:
            scheduler.step()
        else:
            scheduler.step()
            scheduler.step({"loss": losses[index], "acc": 1 - losses[index]})
        trace.append(values(optimizer, name))
    return trace


def assert_same(actual: list[list[float]], expected: list[list[float]]) -> None:
    torch.testing.assert_close(torch.tensor(actual, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64),
                               rtol=0, atol=1e-12)


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """A state without the keys only one side saves."""
    return {key: value for key, value in state.items() if key not in OUR_EXTRA_KEYS | MMENGINE_ONLY_KEYS}


def assert_states_equal(our_state: dict[str, Any], mm_state: dict[str, Any]) -> None:
    assert set(mm_state) - set(our_state) <= MMENGINE_ONLY_KEYS
    assert set(our_state) - set(mm_state) <= OUR_EXTRA_KEYS
    ours_c, theirs_c = comparable(our_state), comparable(mm_state)
    assert sorted(ours_c) == sorted(theirs_c)
    for key, theirs in theirs_c.items():
        assert ours_c[key] == theirs, key


def param_name(name: str) -> str:
    return "momentum" if name.endswith("Momentum") else "lr"


@pytest.mark.parametrize("name", sorted(PAIRS), ids=str)
def test_state_dict_holds_what_mmengine_holds(name: str) -> None:
    saved_cfg, _ = PAIRS[name]
    mm_opt, our_opt = make_optimizer(), make_optimizer()
    mm_sched = getattr(mmengine_scheduler, name)(mm_opt, **saved_cfg)
    our_sched = getattr(ours, name)(our_opt, **saved_cfg)
    run(mm_opt, mm_sched, param_name(name), 4)
    run(our_opt, our_sched, param_name(name), 4)
    assert_states_equal(our_sched.state_dict(), mm_sched.state_dict())


@pytest.mark.parametrize("name", sorted(PAIRS), ids=str)
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_loading_into_a_differently_configured_scheduler_restores_the_saved_schedule(name: str, kind: str) -> None:
    saved_cfg, other_cfg = PAIRS[name]
    key = param_name(name)
    if kind == "adam" and key == "lr" and name == "OneCycleLR":
        pytest.skip("one optimizer kind is enough for OneCycle")
    traces, states = {}, {}
    for side, module in (("mm", mmengine_scheduler), ("ours", ours)):
        first_opt = make_optimizer(kind)
        first = getattr(module, name)(first_opt, **saved_cfg)
        run(first_opt, first, key, 5)
        state = copy.deepcopy(first.state_dict())
        resumed_opt = make_optimizer(kind)
        resumed = getattr(module, name)(resumed_opt, **other_cfg)  # MMEngine's resume: build, load optimizer, load
        resumed_opt.load_state_dict(first_opt.state_dict())
        resumed.load_state_dict(state)
        traces[side] = (run(first_opt, first, key, 6), run(resumed_opt, resumed, key, 6))
        states[side] = resumed.state_dict()
    mm_uninterrupted, mm_resumed = traces["mm"]
    our_uninterrupted, our_resumed = traces["ours"]
    assert_same(mm_resumed, mm_uninterrupted)  # MMEngine follows the saved config...
    assert_same(our_resumed, mm_resumed)  # ...and so does mmhooks
    assert_same(our_uninterrupted, mm_uninterrupted)
    assert_states_equal(states["ours"], states["mm"])


def test_reduce_on_plateau_restores_monitor_rule_and_counters_like_mmengine() -> None:
    saved_cfg, other_cfg = PLATEAU
    results = {}
    for side, module in (("mm", mmengine_scheduler), ("ours", ours)):
        first_opt = make_optimizer()
        first = module.ReduceOnPlateauLR(first_opt, **saved_cfg)
        run(first_opt, first, "lr", 3, LOSSES)
        resumed_opt = make_optimizer()
        resumed = module.ReduceOnPlateauLR(resumed_opt, **other_cfg)
        resumed_opt.load_state_dict(first_opt.state_dict())
        resumed.load_state_dict(copy.deepcopy(first.state_dict()))
        assert (resumed.monitor, resumed.rule, resumed.factor, resumed.patience) == ("loss", "less", 0.5, 0)
        results[side] = (run(first_opt, first, "lr", 7, LOSSES[3:]), run(resumed_opt, resumed, "lr", 7, LOSSES[3:]),
                         resumed.state_dict())
    assert_same(results["mm"][1], results["mm"][0])
    assert_same(results["ours"][1], results["mm"][1])
    assert_states_equal(results["ours"][2], results["mm"][2])


@pytest.mark.parametrize("name", sorted(PAIRS), ids=str)
def test_mmengine_state_loads_into_a_differently_configured_mmhooks_scheduler(name: str) -> None:
    saved_cfg, other_cfg = PAIRS[name]
    key = param_name(name)
    mm_opt = make_optimizer()
    mm_sched = getattr(mmengine_scheduler, name)(mm_opt, **saved_cfg)
    run(mm_opt, mm_sched, key, 5)
    our_opt = make_optimizer()
    our_sched = getattr(ours, name)(our_opt, **other_cfg)
    our_opt.load_state_dict(mm_opt.state_dict())
    our_sched.load_state_dict(mm_sched.state_dict())  # as found in an MMEngine checkpoint
    assert_same(run(our_opt, our_sched, key, 6), run(mm_opt, mm_sched, key, 6))
    assert_states_equal(our_sched.state_dict(), mm_sched.state_dict())


def test_mmengine_one_cycle_annealing_function_is_read_back_as_its_name() -> None:
    optimizer = make_optimizer()
    theirs = mmengine_scheduler.OneCycleLR(optimizer, eta_max=0.2, total_steps=12, anneal_strategy="linear")
    mine = ours.OneCycleLR(make_optimizer(), eta_max=0.2, total_steps=12, anneal_strategy="cos")
    mine.load_state_dict(theirs.state_dict())
    assert mine.anneal_strategy == "linear"
    assert "anneal_func" not in mine.state_dict()


@pytest.mark.parametrize("name", sorted(PAIRS), ids=str)
def test_state_reads_back_with_weights_only(name: str) -> None:
    saved_cfg, other_cfg = PAIRS[name]
    optimizer = make_optimizer()
    scheduler = getattr(ours, name)(optimizer, **saved_cfg)
    run(optimizer, scheduler, param_name(name), 3)
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh = getattr(ours, name)(make_optimizer(), **other_cfg)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == scheduler.state_dict()


def test_state_dict_is_a_copy_and_loading_does_not_share_it() -> None:
    scheduler = ours.MultiStepLR(make_optimizer(), milestones=[2, 4])
    state = scheduler.state_dict()
    state["milestones"][9] = 1
    state["base_values"].append(1.0)
    assert 9 not in scheduler.milestones and len(scheduler.base_values) == 2
    other = ours.MultiStepLR(make_optimizer(), milestones=[1])
    other.load_state_dict(state)
    state["milestones"][11] = 1
    assert 11 not in other.milestones and other.milestones[9] == 1


def test_a_progress_only_state_from_older_mmhooks_still_resumes() -> None:
    optimizer = make_optimizer()
    scheduler = ours.StepLR(optimizer, step_size=2, gamma=0.5, by_epoch=False)
    scheduler.load_state_dict({"version": 1, "_global_step": 3, "last_step": 3, "base_values": [0.1, 0.05],
                               "_last_value": [0.05, 0.025]})
    assert (scheduler.step_size, scheduler.gamma, scheduler.last_step) == (2, 0.5, 3)
