"""A converted schedule, run by MMEngine's real schedulers, stays within the difference the warning reports.

The MMCV side is the spec's closed form (mmcv_legacy §2.1/§2.2), written out here; the MMEngine side is
mmengine 0.10.7's schedulers stepped like its ParamSchedulerHook (iter-based after every iteration,
epoch-based after every epoch).
"""

from __future__ import annotations

import copy
import math
import re
import warnings
from collections.abc import Callable

import pytest
import torch

from mmhooks.legacy.convert import convert_mmcv_config

mmengine = pytest.importorskip("mmengine")

B = 0.1


def mmengine_trace(schedulers: list[dict], epochs: int, per_epoch: int, key: str = "lr") -> list[float]:
    import mmengine.optim  # noqa: F401 - registers the schedulers
    from mmengine.registry import PARAM_SCHEDULERS

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=B, momentum=0.9)
    built = []
    for cfg in copy.deepcopy(schedulers):
        cls = PARAM_SCHEDULERS.get(cfg.pop("type"))
        if cfg.pop("convert_to_iter_based", False):
            built.append(cls.build_iter_from_epoch(optimizer, epoch_length=per_epoch, **cfg))
        else:
            built.append(cls(optimizer, **cfg))
    seen = []
    for _ in range(epochs):
        for _ in range(per_epoch):
            seen.append(optimizer.param_groups[0][key])
            for s in built:
                if not s.by_epoch:
                    s.step()
        for s in built:
            if s.by_epoch:
                s.step()
    return seen


def cos_anneal(start: float, end: float, f: float, w: float = 1.0) -> float:
    return end + 0.5 * w * (start - end) * (1 + math.cos(math.pi * f))


def warm(kind: str, t: int, w: int, r: float) -> float:
    if t >= w:
        return 1.0
    return {"linear": 1 - (1 - t / w) * (1 - r), "constant": r, "exp": r ** (1 - t / w)}[kind]


def one_cycle(t: int, n: int) -> float:
    base, first = 0.5 / 25, 0.3 * n - 1
    if t <= first:
        return cos_anneal(base, 0.5, t / first)
    return cos_anneal(0.5, base / 1e4, (t - first) / (n - 1 - first))


def cyclic(t: int, n: int, up: int) -> float:
    return cos_anneal(B, 10 * B, t / up) if t < up else cos_anneal(10 * B, 1e-4 * B, (t - up) / (n - up))


Case = tuple[dict, int, int, dict, Callable[[int, int], float]]
NEEDS_EPOCH_LENGTH = {"cosine_by_iter_epoch_runner_ratio_warmup", "cosine_by_epoch_ratio_warmup_across_epochs"}
EPOCH = lambda e: dict(type="EpochBasedRunner", max_epochs=e)  # noqa: E731
ITER = lambda n: dict(type="IterBasedRunner", max_iters=n)  # noqa: E731
CASES: dict[str, Case] = {
    "step_linear_warmup_across_epochs": (
        dict(policy="step", step=[1, 2], warmup="linear", warmup_iters=5, warmup_ratio=0.01), 3, 4, EPOCH(3),
        lambda t, e: B * 0.1 ** sum(s <= e for s in (1, 2)) * warm("linear", t, 5, 0.01)),
    "exp_policy_constant_warmup": (
        dict(policy="exp", gamma=0.8, warmup="constant", warmup_iters=3, warmup_ratio=0.25), 3, 4, EPOCH(3),
        lambda t, e: B * 0.8**e * warm("constant", t, 3, 0.25)),
    "cosine_zero_target_exp_warmup": (
        dict(policy="CosineAnnealing", min_lr=0.0, warmup="exp", warmup_iters=6, warmup_ratio=0.001), 3, 4, EPOCH(3),
        lambda t, e: cos_anneal(B, 0.0, e / 3) * warm("exp", t, 6, 0.001)),
    "poly_iter_runner_exp_warmup_min_lr": (
        dict(policy="poly", power=0.9, min_lr=1e-3, warmup="exp", warmup_iters=4, warmup_ratio=0.01), 1, 16, ITER(16),
        lambda t, e: ((B - 1e-3) * (1 - t / 16) ** 0.9 + 1e-3) * warm("exp", t, 4, 0.01)),
    "cosine_by_iter_epoch_runner_ratio_warmup": (
        dict(policy="CosineAnnealing", min_lr_ratio=0.1, by_epoch=False, warmup="linear", warmup_iters=5,
             warmup_ratio=0.1), 3, 4, EPOCH(3),
        lambda t, e: cos_anneal(B, 0.01, t / 12) * warm("linear", t, 5, 0.1)),
    "cosine_by_epoch_ratio_warmup_across_epochs": (
        dict(policy="CosineAnnealing", min_lr_ratio=0.1, warmup="linear", warmup_iters=6, warmup_ratio=0.1),
        3, 4, EPOCH(3), lambda t, e: cos_anneal(B, 0.01, e / 3) * warm("linear", t, 6, 0.1)),
    "flat_cosine_by_epoch": (
        dict(policy="FlatCosineAnnealing", start_percent=0.5, min_lr=1e-3), 4, 2, EPOCH(4),
        lambda t, e: B if e < 2 else cos_anneal(B, 1e-3, (e - 2) / 2)),
    "linear_annealing_by_epoch": (
        dict(policy="LinearAnnealing", min_lr_ratio=0.2), 4, 2, EPOCH(4), lambda t, e: B + (0.2 * B - B) * e / 4),
    "linear_annealing_by_iter_no_epoch_length": (
        dict(policy="LinearAnnealing", min_lr_ratio=0.2, by_epoch=False), 3, 4, EPOCH(3),
        lambda t, e: B + (0.2 * B - B) * t / 12),
    "cosine_restart_weights_ratio": (
        dict(policy="CosineRestart", periods=[5, 7], restart_weights=[1, 0.5], min_lr_ratio=0.1, by_epoch=False),
        1, 12, ITER(12),
        lambda t, e: cos_anneal(B, 0.01, t / 5) if t < 5 else cos_anneal(B, 0.01, (t - 5) / 7, 0.5)),
    "onecycle_iter_runner": (dict(policy="OneCycle", max_lr=0.5), 1, 20, ITER(20), lambda t, e: one_cycle(t, 20)),
    "onecycle_epoch_runner_no_epoch_length": (
        dict(policy="OneCycle", max_lr=0.5), 3, 5, EPOCH(3), lambda t, e: one_cycle(t, 15)),
    "cyclic_iter_runner": (dict(policy="cyclic", target_ratio=(10, 1e-4)), 1, 20, ITER(20),
                           lambda t, e: cyclic(t, 20, 8)),
    "inv": (dict(policy="inv", gamma=0.5, power=1.0), 3, 2, EPOCH(3), lambda t, e: B * (1 + 0.5 * e) ** -1),
}


def reported_size(notes: list[str]) -> float:
    sizes = [float(m) for n in notes for m in re.findall(r"relative difference(?: up to)? ([0-9.e+-]+)", n)]
    assert len(sizes) == len(notes), notes
    return max(sizes, default=0.0)


@pytest.mark.parametrize("name", sorted(CASES), ids=str)
def test_converted_lr_within_reported_difference(name: str) -> None:
    lr_config, epochs, per_epoch, runner, closed_form = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg, notes = convert_mmcv_config(dict(runner=runner, optimizer=dict(type="SGD", lr=B), lr_config=lr_config),
                                         iters_per_epoch=per_epoch if name in NEEDS_EPOCH_LENGTH else None)
    got = mmengine_trace(cfg.get("param_scheduler", []), epochs, per_epoch)
    want = [closed_form(t, t // per_epoch) for t in range(epochs * per_epoch)]
    worst = max(abs(g - w) / abs(w) for g, w in zip(got, want))
    size = reported_size(notes)
    if size == 0:
        assert worst <= 1e-12, (worst, notes)
    else:
        assert worst <= size * (1 + 1e-6) + 1e-12, (worst, size, notes)


@pytest.mark.parametrize("name", ["poly_iter_runner_exp_warmup_min_lr", "cosine_restart_weights_ratio",
                                  "cosine_by_iter_epoch_runner_ratio_warmup",
                                  "cyclic_iter_runner", "inv"], ids=str)
def test_lossy_cases_report_a_size(name: str) -> None:
    # the size is not an empty promise: the real gap is at least half of it
    lr_config, epochs, per_epoch, runner, closed_form = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg, notes = convert_mmcv_config(dict(runner=runner, optimizer=dict(type="SGD", lr=B), lr_config=lr_config),
                                         iters_per_epoch=per_epoch)
    got = mmengine_trace(cfg.get("param_scheduler", []), epochs, per_epoch)
    want = [closed_form(t, t // per_epoch) for t in range(epochs * per_epoch)]
    worst = max(abs(g - w) / abs(w) for g, w in zip(got, want))
    assert reported_size(notes) / 2 <= worst


def test_iters_per_epoch_makes_poly_exact() -> None:
    lr_config = dict(policy="poly", power=2.0, min_lr=0.0, by_epoch=False)
    runner = EPOCH(3)
    with pytest.warns(Warning, match=r"lr_config.by_epoch: poly by iteration needs the epoch length"):
        _, notes = convert_mmcv_config(dict(runner=runner, optimizer=dict(type="SGD", lr=B), lr_config=lr_config))
    exact, none = convert_mmcv_config(dict(runner=runner, optimizer=dict(type="SGD", lr=B), lr_config=lr_config),
                                      iters_per_epoch=4)
    assert none == []
    got = mmengine_trace(exact["param_scheduler"], 3, 4)
    torch.testing.assert_close(got, [B * (1 - t / 12) ** 2 for t in range(12)], rtol=0, atol=1e-12)


def test_momentum_cosine_by_iter_is_exact() -> None:
    cfg, notes = convert_mmcv_config(dict(runner=ITER(12), momentum_config=dict(
        policy="CosineAnnealing", min_momentum_ratio=0.5, by_epoch=False)))
    assert notes == []
    got = mmengine_trace(cfg["param_scheduler"], 1, 12, key="momentum")
    torch.testing.assert_close(got, [cos_anneal(0.9, 0.45, t / 12) for t in range(12)], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(NEEDS_EPOCH_LENGTH), ids=str)
def test_unknown_epoch_length_reports_the_labelled_worst_case(name: str) -> None:
    # without --iters-per-epoch the size is the worst case (1 iteration per epoch), said so, and it bounds
    # the difference at this run's real epoch length
    lr_config, epochs, per_epoch, runner, closed_form = CASES[name]
    with pytest.warns(Warning, match=r"lr_config.warmup: warmup x CosineAnnealing .*relative difference [0-9.e-]+ .*"
                                     r"\(worst case, at 1 iteration per epoch"):
        cfg, notes = convert_mmcv_config(dict(runner=runner, optimizer=dict(type="SGD", lr=B), lr_config=lr_config))
    got = mmengine_trace(cfg["param_scheduler"], epochs, per_epoch)
    want = [closed_form(t, t // per_epoch) for t in range(epochs * per_epoch)]
    worst = max(abs(g - w) / abs(w) for g, w in zip(got, want))
    assert 0 < worst <= reported_size(notes) * (1 + 1e-6)
