"""simulate_schedule and plot_schedule: a dry run of a param_scheduler config."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
import torch

from mmhooks.errors import ConfigError
from mmhooks.optim.scheduler.plot import plot_schedule, simulate_schedule

E1 = [dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=5),
      dict(type="CosineAnnealingLR", by_epoch=True, begin=5, eta_min=1e-3)]


def test_simulation_reproduces_recorded_warmup_gap_and_cosine() -> None:
    # Spec §7 E1: L=4, 8 epochs; the cosine's window [5, 8) has T = 3.
    trace = simulate_schedule(E1, base_lr=0.1, momentum=0.9, epoch_length=4, max_epochs=8)
    cosine = [1e-3 + (0.1 - 1e-3) * (1 + math.cos(math.pi * t / 3)) / 2 for t in (1, 2)]
    expected = [0.01, 0.0325, 0.055, 0.0775] + [0.1] * 20 + [cosine[0]] * 4 + [cosine[1]] * 4
    torch.testing.assert_close(trace["lr"], expected, rtol=0, atol=1e-12)
    assert trace["momentum"] == [0.9] * 32
    assert trace["epoch_starts"] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert (trace["max_iters"], trace["by_epoch"]) == (32, True)


def test_iteration_based_run_ignores_epoch_schedulers() -> None:
    # Spec §7 E13: an epoch MultiStepLR in an iteration-based loop never changes the lr.
    trace = simulate_schedule([dict(type="MultiStepLR", milestones=[1]),
                               dict(type="PolyLR", power=1.0, eta_min=0.0, by_epoch=False)],
                              base_lr=0.1, epoch_length=5, max_iters=6)
    torch.testing.assert_close(trace["lr"], [0.1 * (1 - t / 5) for t in range(6)], rtol=0, atol=1e-12)
    assert trace["momentum"] is None
    assert trace["by_epoch"] is False


def test_simulation_needs_a_run_length() -> None:
    with pytest.raises(ConfigError, match=r"^train_cfg: got None; expected max_epochs or max_iters"):
        simulate_schedule(E1, base_lr=0.1, epoch_length=4)


def config(**overrides: Any) -> dict[str, Any]:
    base = dict(param_scheduler=E1, optim_wrapper=dict(optimizer=dict(type="Adam", lr=0.1, betas=(0.9, 0.999))),
                train_cfg=dict(by_epoch=True, max_epochs=8), train_dataloader=dict(num_batches=4))
    return {**base, **overrides}


def test_table_lists_every_epoch_start_and_the_last_iteration() -> None:
    table = plot_schedule(config()).splitlines()
    assert table[0].split() == ["iter", "epoch", "lr", "momentum"]
    assert [line.split()[0] for line in table[1:]] == ["0", "4", "8", "12", "16", "20", "24", "28", "31"]
    assert table[1].split() == ["0", "0", "0.01", "0.9"]


def test_epoch_length_comes_from_a_sized_dataset() -> None:
    loader = dict(batch_size=3, dataset=list(range(10)))  # ceil(10 / 3) = 4 batches
    assert plot_schedule(config(train_dataloader=loader)) == plot_schedule(config())
    loader_drop = dict(batch_size=3, dataset=list(range(10)), drop_last=True)  # 3 batches
    assert plot_schedule(config(train_dataloader=loader_drop)) == plot_schedule(config(), epoch_length=3)


def test_unknown_epoch_length_asks_for_it() -> None:
    with pytest.raises(ConfigError, match=r"^train_dataloader: got \{'dataset': \{'type': 'X'\}\}; expected a "
                                          r"DataLoader, num_batches or a dataset with a length\. Fix: pass"):
        plot_schedule(config(train_dataloader=dict(dataset=dict(type="X"))))


def test_plot_writes_a_png(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "lr.png"
    assert plot_schedule(config(), str(out)) == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_returns_the_table(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "lr.png"
    assert plot_schedule(config(), str(out)) == plot_schedule(config())
    assert not out.exists()
