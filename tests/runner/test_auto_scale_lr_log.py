"""``auto_scale_lr`` says in the log what it did, with MMEngine's line.

Users check this line (``tools/train.py --auto-scale-lr``) to confirm that the
lr of a config tuned for 8 GPUs x 16 images was scaled for their batch size.
"""

from __future__ import annotations

import logging
import uuid

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

mmengine = pytest.importorskip("mmengine")

from mmengine.model import BaseModel as MMModel  # noqa: E402  (after the importorskip)
from mmengine.runner import Runner as MMRunner  # noqa: E402

from mmhooks.model import BaseModel  # noqa: E402
from mmhooks.runner import Runner  # noqa: E402


def net(base):
    class Net(base):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layer = nn.Linear(4, 1)

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            return {"loss": F.mse_loss(out, targets)} if mode == "loss" else out

    return Net()


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append((record.levelname, record.getMessage()))


def scaled_lr_lines(runner_cls, base, work_dir, auto_scale_lr):
    x = torch.randn(12, 4, generator=torch.Generator().manual_seed(1))
    kwargs = dict(trainer=dict(accelerator="cpu", enable_progress_bar=False)) if runner_cls is Runner else {}
    runner = runner_cls(
        model=net(base), work_dir=str(work_dir), train_dataloader=DataLoader(TensorDataset(x, x[:, :1]), batch_size=3),
        train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        auto_scale_lr=auto_scale_lr, default_hooks=dict(logger=None, checkpoint=None),
        experiment_name=f"scale_{uuid.uuid4().hex}", **kwargs)
    handler = Lines()
    runner.logger.addHandler(handler)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(handler)
    return [line for line in handler.lines if line[1].startswith("LR is set")], runner.optim_wrapper.get_lr()


@pytest.mark.parametrize("auto_scale_lr", [dict(enable=True, base_batch_size=12), dict(enable=True, base_batch_size=2),
                                           dict(enable=False, base_batch_size=12)], ids=["down", "up", "off"])
def test_the_scaling_line_is_mmengines(tmp_path, auto_scale_lr):
    theirs, their_lr = scaled_lr_lines(MMRunner, MMModel, tmp_path / "mm", dict(auto_scale_lr))
    ours, our_lr = scaled_lr_lines(Runner, BaseModel, tmp_path / "ours", dict(auto_scale_lr))
    assert len(theirs) == (1 if auto_scale_lr["enable"] else 0)
    assert ours == theirs
    assert our_lr == their_lr
