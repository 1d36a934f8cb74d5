"""An MMCV-style hook handed to HookCallback (as an instance or a config dict) runs with MMCV's counters."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from mmhooks.adapters.lightning import HookCallback
from mmhooks.legacy import LegacyHookAdapter


class Duck:
    """An MMCV hook that inherits from nothing: mount points take only ``runner``."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def before_run(self, runner: Any) -> None:
        self.rows.append(("before_run", runner.epoch, runner.iter, runner.mode))

    def before_train_epoch(self, runner: Any) -> None:
        self.rows.append(("before_train_epoch", runner.epoch, runner.iter, runner.mode))

    def after_train_iter(self, runner: Any) -> None:
        self.rows.append(("after_train_iter", runner.epoch, runner.iter, runner.inner_iter, runner.current_lr()[0],
                          sorted(runner.outputs["log_vars"])))

    def after_train_epoch(self, runner: Any) -> None:
        self.rows.append(("after_train_epoch", runner.epoch, runner.iter, runner.inner_iter))


class Module(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self.layer(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def test_callback_wraps_and_runs_mmcv_hooks(tmp_path: Any) -> None:
    as_instance = Duck()
    callback = HookCallback([as_instance, dict(type=Duck, priority="LOW")])
    assert [type(h) for h in callback.hooks] == [LegacyHookAdapter, LegacyHookAdapter]
    from_config = callback.hooks[1].legacy_hook
    data = DataLoader(TensorDataset(torch.randn(6, 2), torch.randn(6, 1)), batch_size=2)
    trainer = pl.Trainer(max_epochs=2, callbacks=[callback], default_root_dir=str(tmp_path), logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Module(), data)
    L = 3
    want: list[tuple[Any, ...]] = [("before_run", 0, 0, None)]
    for e in range(2):
        want.append(("before_train_epoch", e, e * L, "train"))
        want += [("after_train_iter", e, e * L + i, i, 0.05, ["loss"]) for i in range(L)]
        want.append(("after_train_epoch", e, (e + 1) * L, L - 1))  # spec mmcv_legacy §4.1
    assert as_instance.rows == want
    assert from_config.rows == want
