"""A two-process DDP run of mmhooks' Runner on CPU (gloo), started by tests/distributed/test_ddp.py.

Usage: python ddp_job.py WORK_DIR OUT_DIR [--no-sync-buffers] [--stop-on-rank-zero] [--accumulate] [--own-train-step]
[--amp] [--backend=fabric]. Lightning (the Trainer or Fabric) re-launches this script for rank 1; each rank writes what its hooks saw to OUT_DIR/rank{r}.json (a
directory outside work_dir, so work_dir holds only what mmhooks wrote).
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import torch
from torch import nn
from torch.nn import functional as F

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

from mmhooks.evaluator import BaseMetric  # noqa: E402
from mmhooks.hooks import Hook  # noqa: E402
from mmhooks.model import BaseModel  # noqa: E402
from mmhooks.registry import DATASETS  # noqa: E402
from mmhooks.runner import Runner  # noqa: E402


class Toy(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 2)
        self.bn = nn.BatchNorm1d(2)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        out = self.bn(self.layer(inputs))
        if mode == "loss":
            return {"loss": F.mse_loss(out, data_samples)}
        if mode == "predict":
            return [dict(index=int(i), err=float(F.mse_loss(o, t))) for i, o, t in
                    zip(inputs[:, 0] * 0, out, data_samples)]
        return out


class OwnStep(Toy):
    """A model with its own ``train_step`` (as GANs have), which the backend must still run through DDP's forward."""

    def train_step(self, data, optim_wrapper):
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self(**data, mode="loss")
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss * 2)
        return log_vars


@DATASETS.register_module(force=True)
class Indexed(torch.utils.data.Dataset):
    """Samples that carry their own index (first feature), so ranks can report what they saw."""

    def __init__(self, n: int = 24) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.x[:, 0] = torch.arange(n, dtype=torch.float)
        self.y = torch.stack([self.x[:, 1:].sum(1), self.x[:, 1] - self.x[:, 2]], dim=1)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return {"inputs": self.x[i], "data_samples": self.y[i]}


class CountSamples(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(s["err"] for s in data_samples)

    def compute_metrics(self, results):
        return {"count": float(len(results)), "mse": sum(results) / len(results)}


class StopOnRankZero(Hook):
    """Asks to stop after the first epoch's validation, on rank zero only."""

    def after_val_epoch(self, runner, metrics=None):
        if runner.rank == 0:
            runner.train_loop.stop_training = True


class Spy(Hook):
    priority = "LOWEST"

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self.record: dict = {"seen": [], "metrics": [], "stages": []}

    def before_run(self, runner):
        self.record.update(rank=runner.rank, world_size=runner.world_size, work_dir=runner.work_dir,
                           timestamp=runner.timestamp, distributed=runner.distributed)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.record["seen"].extend(int(v) for v in data_batch["inputs"][:, 0])

    def after_val_epoch(self, runner, metrics=None):
        self.record["metrics"].append(dict(metrics or {}))

    def after_run(self, runner):
        model = runner.model
        self.record["bn_mean"] = model.bn.running_mean.tolist()
        self.record["bn_var"] = model.bn.running_var.tolist()
        self.record["weight"] = model.layer.weight.flatten().tolist()
        wrapper = runner.optim_wrapper
        self.record["setup"] = [type(model).__name__, type(wrapper).__name__, wrapper.accumulative_counts]
        with open(os.path.join(self.out_dir, f"rank{runner.rank}.json"), "w") as file:
            json.dump(self.record, file)


def main(work_dir: str, out_dir: str, sync_buffers: bool = True, stop_on_rank_zero: bool = False,
         backend: str = "lightning", accumulate: bool = False, own_train_step: bool = False, amp: bool = False) -> None:
    torch.manual_seed(0)
    loader = dict(dataset=dict(type="Indexed", n=24), batch_size=3, collate_fn=dict(type="default_collate"))
    runner = Runner(
        model=OwnStep() if own_train_step else Toy(), work_dir=work_dir,
        train_dataloader=dict(loader, sampler=dict(type="DefaultSampler", shuffle=True)),
        val_dataloader=dict(loader, sampler=dict(type="DefaultSampler", shuffle=False)),
        val_evaluator=CountSamples(), val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.05), accumulative_counts=3 if accumulate else 1,
                           **(dict(type="AmpOptimWrapper", dtype="bfloat16", clip_grad=dict(max_norm=1.0)) if amp
                              else {})),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2),
                           checkpoint=dict(type="CheckpointHook", interval=1)),
        custom_hooks=([dict(type="SyncBuffersHook")] if sync_buffers else []) + [Spy(out_dir)]
        + ([StopOnRankZero()] if stop_on_rank_zero else []),
        randomness=dict(seed=3),
        trainer=dict(accelerator="cpu", devices=2, strategy="ddp", enable_progress_bar=False),
        backend=backend,
    )
    runner.train()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sync_buffers="--no-sync-buffers" not in sys.argv,
         stop_on_rank_zero="--stop-on-rank-zero" in sys.argv,
         backend="fabric" if "--backend=fabric" in sys.argv else "lightning",
         accumulate="--accumulate" in sys.argv, own_train_step="--own-train-step" in sys.argv, amp="--amp" in sys.argv)
