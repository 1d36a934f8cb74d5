"""MMCV momentum policies against the spec's closed forms (mmcv_legacy §2.2), every iteration."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import trace

from mmhooks.errors import ConfigError
from mmhooks.legacy.momentum_updater import build_momentum_updater

M = 0.9
E, L = 3, 4
N = E * L


def cos_anneal(start: float, end: float, f: float) -> float:
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * f))


def one_cycle_mom(t: int, low: float, high: float, pct: float) -> float:
    first = pct * N - 1
    if t <= first:
        return cos_anneal(high, low, t / first)
    return cos_anneal(low, high, (t - first) / (N - 1 - first))


CASES = {
    "step_by_epoch_min": (dict(policy="step", step=[1, 2], gamma=0.5, min_momentum=0.3),
                          lambda t, e: max(M * 0.5 ** sum(s <= e for s in [1, 2]), 0.3)),
    "cosine_by_iter_ratio": (dict(policy="CosineAnnealing", min_momentum_ratio=0.5, by_epoch=False),
                             lambda t, e: cos_anneal(M, 0.5 * M, t / N)),
    "linear_by_epoch_abs": (dict(policy="LinearAnnealing", min_momentum=0.5),
                            lambda t, e: M + (0.5 - M) * e / E),
    "cyclic": (dict(policy="Cyclic", target_ratio=(0.85 / 0.95, 1), step_ratio_up=0.4),
               lambda t, e: cos_anneal(M, M * 0.85 / 0.95, t / 4) if t < 4 else
               cos_anneal(M * 0.85 / 0.95, M, (t - 4) / 8)),
    "onecycle": (dict(policy="OneCycle", base_momentum=0.85, max_momentum=0.95),
                 lambda t, e: one_cycle_mom(t, 0.85, 0.95, 0.3)),
    "linear_warmup_divides": (
        dict(policy="CosineAnnealing", min_momentum=0.5, by_epoch=False, warmup="linear", warmup_iters=5,
             warmup_ratio=0.9),
        lambda t, e: cos_anneal(M, 0.5, t / N) / ((1 - (1 - t / 5) * 0.1) if t < 5 else 1.0),
    ),
    "exp_warmup_by_epoch_policy": (
        dict(policy="step", step=1, gamma=0.5, warmup="exp", warmup_iters=6, warmup_ratio=0.8),
        lambda t, e: M * 0.5**e / (0.8 ** (1 - t / 6) if t < 6 else 1.0),
    ),
    "constant_warmup": (dict(policy="step", step=[2], by_epoch=False, warmup="constant", warmup_iters=3,
                             warmup_ratio=0.95),
                        lambda t, e: M * 0.5 ** (t >= 2) / (0.95 if t < 3 else 1.0)),
}


@pytest.mark.parametrize("adam", [False, True], ids=["sgd_momentum", "adam_beta1"])
@pytest.mark.parametrize("name", sorted(CASES), ids=str)
def test_momentum_matches_closed_form(name: str, adam: bool) -> None:
    cfg, expected = CASES[name]
    got = trace(build_momentum_updater(cfg), E, L, key="betas" if adam else "momentum", momentum=M, adam=adam)
    torch.testing.assert_close(got, [expected(t, t // L) for t in range(N)], rtol=0, atol=1e-12)


def test_unknown_momentum_policy() -> None:
    with pytest.raises(ConfigError, match=r"^momentum_config.policy: got 'poly'"):
        build_momentum_updater(dict(policy="poly"))
