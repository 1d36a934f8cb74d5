"""Differential tests: every mmhooks scheduler against mmengine-lite on the same optimizer setup.

Both sides are driven the same way, without a Runner: an epoch loop that
records the value each iteration uses, steps iteration-based schedulers after
every batch and epoch-based ones after every epoch (MMEngine's hook order).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import torch

import mmhooks.optim.scheduler as ours
from mmhooks.optim.scheduler import INF

mmengine_scheduler = pytest.importorskip("mmengine.optim.scheduler")

EPOCH_LENGTH = 4
EPOCHS = 3


def make_optimizer(kind: str, groups: int = 1) -> torch.optim.Optimizer:
    params = [{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1 / (index + 1)} for index in range(groups)]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)
    return torch.optim.Adam(params, lr=0.1, betas=(0.95, 0.999))


def read(optimizer: Any, name: str) -> list[float]:
    """The values the next iteration uses, per group (Adam's momentum is betas[0])."""
    if name == "momentum" and "betas" in optimizer.param_groups[0]:
        return [group["betas"][0] for group in optimizer.param_groups]
    return [group[name] for group in optimizer.param_groups]


Spec = tuple[str, dict[str, Any]]


def build(module: Any, optimizer: Any, specs: list[Spec], epoch_length: int = EPOCH_LENGTH) -> list[Any]:
    built = []
    for name, kwargs in specs:
        kwargs = dict(kwargs)
        cls = getattr(module, name)
        if kwargs.pop("convert_to_iter_based", False):
            built.append(cls.build_iter_from_epoch(optimizer, epoch_length=epoch_length, **kwargs))
        else:
            built.append(cls(optimizer, **kwargs))
    return built


def drive(
    optimizer: Any,
    schedulers: list[Any],
    name: str,
    epochs: int = EPOCHS,
    epoch_length: int = EPOCH_LENGTH,
    metrics: Callable[[int], dict[str, float]] | None = None,
) -> list[list[float]]:
    """Values used by each iteration, then the values left after the run."""
    trace = []
    raw = getattr(optimizer, "optimizer", optimizer)
    for epoch in range(epochs):
        for _ in range(epoch_length):
            trace.append(read(optimizer, name))
            raw.step()
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()
        if metrics is not None:
            for scheduler in schedulers:
                if getattr(scheduler, "need_val_args", False):
                    scheduler.step(metrics(epoch))
    trace.append(read(optimizer, name))
    return trace


def assert_same(actual: list[list[float]], expected: list[list[float]]) -> None:
    torch.testing.assert_close(torch.tensor(actual, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64),
                               rtol=0, atol=1e-12)


def compare(specs: list[Spec], kind: str = "sgd", name: str = "lr", groups: int = 1, **drive_kw: Any) -> None:
    mm_opt, our_opt = make_optimizer(kind, groups), make_optimizer(kind, groups)
    expected = drive(mm_opt, build(mmengine_scheduler, mm_opt, specs), name, **drive_kw)
    actual = drive(our_opt, build(ours, our_opt, specs), name, **drive_kw)
    assert_same(actual, expected)


# Arguments that make sense for both lr (0.1) and momentum (0.9 / betas[0] 0.95).
FAMILIES: dict[str, list[dict[str, Any]]] = {
    "Constant": [dict(factor=0.5, end=5, by_epoch=False)],
    "CosineAnnealing": [dict(T_max=5, eta_min_ratio=0.05, by_epoch=False), dict(by_epoch=False, end=9)],
    "CosineRestart": [dict(periods=[4, 6], restart_weights=[1, 0.5], eta_min_ratio=0.1, by_epoch=False)],
    "Exponential": [dict(gamma=0.9, by_epoch=False, begin=2, end=10)],
    "Linear": [dict(start_factor=0.25, end=6, by_epoch=False), dict(start_factor=0.5, end_factor=0.75, end=3)],
    "MultiStep": [dict(milestones=[2, 5, 5], gamma=0.5, by_epoch=False, begin=1)],
    "Poly": [dict(power=0.9, end=10, by_epoch=False), dict(eta_min=0.01, power=2.0, begin=1, end=3)],
    "Step": [dict(step_size=3, gamma=0.5, by_epoch=False, begin=1)],
}
CASES = [
    (family, variant, kw, kind)
    for family, kwargs_list in FAMILIES.items()
    for index, kw in enumerate(kwargs_list)
    for variant in ("LR", "Momentum")
    for kind in ("sgd", "adam")
]


@pytest.mark.parametrize(
    ("family", "variant", "kwargs", "kind"), CASES, ids=[f"{f}{v}-{k}-{i}" for i, (f, v, _, k) in enumerate(CASES)]
)
def test_each_scheduler_matches_mmengine(family: str, variant: str, kwargs: dict[str, Any], kind: str) -> None:
    compare([(family + variant, kwargs)], kind=kind, name="lr" if variant == "LR" else "momentum")


@pytest.mark.parametrize("family", sorted(FAMILIES), ids=str)
def test_param_scheduler_base_classes_match_mmengine(family: str) -> None:
    kwargs = {**FAMILIES[family][0], "param_name": "lr"}
    compare([(family + "ParamScheduler", kwargs)], groups=2)


ONE_CYCLE = [
    dict(eta_max=0.1, total_steps=12, by_epoch=False),
    dict(eta_max=[0.1, 0.05], pct_start=0.25, anneal_strategy="linear", three_phase=True, end=12, by_epoch=False),
    dict(eta_max=0.2, total_steps=11, final_div_factor=10.0, end=12, by_epoch=False),  # t == total_steps
]


@pytest.mark.parametrize("kwargs", ONE_CYCLE, ids=["two-phase-cos", "three-phase-linear", "extrapolated"])
def test_one_cycle_matches_mmengine(kwargs: dict[str, Any]) -> None:
    compare([("OneCycleLR", kwargs)], groups=2)


def test_one_cycle_raises_past_total_steps() -> None:
    optimizer = make_optimizer("sgd")
    scheduler = ours.OneCycleLR(optimizer, eta_max=0.1, total_steps=2, by_epoch=False)
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match="tried to step 4 times; total_steps is 2"):
        scheduler.step()


CHAINS: dict[str, list[Spec]] = {
    # E1: iteration warm-up, a gap, then an epoch cosine.
    "gapped": [
        ("LinearLR", dict(start_factor=0.1, by_epoch=False, begin=0, end=5)),
        ("CosineAnnealingLR", dict(by_epoch=True, begin=1, end=3, eta_min=1e-3)),
    ],
    # E2: iteration warm-up overlapping an epoch cosine.
    "overlapping": [
        ("LinearLR", dict(start_factor=0.1, by_epoch=False, begin=0, end=6)),
        ("CosineAnnealingLR", dict(by_epoch=True, T_max=3, end=3)),
    ],
    # E8: constant, step and exponential stacked.
    "stacked": [
        ("ConstantLR", dict(factor=0.5, by_epoch=False, end=4)),
        ("StepLR", dict(step_size=2, gamma=0.5, end=3)),
        ("ExponentialLR", dict(gamma=0.9, begin=1, end=3)),
    ],
    "restart-after-warmup": [
        ("LinearLR", dict(start_factor=0.2, by_epoch=False, end=3)),
        ("CosineRestartLR", dict(periods=[5, 5], restart_weights=[1, 0.3], eta_min=0.001, by_epoch=False, begin=2)),
        ("MultiStepLR", dict(milestones=[1], gamma=0.5, begin=1, end=3)),
    ],
    "one-cycle-over-poly": [
        ("PolyLR", dict(eta_min=1e-3, by_epoch=False, end=12)),
        ("OneCycleLR", dict(eta_max=0.05, by_epoch=False, begin=4, end=12)),
    ],
    "momentum-with-lr": [
        ("CosineAnnealingLR", dict(eta_min=1e-5, by_epoch=False, end=12)),
        ("CosineAnnealingMomentum", dict(eta_min=0.85, by_epoch=False, end=12)),
    ],
}


@pytest.mark.parametrize("chain", sorted(CHAINS), ids=str)
@pytest.mark.parametrize("kind", ["sgd", "adam"], ids=str)
def test_chained_windows_match_mmengine(chain: str, kind: str) -> None:
    compare(CHAINS[chain], kind=kind, groups=2)
    if chain == "momentum-with-lr":
        compare(CHAINS[chain], kind=kind, name="momentum")


CONVERSIONS: dict[str, list[Spec]] = {
    # E7b / E7c / E3: epoch configs turned into iterations.
    "cosine": [("CosineAnnealingLR", dict(T_max=3, end=3, convert_to_iter_based=True))],
    "cosine-begin-ratio": [("CosineAnnealingLR", dict(begin=1, end=3, eta_min_ratio=0.05, convert_to_iter_based=True))],
    "multistep": [("MultiStepLR", dict(milestones=[1, 2], end=3, convert_to_iter_based=True))],
    "step-fractional": [("StepLR", dict(step_size=1, gamma=0.5, begin=0.5, end=2.75, convert_to_iter_based=True))],
    "restart": [("CosineRestartMomentum", dict(periods=[1, 2], restart_weights=[1, 0.5], eta_min=0.5,
                                               convert_to_iter_based=True))],
    "one-cycle-warmup": [
        ("LinearLR", dict(start_factor=0.5, end=1, convert_to_iter_based=True)),
        ("OneCycleLR", dict(eta_max=0.1, total_steps=2, begin=1, end=3, convert_to_iter_based=True)),
    ],
    "constant-poly-exponential": [
        ("ConstantLR", dict(factor=0.5, end=1, convert_to_iter_based=True)),
        ("PolyLR", dict(power=2.0, begin=1, end=3, convert_to_iter_based=True)),
        ("ExponentialLR", dict(gamma=0.95, begin=1, convert_to_iter_based=True)),
    ],
}


@pytest.mark.parametrize("conversion", sorted(CONVERSIONS), ids=str)
def test_build_iter_from_epoch_matches_mmengine(conversion: str) -> None:
    specs = CONVERSIONS[conversion]
    name = "momentum" if "Momentum" in specs[0][0] else "lr"
    compare(specs, name=name)


def metrics_of(values: list[float]) -> Callable[[int], dict[str, float]]:
    return lambda epoch: {"loss": values[epoch], "acc": 1 - values[epoch]}


PLATEAU = [
    dict(factor=0.5, patience=1, cooldown=1),
    dict(rule="greater", monitor="acc", threshold_rule="abs", threshold=0.01, patience=0, min_value=0.02),
    dict(factor=0.5, patience=0, begin=2, end=7, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=["less-rel-cooldown", "greater-abs-min", "window-eps"])
@pytest.mark.parametrize(("variant", "kind"), [("LR", "sgd"), ("Momentum", "sgd"), ("Momentum", "adam")],
                         ids=["lr", "momentum-sgd", "momentum-adam"])
def test_reduce_on_plateau_matches_mmengine(kwargs: dict[str, Any], variant: str, kind: str) -> None:
    losses = metrics_of([1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85])
    compare([("ReduceOnPlateau" + variant, kwargs)], kind=kind, name="lr" if variant == "LR" else "momentum",
            epochs=8, epoch_length=2, metrics=losses)


def test_reduce_on_plateau_with_wrapper_base_group_matches_mmengine() -> None:
    optim_wrapper = pytest.importorskip("mmengine.optim").OptimWrapper
    specs: list[Spec] = [("ReduceOnPlateauLR", dict(factor=0.5, patience=0, min_value=[0.04, 0.03]))]
    traces = []
    for module in (mmengine_scheduler, ours):
        wrapper = optim_wrapper(make_optimizer("sgd", groups=2))  # adds the synthetic base group
        traces.append(drive(wrapper, build(module, wrapper, specs), "lr", epochs=5, epoch_length=1,
                            metrics=lambda epoch: {"loss": 1.0}))
    assert len(traces[1][0]) == 3
    assert_same(traces[1], traces[0])


RESUMABLE: dict[str, list[Spec]] = {
    "warmup-cosine": [
        ("LinearLR", dict(start_factor=0.1, by_epoch=False, end=5)),
        ("CosineAnnealingLR", dict(T_max=3, end=3, eta_min=1e-3)),
        ("CosineAnnealingMomentum", dict(eta_min=0.8, by_epoch=False, end=12)),
    ],
    "one-cycle": [("OneCycleLR", dict(eta_max=0.1, total_steps=15, end=15, by_epoch=False))],
    "restart-multistep": [
        ("CosineRestartLR", dict(periods=[5, 7], restart_weights=[1, 0.5], eta_min_ratio=0.1, by_epoch=False)),
        ("MultiStepMomentum", dict(milestones=[1, 2], gamma=0.9)),
    ],
    "plateau": [("ReduceOnPlateauLR", dict(factor=0.5, patience=0, cooldown=1))],
}


@pytest.mark.parametrize("setup", sorted(RESUMABLE), ids=str)
@pytest.mark.parametrize("kind", ["sgd", "adam"], ids=str)
def test_resume_mid_run_matches_uninterrupted_mmengine(setup: str, kind: str) -> None:
    specs = RESUMABLE[setup]
    losses = metrics_of([1.0, 1.0, 0.5, 0.5, 0.5, 0.5])
    mm_opt = make_optimizer(kind)
    mm_scheds = build(mmengine_scheduler, mm_opt, specs)
    expected_lr = drive(mm_opt, mm_scheds, "lr", epochs=5, metrics=losses)

    first_opt = make_optimizer(kind)
    first = build(ours, first_opt, specs)
    head = drive(first_opt, first, "lr", epochs=2, metrics=losses)[:-1]
    buffer = io.BytesIO()
    torch.save({"optimizer": first_opt.state_dict(), "param_schedulers": [s.state_dict() for s in first]}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)

    resumed_opt = make_optimizer(kind)
    resumed = build(ours, resumed_opt, specs)  # MMEngine's order: build, load optimizer, load schedulers
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    for scheduler, state in zip(resumed, checkpoint["param_schedulers"]):
        scheduler.load_state_dict(state)
    tail = drive(resumed_opt, resumed, "lr", epochs=3, metrics=lambda epoch: losses(epoch + 2))
    assert_same(head + tail, expected_lr)
    assert resumed[0].get_last_value() == mm_scheds[0].get_last_value()


def test_state_dict_holds_progress_and_hyper_parameters() -> None:
    optimizer = make_optimizer("sgd")
    scheduler = ours.OneCycleLR(optimizer, eta_max=0.1, total_steps=10, by_epoch=False)
    optimizer.step()
    scheduler.step()
    state = scheduler.state_dict()
    assert {key: state[key] for key in ("version", "_global_step", "last_step", "base_values", "_last_value")} == {
        "version": 1,
        "_global_step": 1,
        "last_step": 1,
        "base_values": [0.004],
        "_last_value": [pytest.approx(0.052)],  # half way up the cosine
    }
    assert (state["eta_max"], state["total_steps"], state["anneal_strategy"], state["end"]) == (0.1, 10, "cos", INF)


def test_mmengine_scheduler_state_loads_into_mmhooks() -> None:
    specs: list[Spec] = [("MultiStepLR", dict(milestones=[2, 4], by_epoch=False))]
    mm_opt, our_opt = make_optimizer("sgd"), make_optimizer("sgd")
    mm_sched, = build(mmengine_scheduler, mm_opt, specs)
    for _ in range(3):
        mm_opt.step()
        mm_sched.step()
    our_sched, = build(ours, our_opt, specs)
    our_opt.load_state_dict(mm_opt.state_dict())
    our_sched.load_state_dict(mm_sched.state_dict())
    for _ in range(3):
        mm_opt.step()
        mm_sched.step()
        our_sched.step()
    assert our_opt.param_groups[0]["lr"] == mm_opt.param_groups[0]["lr"]
    assert our_sched.last_step == 6


def test_state_from_a_newer_version_is_refused() -> None:
    scheduler = ours.StepLR(make_optimizer("sgd"), step_size=2)
    with pytest.raises(RuntimeError, match="StepLR: checkpoint state version 2 is newer than this mmhooks"):
        scheduler.load_state_dict({**scheduler.state_dict(), "version": 2})


def test_get_last_value_outside_the_window_tracks_other_schedulers() -> None:
    optimizer = make_optimizer("sgd")
    late = ours.StepLR(optimizer, step_size=1, gamma=0.5, begin=3, by_epoch=False)
    early = ours.ExponentialLR(optimizer, gamma=0.1, end=2, by_epoch=False)
    early.step()
    late.step()
    assert late.get_last_value() == pytest.approx([0.01])
    assert late.last_step == -1


class BareWrapper:
    """The least an optimizer wrapper offers: ``param_groups`` and the wrapped ``optimizer``."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups


def test_any_object_with_param_groups_is_scheduled_like_the_optimizer() -> None:
    specs: list[Spec] = [("CosineAnnealingMomentum", dict(eta_min=0.85, by_epoch=False, end=12)),
                         ("LinearLR", dict(start_factor=0.5, by_epoch=False, end=4))]
    mm_opt = make_optimizer("adam")
    expected = drive(mm_opt, build(mmengine_scheduler, mm_opt, specs), "momentum")
    wrapper = BareWrapper(make_optimizer("adam"))
    assert_same(drive(wrapper, build(ours, wrapper, specs), "momentum"), expected)


def test_an_object_without_param_groups_is_refused() -> None:
    with pytest.raises(TypeError, match=r"^LinearLR\.optimizer: got dict; expected a torch\.optim\.Optimizer"):
        ours.LinearLR({"lr": 0.1})
