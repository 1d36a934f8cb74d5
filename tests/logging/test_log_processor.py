"""LogProcessor text and tags against MMEngine's, on equal message hubs and stub runners."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

mmengine = pytest.importorskip("mmengine")

from mmhooks.errors import ConfigError  # noqa: E402
from mmhooks.logging import LogProcessor, MessageHub  # noqa: E402
from mmhooks.registry import LOG_PROCESSORS  # noqa: E402
from mmhooks.testing import FakeRunner  # noqa: E402

_ids = itertools.count()


def _fill(hub, n_train: int = 12, n_val: int = 4) -> None:
    for k in range(n_train):
        hub.update_scalar("train/lr", 0.1 * 0.9**k)
        hub.update_scalar("train/data_time", 0.001 * (k % 4 + 1))
        hub.update_scalar("train/loss", 1.0 / (k + 1))
        hub.update_scalar("train/acc", k)  # an int history prints raw
        hub.update_scalar("train/time", 0.01 + 0.001 * k)
    for k in range(n_val):
        hub.update_scalar("val/data_time", 0.002 * (k + 1))
        hub.update_scalar("val/time", 0.005 * (k + 1))
        hub.update_scalar("val/loss_cls", 0.3 + k)
    hub.update_scalar("val/top1", 0.75)
    hub.update_info("val/per_class", np.array([0.5, 1.0]))
    hub.update_info("eta", 3725.9)


def _runner(hub_cls, *, train_loop: bool = True, max_epochs: int = 3, epoch: int = 1, iteration: int = 11):
    hub = hub_cls(f"lp-{next(_ids)}")
    _fill(hub)
    loaders = {mode: list(range(n)) for mode, n in (("train", 12), ("val", 4), ("test", 4))}
    runner = FakeRunner(
        message_hub=hub, epoch=epoch, iter=iteration, max_epochs=max_epochs, max_iters=max_epochs * 12,
        train_dataloader=loaders["train"], val_dataloader=loaders["val"], test_dataloader=loaders["test"],
        model=torch.nn.Linear(1, 1),
    )
    if not train_loop:
        runner.train_loop = runner._train_loop = None
    return runner


def _both(kwargs: dict, **runner_kw):
    from mmengine.logging import MessageHub as MMHub
    from mmengine.runner import LogProcessor as MMProcessor

    return (MMProcessor(**kwargs), _runner(MMHub, **runner_kw)), (LogProcessor(**kwargs), _runner(MessageHub, **runner_kw))


CONFIGS = {
    "default": dict(),
    "by_epoch=False": dict(by_epoch=False),
    "window_size=3": dict(window_size=3),
    "num_digits=6": dict(num_digits=6),
    "hierarchy": dict(log_with_hierarchy=True),
    "mean_pattern=acc": dict(mean_pattern=r".*acc.*"),
    "custom": dict(
        custom_cfg=[
            dict(data_src="loss", log_name="loss_max", method_name="max", window_size="global"),
            dict(data_src="loss", method_name="mean", window_size=4),
            dict(data_src="acc", log_name="acc_min", method_name="min"),
            dict(data_src="time", method_name="max", window_size="epoch"),
            dict(data_src="missing", method_name="current"),
        ]
    ),
    "custom+hierarchy": dict(
        log_with_hierarchy=True,
        custom_cfg=[dict(data_src="loss", log_name="loss_max", method_name="max", window_size="global")],
    ),
}
RUNNERS = {
    "epoch1": dict(),
    "max_epochs=12": dict(max_epochs=12, epoch=10),
    "no-train-loop": dict(train_loop=False),
}


# Train lines and 'global' windows need a train loop, so those cases run with one only.
ITER_CASES = [
    (mode, cfg, runner)
    for mode, cfg, runner in itertools.product(("train", "val", "test"), CONFIGS, RUNNERS)
    if not (runner == "no-train-loop" and (mode == "train" or cfg == "custom"))
]


@pytest.mark.parametrize("mode, cfg_name, runner_name", ITER_CASES, ids=["-".join(case) for case in ITER_CASES])
def test_get_log_after_iter_matches_mmengine(mode, cfg_name, runner_name):
    (mm_proc, mm_runner), (proc, runner) = _both(CONFIGS[cfg_name], **RUNNERS[runner_name])
    for batch_idx in (0, 2, 3):
        mm_tag, mm_line = mm_proc.get_log_after_iter(mm_runner, batch_idx, mode)
        tag, line = proc.get_log_after_iter(runner, batch_idx, mode)
        assert line == mm_line
        assert list(tag.items()) == list(mm_tag.items())
        assert [type(v) for v in tag.values()] == [type(v) for v in mm_tag.values()]


@pytest.mark.parametrize("runner_name", list(RUNNERS), ids=list(RUNNERS))
@pytest.mark.parametrize("cfg_name", [c for c in CONFIGS if c != "custom"], ids=[c for c in CONFIGS if c != "custom"])
@pytest.mark.parametrize("mode", ["val", "test"], ids=["val", "test"])
@pytest.mark.parametrize("with_non_scalar", [False, True], ids=["scalars", "with_non_scalar"])
def test_get_log_after_epoch_matches_mmengine(mode, cfg_name, runner_name, with_non_scalar):
    (mm_proc, mm_runner), (proc, runner) = _both(CONFIGS[cfg_name], **RUNNERS[runner_name])
    mm_tag, mm_line = mm_proc.get_log_after_epoch(mm_runner, 4, mode, with_non_scalar=with_non_scalar)
    tag, line = proc.get_log_after_epoch(runner, 4, mode, with_non_scalar=with_non_scalar)
    assert line == mm_line
    assert list(tag) == list(mm_tag)
    for key, value in mm_tag.items():
        np.testing.assert_array_equal(tag[key], value)


def test_known_lines_closed_form():
    _, (proc, runner) = _both({})
    _, line = proc.get_log_after_iter(runner, 1, "train")
    # Means over the last 10 of 12 values (k = 2..11); lr and acc are the latest values.
    time_mean = np.mean([0.01 + 0.001 * k for k in range(2, 12)])
    data_mean = np.mean([0.001 * (k % 4 + 1) for k in range(2, 12)])
    loss_mean = np.mean([1 / (k + 1) for k in range(2, 12)])
    assert line == (
        f"Epoch(train) [2][ 2/12]  lr: {0.1 * 0.9**11:.4e}  eta: 1:02:05  time: {time_mean:.4f}  "
        f"data_time: {data_mean:.4f}  loss: {loss_mean:.4f}  acc: 11"
    )
    _, line = proc.get_log_after_epoch(runner, 4, "val")
    assert line == (
        "Epoch(val) [1][4/4]    loss_cls: 1.8000  top1: 0.7500  per_class: \n[0.5 1. ]\n  "
        "data_time: 0.0050  time: 0.0125"
    )


def test_memory_is_reported_and_reset_when_cuda_is_available(monkeypatch):
    resets = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 300 * 2**20 + 5)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: resets.append(device))
    (mm_proc, mm_runner), (proc, runner) = _both({})
    mm_tag, mm_line = mm_proc.get_log_after_iter(mm_runner, 1, "train")
    resets.clear()
    tag, line = proc.get_log_after_iter(runner, 1, "train")
    assert line == mm_line
    assert "data_time: 0.0027  memory: 300  loss:" in line
    assert tag["memory"] == mm_tag["memory"] == 300
    assert resets == [None]


def test_registered_and_buildable():
    built = LOG_PROCESSORS.build(dict(type="LogProcessor", window_size=5, by_epoch=False))
    assert isinstance(built, LogProcessor)
    assert (built.window_size, built.by_epoch) == (5, False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(custom_cfg=[dict(method_name="mean")]),
            "LogProcessor.custom_cfg[0].data_src: got None; expected the message hub key to summarise. "
            "Fix: add data_src='loss' (for example).",
        ),
        (
            dict(custom_cfg=[dict(data_src="loss", method_name="max"), dict(data_src="loss", method_name="min")]),
            "LogProcessor.custom_cfg[1].log_name: got 'loss'; expected a log_name used by no other entry. "
            "Fix: give each entry its own log_name (it defaults to data_src).",
        ),
        (
            dict(custom_cfg=[dict(data_src="loss", method_name="median")]),
            "LogProcessor.custom_cfg[0].method_name: got 'median'; expected one of "
            "['current', 'max', 'mean', 'min']. Fix: pick one, or register yours with "
            "@HistoryBuffer.register_statistics.",
        ),
        (
            dict(by_epoch=False, custom_cfg=[dict(data_src="loss", method_name="mean", window_size="epoch")]),
            "LogProcessor.custom_cfg[0].window_size: got 'epoch'; expected an int, 'global' or None when "
            "by_epoch=False. Fix: use 'global' or an int, or set by_epoch=True.",
        ),
        (
            dict(custom_cfg=[dict(data_src="loss", method_name="mean", window_size="all")]),
            "LogProcessor.custom_cfg[0].window_size: got 'all'; expected an int, 'epoch', 'global' or None. "
            "Fix: use one of those.",
        ),
    ],
    ids=["no-data_src", "duplicate-log_name", "unknown-method", "epoch-window-by-iter", "bad-window"],
)
def test_bad_custom_cfg_raises_config_error(kwargs, message):
    with pytest.raises(ConfigError) as info:
        LogProcessor(**kwargs)
    assert str(info.value) == message


def test_build_locates_custom_cfg_error_by_key_path():
    with pytest.raises(ConfigError, match=r"^log_processor\.custom_cfg\[0\]\.method_name: got 'avg'"):
        LOG_PROCESSORS.build(
            dict(type="LogProcessor", custom_cfg=[dict(data_src="loss", method_name="avg")]), path="log_processor"
        )
