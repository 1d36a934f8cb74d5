"""A plain LightningModule in the user's own Trainer, with HookCallback and Lightning's own callbacks and loggers.

README's snippet: ``HookCallback([dict(type="LoggerHook", interval=5)])`` next to
``ModelCheckpoint``, ``EarlyStopping``, ``LearningRateMonitor``, a
``TensorBoardLogger`` and a progress bar. The log lines hold the returned loss,
every ``self.log`` value, the lr and momentum of each param group, time, data
time and eta; ``scalars.json`` and TensorBoard hold the same with MMEngine's tags
and steps, in the logger's own folder; Lightning's tags are left alone.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import HookCallback

pytest.importorskip("tensorboard")
tbparse = pytest.importorskip("tbparse")


def data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True))


class Plain(pl.LightningModule):
    """What a Lightning user writes: its own steps, self.log, and an optimizer with two param groups."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(4, 1)
        self.train_losses: list[float] = []
        self.train_maes: list[float] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        out = self.layer(x)
        loss = F.mse_loss(out, y)
        mae = (out - y).abs().mean()
        self.log("train_mae", mae)
        self.train_losses.append(float(loss))
        self.train_maes.append(float(mae))
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        out = self.layer(x)
        self.log("val_loss", F.mse_loss(out, y))
        self.log("val_mae", (out - y).abs().mean())

    def configure_optimizers(self):
        return torch.optim.SGD([dict(params=[self.layer.weight]), dict(params=[self.layer.bias], lr=0.01)],
                               lr=0.05, momentum=0.9)


def lines_of(log_dir: str) -> list[str]:
    with open(os.path.join(log_dir, f"{os.path.basename(log_dir)}.log")) as handle:
        return [line.split(" - mmengine - INFO - ", 1)[1].rstrip() for line in handle if " - mmengine - INFO - " in line]


def json_scalars(log_dir: str) -> dict[str, list[tuple[int, float]]]:
    found: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with open(os.path.join(log_dir, "vis_data", "scalars.json")) as handle:
        for line in handle:
            record = json.loads(line)
            step = record.pop("step")
            for tag, value in record.items():
                found[tag].append((step, value))
    return dict(found)


def tensorboard_runs(root: str) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Run folder (relative to ``root``) -> tag -> [(step, value)], read with tbparse as TensorBoard shows them."""
    frame = tbparse.SummaryReader(root, extra_columns={"dir_name"}).scalars
    runs: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for row in frame.itertuples():
        runs[row.dir_name][row.tag].append((int(row.step), float(row.value)))
    return {run: dict(tags) for run, tags in runs.items()}


def files_under(path) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, names in os.walk(path) for f in names)


def test_logger_hook_alone_with_lightnings_callbacks_and_tensorboard(tmp_path, monkeypatch):
    root, cwd = tmp_path / "root", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    callback = HookCallback([dict(type="LoggerHook", interval=5)])
    tb_logger = TensorBoardLogger(save_dir=str(root))
    trainer = pl.Trainer(
        max_epochs=2, default_root_dir=str(root), logger=tb_logger, accelerator="cpu", log_every_n_steps=1,
        enable_model_summary=False,
        callbacks=[callback, ModelCheckpoint(monitor="val_loss"), EarlyStopping("val_loss", patience=3),
                   LearningRateMonitor(logging_interval="step", log_momentum=True), TQDMProgressBar(refresh_rate=5)],
    )
    model = Plain()
    trainer.fit(model, DataLoader(data(), batch_size=4), DataLoader(data(16, seed=1), batch_size=8))

    # one run, one tree: mmhooks' files inside the logger's version folder, nothing in the current directory
    runner = callback.runner
    assert runner.work_dir == tb_logger.log_dir and os.path.dirname(runner.log_dir) == tb_logger.log_dir
    assert files_under(cwd) == []
    assert all(path.startswith(str(root) + os.sep) for path in files_under(tmp_path))
    assert os.path.isdir(os.path.join(tb_logger.log_dir, "checkpoints"))  # ModelCheckpoint's, same tree

    # complete log lines: loss, every self.log value, lr and momentum of each param group, time, data_time, eta
    lines = lines_of(runner.log_dir)
    train = [line for line in lines if line.startswith("Epoch(train)")]
    assert [line.split("]  ")[0] + "]" for line in train] == ["Epoch(train) [1][ 5/10]", "Epoch(train) [1][10/10]",
                                                                "Epoch(train) [2][ 5/10]", "Epoch(train) [2][10/10]"]
    for line in train:
        # base_lr: MMEngine's OptimWrapper reports the defaults' lr when there are several groups
        assert re.search(r"base_lr: 5\.0000e-02 lr: 5\.0000e-02 pg1_lr: 1\.0000e-02  eta: \d:\d\d:\d\d  time: [\d.]+  data_time: [\d.]+  "
                         r"momentum: 0\.9000  pg1_momentum: 0\.9000  loss: [\d.]+  train_mae: [\d.]+$", line), line
    val = [line for line in lines if line.startswith("Epoch(val)") and "val_loss" in line]
    assert len(val) == 2
    for line in val:
        assert re.search(r"val_loss: [\d.]+  val_mae: [\d.]+  data_time: [\d.]+  time: [\d.]+$", line), line

    # scalars.json: MMEngine's tags and steps, the values the lines averaged
    from_json = json_scalars(runner.log_dir)
    assert [s for s, _ in from_json["loss"]] == [5, 10, 15, 20]
    assert from_json["loss"][0][1] == pytest.approx(sum(model.train_losses[:5]) / 5, rel=1e-6)
    # MMEngine's LogProcessor: losses averaged over the window, other scalars at their current value
    assert from_json["train_mae"][0][1] == pytest.approx(model.train_maes[4], rel=1e-6)
    assert from_json["pg1_lr"] == [(5, 0.01), (10, 0.01), (15, 0.01), (20, 0.01)]
    assert [s for s, _ in from_json["val_loss"]] == [1, 2] == [s for s, _ in from_json["val_mae"]]
    assert [v for _, v in from_json["epoch"]] == [1, 1, 2, 2]

    # TensorBoard: two runs under the logger's folder, each tag written by one writer
    runs = tensorboard_runs(tb_logger.log_dir)
    mmhooks_run = os.path.relpath(os.path.join(runner.log_dir, "vis_data"), tb_logger.log_dir)
    assert set(runs) == {"", mmhooks_run}
    ours, lightnings = runs[mmhooks_run], runs[""]
    assert sorted(ours) == sorted(from_json)
    for tag, points in from_json.items():  # (validation rows sit at step = epoch among the iteration rows)
        assert [s for s, _ in sorted(ours[tag])] == [s for s, _ in sorted(points)], tag
        assert [v for _, v in sorted(ours[tag])] == pytest.approx([v for _, v in sorted(points)], rel=1e-5), tag
    assert {"epoch", "train_mae", "val_loss", "val_mae", "lr-SGD/pg1", "lr-SGD/pg2"} <= set(lightnings)
    assert not {"loss", "time", "data_time", "iter", "pg1_lr"} & set(lightnings)  # nothing of mmhooks' in there
    for tag, points in lightnings.items():
        steps = [s for s, _ in points]
        assert steps == sorted(steps), tag  # one writer per tag: monotonic steps
    epochs = [v for _, v in sorted(lightnings["epoch"])]
    assert epochs == sorted(epochs) and epochs[0] == 0  # Lightning's 0-based epoch, no sawtooth
    # Lightning's own value of a validation metric is the one MMEngine's lines and scalars show (names matching
    # LogProcessor's mean_pattern, such as val_loss, are averaged over its window, as MMEngine does)
    assert [v for _, v in lightnings["val_mae"]] == pytest.approx([v for _, v in from_json["val_mae"]], rel=1e-6)
    assert from_json["val_loss"][0][1] == pytest.approx(lightnings["val_loss"][0][1], rel=1e-6)
    assert from_json["val_loss"][1][1] == pytest.approx((lightnings["val_loss"][0][1] + lightnings["val_loss"][1][1]) / 2,
                                                        rel=1e-6)


def test_csv_logger_gets_the_run_folder_and_keeps_its_columns(tmp_path, make_trainer):
    csv_logger = CSVLogger(save_dir=str(tmp_path / "logs"))
    callback = HookCallback([dict(type="LoggerHook", interval=5)])
    trainer = make_trainer(max_epochs=2, logger=csv_logger, callbacks=[callback], log_every_n_steps=1)
    trainer.fit(Plain(), DataLoader(data(), batch_size=4), DataLoader(data(16, seed=1), batch_size=8))
    assert os.path.dirname(callback.runner.log_dir) == csv_logger.log_dir
    with open(os.path.join(csv_logger.log_dir, "metrics.csv")) as handle:
        header = handle.readline().strip().split(",")
        rows = [dict(zip(header, line.strip().split(","))) for line in handle]
    assert set(header) == {"epoch", "step", "train_mae", "val_loss", "val_mae"}  # Lightning's own columns only
    epochs = [int(row["epoch"]) for row in rows]
    assert epochs == sorted(epochs) and set(epochs) == {0, 1}
    assert [s for s, _ in json_scalars(callback.runner.log_dir)["train_mae"]] == [5, 10, 15, 20]


def test_without_a_logger_the_run_goes_under_default_root_dir(tmp_path, make_trainer):
    callback = HookCallback([dict(type="LoggerHook", interval=5)])
    make_trainer(max_epochs=1, callbacks=[callback]).fit(Plain(), DataLoader(data(), batch_size=4))
    assert callback.runner.work_dir == str(tmp_path)  # make_trainer's default_root_dir
    assert os.path.isfile(os.path.join(callback.runner.log_dir, "vis_data", "scalars.json"))


def test_an_explicit_work_dir_wins_over_the_loggers_folder(tmp_path, make_trainer):
    callback = HookCallback([dict(type="LoggerHook", interval=5)], work_dir=str(tmp_path / "mine"))
    make_trainer(max_epochs=1, callbacks=[callback], logger=CSVLogger(str(tmp_path / "logs"))).fit(
        Plain(), DataLoader(data(), batch_size=4))
    assert callback.runner.work_dir == str(tmp_path / "mine")
    assert os.path.isfile(os.path.join(callback.runner.log_dir, "vis_data", "scalars.json"))


def test_complete_logs_false_runs_exactly_the_given_hooks(tmp_path, make_trainer):
    callback = HookCallback([dict(type="LoggerHook", interval=5)], complete_logs=False)
    assert [type(hook).__name__ for hook in callback.hooks] == ["LoggerHook"]
    make_trainer(max_epochs=1, callbacks=[callback]).fit(Plain(), DataLoader(data(), batch_size=4))
    train = [line for line in lines_of(callback.runner.log_dir) if line.startswith("Epoch(train)")]
    assert train and all("loss" not in line and "lr" not in line for line in train)  # MMEngine's empty lines


def test_a_users_runtime_hooks_are_kept_and_not_doubled():
    callback = HookCallback([dict(type="IterTimerHook"), dict(type="RuntimeInfoHook"), dict(type="LoggerHook")])
    assert [type(hook).__name__ for hook in callback.hooks] == [
        "RuntimeInfoHook", "LoggedMetricsHook", "IterTimerHook", "LoggerHook"]
    assert [type(hook).__name__ for hook in HookCallback([dict(type="EMAHook")]).hooks] == ["EMAHook"]


class ReturnsPredictions(Plain):
    def training_step(self, batch, batch_idx):
        x, y = batch
        out = self.layer(x)
        self.log("train_mae", (out - y).abs().mean(), prog_bar=True)
        return {"loss": F.mse_loss(out, y), "preds": out.detach(), "note": "kept for another callback"}


def test_a_training_step_returning_predictions_still_logs_its_loss(tmp_path, make_trainer):
    callback = HookCallback([dict(type="LoggerHook", interval=5)])
    make_trainer(max_epochs=1, callbacks=[callback]).fit(ReturnsPredictions(), DataLoader(data(), batch_size=4))
    train = [line for line in lines_of(callback.runner.log_dir) if line.startswith("Epoch(train)")]
    assert all(re.search(r"loss: [\d.]+  train_mae: [\d.]+$", line) for line in train)
    assert "preds" not in json_scalars(callback.runner.log_dir)


def test_a_value_logged_on_step_and_epoch_appears_once_under_its_name(tmp_path, make_trainer):
    class StepAndEpoch(Plain):
        def training_step(self, batch, batch_idx):
            x, y = batch
            out = self.layer(x)
            self.log("train_mae", (out - y).abs().mean(), on_step=True, on_epoch=True)
            return F.mse_loss(out, y)

    callback = HookCallback([dict(type="LoggerHook", interval=5)])
    make_trainer(max_epochs=1, callbacks=[callback]).fit(StepAndEpoch(), DataLoader(data(), batch_size=4))
    tags = json_scalars(callback.runner.log_dir)
    assert "train_mae" in tags and not {"train_mae_step", "train_mae_epoch"} & set(tags)


class Classifier(pl.LightningModule):
    """README's "your LightningModule": returns its loss, logs train_acc, val_loss and val_acc."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(4, 2)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self.layer(x)
        self.log("train_acc", (logits.argmax(1) == y).float().mean())
        return F.cross_entropy(logits, y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.layer(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)


def readme_snippet() -> str:
    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "README.md")).read()
    block = text.split("<!-- test:lightning-snippet -->", 1)[1].split("<!-- /test:lightning-snippet -->", 1)[0]
    return block.strip().removeprefix("```python").removesuffix("```")


def test_readme_snippet_pasted_into_a_project_prints_full_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the snippet sets no default_root_dir: the current directory is the root
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 4, generator=g)
    labelled = TensorDataset(x, (x.sum(1) > 0).long())
    namespace = dict(my_lightning_module=Classifier(), train_loader=DataLoader(TensorDataset(*labelled[:40]),
                                                                               batch_size=4),
                     val_loader=DataLoader(TensorDataset(*labelled[40:]), batch_size=4))
    exec(compile(readme_snippet(), "README.md", "exec"), namespace)

    runner = namespace["hook_callback"].runner
    version = os.path.join(str(tmp_path), "lightning_logs", "version_0")
    assert runner.work_dir == version
    lines = lines_of(runner.log_dir)
    train = [line for line in lines if line.startswith("Epoch(train)")]
    val = [line for line in lines if line.startswith("Epoch(val)") and "val_acc" in line]
    assert len(train) == 6 and len(val) == 3
    assert all(re.search(r"\] {2}lr: \S+  eta: \S+  time: \S+  data_time: \S+  momentum: 0\.9000  loss: \S+  "
                         r"train_acc: \S+$", line) for line in train), train
    assert all(re.search(r"\] {4}val_loss: \S+  val_acc: \S+  data_time: \S+  time: \S+$", line) for line in val), val
    files = set(os.listdir(version))
    assert {"epoch_1.pth", "epoch_2.pth", "epoch_3.pth", "last_checkpoint", "checkpoints", runner.timestamp} <= files
    assert any(re.fullmatch(r"best_val_loss_epoch_[123]\.pth", name) for name in files)
    assert set(os.listdir(str(tmp_path))) == {"lightning_logs"}
    runs = tensorboard_runs(version)
    assert set(runs) == {"", os.path.join(runner.timestamp, "vis_data")}
