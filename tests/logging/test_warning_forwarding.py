"""mmhooks' own warnings reach the current MMLogger (the run's log file), as MMEngine's print_log('current') lines do."""

from __future__ import annotations

import itertools
import logging
import os
import re
import uuid
from collections import OrderedDict

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.logging import MMLogger

_ids = itertools.count()
FILE_DATE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} - ", re.M)


def _text(logger) -> str:
    for handler in logger.handlers:
        handler.flush()
    return FILE_DATE.sub("DATE - ", open(logger.log_file).read())


def test_module_warnings_are_written_like_mmengine_print_log(tmp_path):
    mm_logging = pytest.importorskip("mmengine.logging")
    ours = MMLogger.get_instance(f"fwd-ours-{next(_ids)}", log_file=str(tmp_path / "ours.log"))
    theirs = mm_logging.MMLogger.get_instance(f"fwd-theirs-{next(_ids)}", log_file=str(tmp_path / "theirs.log"))
    module_log = logging.getLogger("mmhooks.evaluator.metric")
    for name in ("Accuracy", "MSE", "Accuracy"):  # the repeated warning is written once, as in MMEngine
        module_log.warning("%s: no prefix set", name)
        mm_logging.print_log(f"{name}: no prefix set", logger="current", level=logging.WARNING)
    module_log.info("below the mmhooks logger's level: not forwarded")
    assert _text(ours) == _text(theirs) == (
        "DATE - mmengine - WARNING - Accuracy: no prefix set\nDATE - mmengine - WARNING - MSE: no prefix set\n"
    )


def test_forwarded_records_still_reach_python_logging(tmp_path, caplog):
    logger = MMLogger.get_instance(f"fwd-root-{next(_ids)}", log_file=str(tmp_path / "run.log"))
    with caplog.at_level(logging.WARNING):
        logging.getLogger("mmhooks.hooks.logger_hook").warning("LoggerHook.file_client_args is deprecated")
    assert [r.getMessage() for r in caplog.records] == ["LoggerHook.file_client_args is deprecated"]
    assert "mmengine - WARNING - LoggerHook.file_client_args is deprecated" in _text(logger)


def test_without_any_mmlogger_warnings_go_to_stderr_as_before(monkeypatch, capsys):
    MMLogger.get_instance(f"fwd-install-{next(_ids)}")  # installs the forwarding handler
    monkeypatch.setattr(MMLogger, "_instance_dict", OrderedDict())  # as in a process that never built one
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    logging.getLogger("mmhooks.optim.scheduler.plot").warning("matplotlib is not installed")
    captured = capsys.readouterr()
    assert captured.err == "matplotlib is not installed\n"
    assert captured.out == ""
    assert not MMLogger._instance_dict  # nothing was created on the way


def test_only_one_forwarding_handler_however_many_loggers():
    for _ in range(3):
        MMLogger.get_instance(f"fwd-count-{next(_ids)}")
    handlers = logging.getLogger("mmhooks").handlers
    assert [type(h).__name__ for h in handlers].count("ForwardToCurrentLogger") == 1


# ----------------------------------------------------------------------------- a real run's log file
def _toy(base_model):
    class Toy(base_model):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 2)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            if mode == "loss":
                return {"loss": F.mse_loss(out, targets)}
            if mode == "predict":
                return [dict(err=float(F.mse_loss(o, t))) for o, t in zip(out, targets)]
            return out

    torch.manual_seed(0)
    return Toy()


def _metric_class(base_metric):
    class NoPrefixMSE(base_metric):
        def process(self, data_batch, data_samples):
            self.results.extend(s["err"] for s in data_samples)

        def compute_metrics(self, results):
            return {"mse": sum(results) / len(results)}

    return NoPrefixMSE


def _loaders():
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    y = x[:, :2].clone()
    return DataLoader(TensorDataset(x, y), batch_size=4), DataLoader(TensorDataset(x, y), batch_size=4)


def _run(runner_cls, base_model, metrics_registry, base_metric, work_dir, **extra):
    name = f"NoPrefixMSE_{uuid.uuid4().hex[:8]}"
    metrics_registry.register_module(name=name, module=_metric_class(base_metric))
    train_dl, val_dl = _loaders()
    runner = runner_cls(
        model=_toy(base_model), work_dir=str(work_dir), train_dataloader=train_dl, val_dataloader=val_dl,
        val_evaluator=dict(type=name), val_cfg=dict(), train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        custom_hooks=[dict(type="EMAHook", momentum=0.9)],  # a momentum both libraries warn about
        experiment_name=f"fwd_{uuid.uuid4().hex}", **extra,
    )
    runner.train()
    log_dir = os.path.join(str(work_dir), runner.timestamp)
    (log_file,) = [f for f in os.listdir(log_dir) if f.endswith(".log")]
    return [line.split(" - WARNING - ", 1)[1] for line in open(os.path.join(log_dir, log_file)).read().splitlines()
            if " - WARNING - " in line]


@pytest.mark.slow
def test_run_log_file_holds_the_warnings_mmengine_logs(tmp_path):
    mmengine = pytest.importorskip("mmengine")  # noqa: F841
    from mmengine.evaluator import BaseMetric as MMBaseMetric
    from mmengine.model import BaseModel as MMBaseModel
    from mmengine.registry import METRICS as MM_METRICS
    from mmengine.runner import Runner as MMRunner

    from mmhooks.evaluator import BaseMetric
    from mmhooks.model import BaseModel
    from mmhooks.registry import METRICS
    from mmhooks.runner import Runner

    theirs = _run(MMRunner, MMBaseModel, MM_METRICS, MMBaseMetric, tmp_path / "mm")
    ours = _run(Runner, BaseModel, METRICS, BaseMetric, tmp_path / "ours", trainer=dict(enable_progress_bar=False))
    for warnings_in_log in (theirs, ours):
        assert any("NoPrefixMSE" in line and "prefix" in line for line in warnings_in_log), warnings_in_log
        assert any("momentum" in line and "0.9" in line for line in warnings_in_log), warnings_in_log
