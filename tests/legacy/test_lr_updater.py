"""MMCV LR policies against the spec's closed forms (mmcv_legacy §2.1), every iteration."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import trace

from mmhooks.errors import ConfigError
from mmhooks.legacy.lr_updater import LegacyLrUpdaterHook, build_lr_updater

B = 0.1
E, L = 3, 4  # 12 iterations
N = E * L


def cos_anneal(start: float, end: float, f: float, w: float = 1.0) -> float:
    return end + 0.5 * w * (start - end) * (1 + math.cos(math.pi * f))


def lin_warm(t: int, w: int, r: float) -> float:
    return 1 - (1 - t / w) * (1 - r) if t < w else 1.0


def cyclic(t: int, n: int, times: int, up_ratio: float, r0: float, r1: float, gamma: float) -> float:
    c = n // times
    up = int(up_ratio * c)
    tt, s = t % c, gamma ** (t // c)
    peak = B * (1 - s + r0 * s)
    if tt < up:
        return cos_anneal(B, peak, tt / up)
    return cos_anneal(peak, B * r1, (tt - up) / (c - up))


def one_cycle(t: int, total: int, pct: float, div: float, final: float, three: bool) -> float:
    base = 0.5 / div
    if three:
        phases = [(pct * total - 1, 1, div), (2 * pct * total - 2, div, 1), (total - 1, 1, 1 / final)]
    else:
        phases = [(pct * total - 1, 1, div), (total - 1, div, 1 / final)]
    start = 0.0
    for end, a, b in phases:
        if t <= end:
            return cos_anneal(base * a, base * b, (t - start) / (end - start))
        start = end
    raise AssertionError


CASES = {
    "fixed+linear_warmup": (dict(policy="fixed", warmup="linear", warmup_iters=5, warmup_ratio=0.2, by_epoch=False),
                            lambda t, e: B * lin_warm(t, 5, 0.2)),
    "step_list_by_epoch_min_lr": (dict(policy="step", step=[1, 2], gamma=0.1, min_lr=0.005),
                                  lambda t, e: max(B * 0.1 ** sum(s <= e for s in [1, 2]), 0.005)),
    "step_int_by_iter": (dict(policy="step", step=5, gamma=0.5, by_epoch=False), lambda t, e: B * 0.5 ** (t // 5)),
    "exp_by_epoch": (dict(policy="exp", gamma=0.5), lambda t, e: B * 0.5**e),
    "poly_by_iter": (dict(policy="poly", power=2.0, min_lr=1e-3, by_epoch=False),
                     lambda t, e: (B - 1e-3) * (1 - t / N) ** 2 + 1e-3),
    "inv_by_iter": (dict(policy="inv", gamma=0.3, power=0.75, by_epoch=False),
                    lambda t, e: B * (1 + 0.3 * t) ** -0.75),
    "cosine_by_epoch_exp_warmup": (
        dict(policy="CosineAnnealing", min_lr_ratio=0.1, warmup="exp", warmup_iters=6, warmup_ratio=0.01),
        lambda t, e: cos_anneal(B, 0.1 * B, e / E) * (0.01 ** (1 - t / 6) if t < 6 else 1.0),
    ),
    "flat_cosine_by_iter": (dict(policy="FlatCosineAnnealing", start_percent=0.5, min_lr=1e-3, by_epoch=False),
                            lambda t, e: B if t < 6 else cos_anneal(B, 1e-3, (t - 6) / 6)),
    "cosine_restart_by_iter": (
        dict(policy="CosineRestart", periods=[5, 7], restart_weights=[1, 0.5], min_lr=1e-3, by_epoch=False),
        lambda t, e: cos_anneal(B, 1e-3, t / 5) if t < 5 else cos_anneal(B, 1e-3, (t - 5) / 7, 0.5),
    ),
    "cyclic_two_cycles_gamma": (
        dict(policy="cyclic", target_ratio=(10, 1e-4), cyclic_times=2, step_ratio_up=0.4, gamma=0.5),
        lambda t, e: cyclic(t, N, 2, 0.4, 10, 1e-4, 0.5),
    ),
    "cyclic_linear_float_ratio": (
        dict(policy="Cyclic", target_ratio=5.0, anneal_strategy="linear"),
        lambda t, e: (lambda up: B + (5 * B - B) * t / up if t < up else
                      5 * B + (5e-5 * B - 5 * B) * (t - up) / (N - up))(int(0.4 * N)),
    ),
    "onecycle": (dict(policy="OneCycle", max_lr=0.5), lambda t, e: one_cycle(t, N, 0.3, 25, 1e4, False)),
    "onecycle_three_phase_total": (dict(policy="OneCycle", max_lr=0.5, total_steps=20, three_phase=True),
                                   lambda t, e: one_cycle(t, 20, 0.3, 25, 1e4, True)),
    "linear_by_epoch_constant_warmup_across_epochs": (
        dict(policy="LinearAnnealing", min_lr_ratio=0.1, warmup="constant", warmup_iters=6, warmup_ratio=0.5),
        lambda t, e: (B + (0.1 * B - B) * e / E) * (0.5 if t < 6 else 1.0),
    ),
    "warmup_by_epoch": (dict(policy="fixed", warmup="linear", warmup_iters=1, warmup_ratio=0.1, warmup_by_epoch=True),
                        lambda t, e: B * lin_warm(t, L, 0.1)),
}


@pytest.mark.parametrize("name", sorted(CASES), ids=str)
def test_lr_matches_closed_form(name: str) -> None:
    cfg, expected = CASES[name]
    got = trace(build_lr_updater(cfg), E, L, lr=B)
    want = [expected(t, t // L) for t in range(N)]
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_warmup_without_by_epoch_warmup_uses_epoch_start_value() -> None:
    # by_epoch=True: after warmup ends (t > W) nothing is written inside the epoch.
    got = trace(build_lr_updater(dict(policy="exp", gamma=0.5, warmup="linear", warmup_iters=2, warmup_ratio=0.5)),
                E, L, lr=B)
    assert got == pytest.approx([B * 0.5, B * 0.75, B, B, B / 2, B / 2, B / 2, B / 2, B / 4, B / 4, B / 4, B / 4])


def test_base_lr_comes_from_stored_initial_lr() -> None:
    # On resume the optimizer state carries initial_lr; it wins over the current lr (setdefault).
    from helpers import make_optimizer, stub_runner

    optimizer = make_optimizer(lr=0.001)
    optimizer.param_groups[0]["initial_lr"] = B
    runner = stub_runner(optimizer, 2, 2)
    hook = build_lr_updater(dict(policy="step", step=[1]))
    hook.before_run(runner)
    runner.epoch, runner.iter = 1, 2
    hook.before_train_epoch(runner)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(B * 0.1, abs=1e-15)


def test_legacy_hook_registered_factory() -> None:
    from mmhooks.registry import HOOKS

    hook = HOOKS.build(dict(type="LegacyLrUpdaterHook", policy="poly", power=1.0, by_epoch=False))
    assert type(hook).__name__ == "PolyLrUpdaterHook"
    assert hook.priority == "VERY_HIGH"
    assert type(LegacyLrUpdaterHook("fixed")).__name__ == "FixedLrUpdaterHook"


def test_unknown_policy_names_key_and_fix() -> None:
    with pytest.raises(ConfigError) as info:
        build_lr_updater(dict(policy="cosineannealing", min_lr=0))
    assert str(info.value) == (
        "lr_config.policy: got 'cosineannealing'; expected one of ['CosineAnnealing', 'CosineRestart', "
        "'Cyclic', 'Exp', 'Fixed', 'FlatCosineAnnealing', 'Inv', 'LinearAnnealing', 'OneCycle', 'Poly', 'Step']. "
        "Fix: did you mean 'CosineAnnealing'? (camel-case names must be written as such)"
    )


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        (dict(policy="CosineAnnealing"), "lr_config.min_lr"),
        (dict(policy="fixed", warmup="cosine", warmup_iters=3), "lr_config.warmup"),
        (dict(policy="fixed", warmup="linear", warmup_iters=3, warmup_ratio=0), "lr_config.warmup_ratio"),
        (dict(policy="Cyclic", by_epoch=True), "lr_config.by_epoch"),
        (dict(policy="step", step=[0, 3]), "lr_config.step"),
    ],
    ids=["no_target", "bad_warmup", "bad_ratio", "cyclic_by_epoch", "bad_step"],
)
def test_bad_arguments_are_located(cfg: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        build_lr_updater(cfg)


def test_onecycle_total_steps_below_max_iters() -> None:
    with pytest.raises(ConfigError, match="total_steps"):
        trace(build_lr_updater(dict(policy="OneCycle", max_lr=0.5, total_steps=5)), E, L)


def test_cosine_restart_past_the_periods() -> None:
    with pytest.raises(ValueError, match="past the last period"):
        trace(build_lr_updater(dict(policy="CosineRestart", periods=[5], min_lr=0, by_epoch=False)), E, L)
