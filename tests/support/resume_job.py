"""A small deterministic training job that can kill itself (SIGKILL) at a chosen point.

Usage: python resume_job.py WORK_DIR TRACE_FILE [--kill-at-iter N | --kill-in-val EPOCH] [--resume]
       [--backend lightning|fabric]

Every training iteration appends ``iter lr momentum first-sample`` to TRACE_FILE
(a resumed run appends the iterations it runs again), so a test can compare
the per-iteration trace of an interrupted and resumed run with a straight one.
"""

from __future__ import annotations

import argparse
import os
import signal
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

    def forward(self, inputs, data_samples=None, mode="tensor", index=None):
        out = self.bn(self.layer(inputs))
        if mode == "loss":
            return {"loss": F.mse_loss(out, data_samples)}
        if mode == "predict":
            return [dict(err=float(F.mse_loss(o, t))) for o, t in zip(out, data_samples)]
        return out


@DATASETS.register_module(force=True)
class Numbered(torch.utils.data.Dataset):
    def __init__(self, n: int = 24) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = torch.stack([self.x.sum(1), self.x[:, 0] - self.x[:, 1]], dim=1)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return {"inputs": self.x[i], "data_samples": self.y[i], "index": i}


class MSE(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(s["err"] for s in data_samples)

    def compute_metrics(self, results):
        return {"mse": sum(results) / len(results)}


class Trace(Hook):
    priority = "VERY_HIGH"

    def __init__(self, path: str, kill_at_iter: int | None, kill_in_val: int | None) -> None:
        self.path, self.kill_at_iter, self.kill_in_val = path, kill_at_iter, kill_in_val

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        lr = runner.optim_wrapper.get_lr()["lr"][0]
        momentum = runner.optim_wrapper.get_momentum()["momentum"][0]
        with open(self.path, "a") as file:
            file.write(f"{runner.iter} {lr!r} {momentum!r} {int(data_batch['index'][0])}\n")

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter == self.kill_at_iter:
            os.kill(os.getpid(), signal.SIGKILL)

    def before_val_epoch(self, runner):
        if runner.epoch == self.kill_in_val:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work_dir")
    parser.add_argument("trace")
    parser.add_argument("--kill-at-iter", type=int)
    parser.add_argument("--kill-in-val", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--backend", default="lightning")
    args = parser.parse_args()
    torch.manual_seed(0)
    loader = dict(dataset=dict(type="Numbered", n=24), batch_size=4, collate_fn=dict(type="default_collate"))
    runner = Runner(
        model=Toy(), work_dir=args.work_dir,
        train_dataloader=dict(loader, sampler=dict(type="DefaultSampler", shuffle=True)),
        val_dataloader=dict(loader, sampler=dict(type="DefaultSampler", shuffle=False)),
        val_evaluator=MSE(), val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=1e-3)),
        param_scheduler=[dict(type="LinearLR", start_factor=0.25, by_epoch=False, begin=0, end=5),
                         dict(type="MultiStepLR", milestones=[2], by_epoch=True),
                         dict(type="CosineAnnealingMomentum", T_max=18, eta_min=0.8, by_epoch=False)],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=3),
                           checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=4, max_keep_ckpts=2,
                                           save_best="mse", rule="less")),
        custom_hooks=[dict(type="EMAHook", momentum=0.2), Trace(args.trace, args.kill_at_iter, args.kill_in_val)],
        randomness=dict(seed=11, deterministic=True),
        resume=args.resume,
        log_level="WARNING",
        trainer=dict(enable_progress_bar=False),
        backend=args.backend,
    )
    runner.train()


if __name__ == "__main__":
    main()
