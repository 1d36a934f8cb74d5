"""LoggerHook + RuntimeInfoHook + IterTimerHook + LogProcessor + LocalVisBackend, end to end, against MMEngine.

The same scripted run (MMEngine's hook call order, a fake clock, fixed losses)
drives MMEngine's classes and mmhooks' on equal stub runners; the log lines,
``scalars.json``, the per-run JSON and the test-result JSON must be identical.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

mmengine = pytest.importorskip("mmengine")

from mmhooks.errors import ConfigError, UnsupportedConfigError  # noqa: E402
from mmhooks.hooks import IterTimerHook, LoggerHook, RuntimeInfoHook  # noqa: E402
from mmhooks.logging import LogProcessor, MessageHub  # noqa: E402
from mmhooks.testing.fake_runner import FakeRunner, FakeTrainLoop  # noqa: E402
from mmhooks.visualization import Visualizer  # noqa: E402

TIMESTAMP = "20240101_000000"
_ids = itertools.count()


def _impl(name: str) -> SimpleNamespace:
    if name == "mmengine":
        from mmengine.hooks import IterTimerHook as MMTimer
        from mmengine.hooks import LoggerHook as MMLoggerHook
        from mmengine.hooks import RuntimeInfoHook as MMRuntime
        from mmengine.logging import MessageHub as MMHub
        from mmengine.runner import LogProcessor as MMProcessor
        from mmengine.visualization import Visualizer as MMVisualizer

        return SimpleNamespace(hub=MMHub, proc=MMProcessor, hooks=(MMRuntime, MMTimer, MMLoggerHook), vis=MMVisualizer)
    return SimpleNamespace(
        hub=MessageHub, proc=LogProcessor, hooks=(RuntimeInfoHook, IterTimerHook, LoggerHook), vis=Visualizer
    )


class Loader(list):
    """A dataloader stand-in: a length and a dataset with metainfo."""

    dataset = SimpleNamespace(metainfo={"classes": ("cat", "dog")})


class Lines:
    """Stands in for runner.logger: keeps the messages."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.handlers: list[Any] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)

    warning = info


@dataclass
class Scenario:
    processor: dict = field(default_factory=dict)
    logger: dict = field(default_factory=lambda: dict(interval=2))
    iter_based: bool = False
    max_epochs: int = 2
    max_iters: int = 7
    n_train: int = 5
    n_val: int = 3
    n_test: int = 3
    val_interval: int = 1
    train: bool = True
    lr_groups: int = 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run(impl_name: str, scenario: Scenario, root: Path, clock: Clock) -> SimpleNamespace:
    impl = _impl(impl_name)
    clock.now = 1000.0
    log_dir = root / impl_name / TIMESTAMP
    log_dir.mkdir(parents=True)
    train_dl, val_dl, test_dl = (Loader(range(n)) for n in (scenario.n_train, scenario.n_val, scenario.n_test))
    runner = FakeRunner(
        message_hub=impl.hub(f"hub-{next(_ids)}"),
        epoch=0,
        iter=0,
        max_epochs=1 if scenario.iter_based else scenario.max_epochs,
        max_iters=scenario.max_iters if scenario.iter_based else scenario.max_epochs * scenario.n_train,
        train_dataloader=train_dl,
        val_dataloader=val_dl,
        test_dataloader=test_dl,
        logger=Lines(),
        log_processor=impl.proc(**scenario.processor),
        visualizer=impl.vis(
            name=f"vis-{next(_ids)}", vis_backends=[dict(type="LocalVisBackend")], save_dir=str(log_dir)
        ),
        cfg=SimpleNamespace(pretty_text="model = dict(type='Toy')\n"),
        seed=42,
        experiment_name=f"toy_{TIMESTAMP}",
        timestamp=TIMESTAMP,
        work_dir=str(root / impl_name),
        log_dir=str(log_dir),
        _log_dir=str(log_dir),
        model=torch.nn.Linear(1, 1),
    )
    runner._train_loop = FakeTrainLoop(runner, train_dl) if scenario.train else None
    runner.train_loop = runner._train_loop

    def get_lr() -> dict:
        lr = 0.1 / (1 + runner.iter)
        return {"base_lr": [0.1], "lr": [lr, lr / 2]} if scenario.lr_groups > 1 else {"lr": [lr]}

    runner.optim_wrapper = SimpleNamespace(get_lr=get_lr)
    hooks = [cls(**scenario.logger) if cls.__name__ == "LoggerHook" else cls() for cls in impl.hooks]

    def call(stage: str, **kwargs: Any) -> None:
        for hook in hooks:
            getattr(hook, stage)(runner, **kwargs)

    def train_iter(batch_idx: int) -> None:
        clock.now += 0.001 * (runner.iter % 3 + 1)
        call("before_train_iter", batch_idx=batch_idx, data_batch=None)
        clock.now += 0.01 + 0.0025 * runner.iter
        k = runner.iter
        outputs = OrderedDict(
            loss=torch.tensor(3.0 / (k + 1) + 0.5), loss_a=torch.tensor(2.0 / (k + 1)), acc=np.float64(k * 0.1), n=4
        )
        call("after_train_iter", batch_idx=batch_idx, data_batch=None, outputs=outputs)
        runner.iter += 1

    def loop(mode: str, n: int, metrics: dict) -> None:
        call(f"before_{mode}")
        call(f"before_{mode}_epoch")
        for j in range(n):
            clock.now += 0.002
            call(f"before_{mode}_iter", batch_idx=j, data_batch=None)
            clock.now += 0.003 * (j + 1)
            call(f"after_{mode}_iter", batch_idx=j, data_batch=None, outputs=[])
        call(f"after_{mode}_epoch", metrics=metrics)
        call(f"after_{mode}")

    rounds = itertools.count(1)

    def validate() -> None:
        k = next(rounds)
        loop("val", scenario.n_val, {"toy/acc": 0.5 + 0.1 * k, "toy/err_loss": 1.0 / k})

    call("before_run")
    if scenario.train:
        call("before_train")
        if scenario.iter_based:
            call("before_train_epoch")
            for i in range(scenario.max_iters):
                train_iter(i)
                if runner.iter % scenario.val_interval == 0 or runner.iter == scenario.max_iters:
                    validate()
            call("after_train_epoch")
        else:
            for epoch in range(scenario.max_epochs):
                call("before_train_epoch")
                for i in range(scenario.n_train):
                    train_iter(i)
                call("after_train_epoch")
                runner.epoch += 1
                if (epoch + 1) % scenario.val_interval == 0 or epoch + 1 == scenario.max_epochs:
                    validate()
        call("after_train")
    else:
        validate()
    loop("test", scenario.n_test, {"acc": 0.9, "count": 3, "confusion": np.array([[1, 2], [3, 4]])})
    call("after_run")

    def read(path: Path) -> str:
        return path.read_text() if path.exists() else ""

    return SimpleNamespace(
        lines=runner.logger.lines,
        scalars=read(log_dir / "vis_data" / "scalars.json"),
        run_json=read(log_dir / "vis_data" / f"{TIMESTAMP}.json"),
        test_json=read(log_dir / f"{TIMESTAMP}.json"),
        hub=runner.message_hub,
    )


SCENARIOS = {
    "epoch-default": Scenario(),
    "epoch-10-epochs": Scenario(max_epochs=10, n_train=3, logger=dict(interval=1)),
    "epoch-ignore_last=False": Scenario(logger=dict(interval=3, ignore_last=False), n_train=7),
    "epoch-ignore_last-short-epoch": Scenario(logger=dict(interval=10), n_train=4),
    "epoch-two-lr-groups": Scenario(lr_groups=2),
    "epoch-custom_cfg": Scenario(
        processor=dict(
            custom_cfg=[
                dict(data_src="loss", method_name="mean", window_size="global"),
                dict(data_src="loss_a", log_name="loss_a_max", method_name="max", window_size="epoch"),
                dict(data_src="acc", log_name="acc_min", method_name="min"),
                dict(data_src="time", method_name="max", window_size=3),
            ]
        )
    ),
    "epoch-hierarchy": Scenario(processor=dict(log_with_hierarchy=True, window_size=3)),
    "epoch-num_digits=2": Scenario(processor=dict(num_digits=2)),
    "iter-based": Scenario(iter_based=True, processor=dict(by_epoch=False), val_interval=3),
    "iter-based-metric-by-iter": Scenario(
        iter_based=True, processor=dict(by_epoch=False), logger=dict(interval=2, log_metric_by_epoch=False),
        val_interval=4,
    ),
    "iter-based-epoch-headers": Scenario(iter_based=True, max_iters=12, val_interval=5),
    "iter-exp-name-interval": Scenario(iter_based=True, processor=dict(by_epoch=False), logger=dict(
        interval=1, interval_exp_name=3)),
    "val-only": Scenario(train=False),
    "val-only-by-iter": Scenario(train=False, processor=dict(by_epoch=False)),
}


@pytest.mark.parametrize("name", list(SCENARIOS), ids=list(SCENARIOS))
def test_run_output_matches_mmengine(name, tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    scenario = SCENARIOS[name]
    expected = _run("mmengine", scenario, tmp_path, clock)
    actual = _run("mmhooks", scenario, tmp_path, clock)
    assert expected.lines, "the scripted run logged nothing"
    assert actual.lines == expected.lines
    assert actual.scalars == expected.scalars
    assert actual.run_json == expected.run_json
    assert json.loads(actual.test_json) == json.loads(expected.test_json)
    assert actual.test_json == expected.test_json
    assert list(actual.hub.log_scalars) == list(expected.hub.log_scalars)
    for key, buffer in expected.hub.log_scalars.items():
        np.testing.assert_array_equal(actual.hub.log_scalars[key].data[0], buffer.data[0], err_msg=key)


def test_default_run_text_is_mmengine_format(tmp_path, monkeypatch):
    """Closed-form anchors, so the differential test cannot pass with both sides empty or garbled."""
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    out = _run("mmhooks", Scenario(), tmp_path, clock)
    first = out.lines[0]
    assert first.startswith("Epoch(train) [1][2/5]  lr: 5.0000e-02  eta: 0:00:00  time: ")
    assert first.endswith("  n: 4")
    assert "Exp name: toy_20240101_000000" in out.lines
    val_line = next(line for line in out.lines if line.startswith("Epoch(val) [1][3/3]  "))
    assert val_line.startswith("Epoch(val) [1][3/3]    toy/acc: 0.6000  toy/err_loss: 1.0000  data_time: ")
    records = [json.loads(line) for line in out.scalars.splitlines()]
    assert [r["step"] for r in records if "lr" in r] == [2, 4, 7, 9]
    assert list(records[0])[-3:] == ["epoch", "iter", "step"]
    assert json.loads(out.test_json)["confusion"] == [[1, 2], [3, 4]]


# --------------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(interval=0), "LoggerHook.interval: got 0; expected an int > 0. Fix: set interval=10 (for example)."),
        (dict(ignore_last="no"), "LoggerHook.ignore_last: got 'no'; expected True or False. Fix: use a bool."),
        (dict(interval_exp_name=1.5), "LoggerHook.interval_exp_name: got 1.5; expected an int > 0."),
        (dict(file_client_args={}), "LoggerHook.file_client_args: got {}; expected None when out_dir is not set."),
        (dict(out_suffix=[1]), "LoggerHook.out_suffix: got [1]; expected a str or a sequence of str."),
    ],
    ids=["interval", "ignore_last", "interval_exp_name", "file_client_args", "out_suffix"],
)
def test_bad_arguments_raise_config_error(kwargs, message):
    with pytest.raises(ConfigError) as info:
        LoggerHook(**kwargs)
    assert str(info.value).startswith(message)


def test_remote_out_dir_is_unsupported():
    with pytest.raises(UnsupportedConfigError, match=r"^LoggerHook.out_dir: got 's3://bucket/logs'"):
        LoggerHook(out_dir="s3://bucket/logs")


def test_out_dir_copies_logs_and_keep_local_false_removes_them(tmp_path):
    log_dir = tmp_path / "work" / TIMESTAMP
    (log_dir / "vis_data").mkdir(parents=True)
    (log_dir / f"{TIMESTAMP}.log").write_text("log text")
    (log_dir / "vis_data" / "scalars.json").write_text("{}\n")
    (log_dir / "vis_data" / "image.png").write_text("not copied")
    closed = []
    runner = FakeRunner(
        work_dir=str(tmp_path / "work") + "/", timestamp=TIMESTAMP, _log_dir=str(log_dir), logger=Lines(),
        visualizer=SimpleNamespace(close=lambda: closed.append(True)),
    )
    hook = LoggerHook(out_dir=str(tmp_path / "out"), keep_local=False)
    hook.before_run(runner)
    hook.after_run(runner)
    out = tmp_path / "out" / "work"
    assert (out / f"{TIMESTAMP}.log").read_text() == "log text"
    assert (out / "vis_data" / "scalars.json").read_text() == "{}\n"
    assert not (out / "vis_data" / "image.png").exists()
    assert not (log_dir / f"{TIMESTAMP}.log").exists()
    assert (log_dir / "vis_data" / "image.png").exists()
    assert closed == [True]
    assert runner.logger.lines[0] == f"Text logs will be saved to {out} after the training process."
