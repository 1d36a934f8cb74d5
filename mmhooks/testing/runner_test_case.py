"""``RunnerTestCase``: a ``unittest.TestCase`` that builds small Runners (MMEngine's ``mmengine.testing`` helper).

Tests written for MMEngine build their runner from ``self.epoch_based_cfg`` or
``self.iter_based_cfg`` (a two-layer model on twelve 2-d points, batch size 3,
one metric) and rely on ``tearDown`` to forget the process-wide instances
(logger, message hub, visualizer, default scope) and the toy registrations, so
the next test starts clean. The same configs here build mmhooks' Runner.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import tempfile
import time
import unittest
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import Dataset

from mmhooks.config import Config
from mmhooks.dist import is_distributed
from mmhooks.evaluator.metric import BaseMetric
from mmhooks.logging.logger import MMLogger
from mmhooks.logging.message_hub import MessageHub
from mmhooks.model.base_model import BaseModel
from mmhooks.registry import DATASETS, METRICS, MODELS, DefaultScope
from mmhooks.visualization.visualizer import Visualizer

__all__ = ["RunnerTestCase", "ToyDataset", "ToyMetric", "ToyModel"]


class ToyModel(BaseModel):
    """``Linear(2, 2)`` then ``Linear(2, 1)``; the loss is ``sum(data_samples - outputs)``."""

    def __init__(self, data_preprocessor: Any = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.linear1 = nn.Linear(2, 2)
        self.linear2 = nn.Linear(2, 1)

    def forward(self, inputs: Any, data_samples: Any = None, mode: str = "tensor") -> Any:
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        data_samples = torch.stack(data_samples) if isinstance(data_samples, list) else data_samples
        outputs = self.linear2(self.linear1(inputs))
        if mode == "loss":
            return {"loss": (data_samples - outputs).sum()}
        if mode in ("tensor", "predict"):
            return outputs
        return None  # MMEngine's toy model returns None for an unknown mode too


class ToyDataset(Dataset[dict[str, torch.Tensor]]):
    """Twelve random 2-d inputs labelled 1 (drawn once, when the class is defined)."""

    METAINFO: ClassVar[dict[str, Any]] = {}
    data = torch.randn(12, 2)
    label = torch.ones(12)

    @property
    def metainfo(self) -> dict[str, Any]:
        return self.METAINFO

    def __len__(self) -> int:
        return int(self.data.size(0))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"inputs": self.data[index], "data_samples": self.label[index]}


class ToyMetric(BaseMetric):
    """Reports ``acc=1`` whatever the predictions."""

    def __init__(self, collect_device: str = "cpu", dummy_metrics: Any = None) -> None:
        super().__init__(collect_device=collect_device)
        self.dummy_metrics = dummy_metrics

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        self.results.append({"acc": 1})

    def compute_metrics(self, results: list[Any]) -> dict[str, float]:
        return {"acc": 1}


def _loader(sampler: str, shuffle: bool) -> dict[str, Any]:
    return {"dataset": {"type": "ToyDataset"}, "sampler": {"type": sampler, "shuffle": shuffle},
            "batch_size": 3, "num_workers": 0}


class RunnerTestCase(unittest.TestCase):
    """Registers the toy model, dataset and metric; offers epoch- and iteration-based configs and ``build_runner``.

    ``epoch_based_cfg`` trains 2 epochs of 4 iterations, validating every
    epoch; ``iter_based_cfg`` trains 12 iterations from an infinite sampler and
    saves a checkpoint at the end.
    """

    dist_cfg: ClassVar[dict[str, Any]] = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": 29600, "RANK": "0",
                                          "WORLD_SIZE": "1", "LOCAL_RANK": "0"}

    def setUp(self) -> None:
        self.temp_dir = tempfile.TemporaryDirectory()
        MODELS.register_module(module=ToyModel, force=True)
        METRICS.register_module(module=ToyMetric, force=True)
        DATASETS.register_module(module=ToyDataset, force=True)
        self.epoch_based_cfg = Config({
            "work_dir": self.temp_dir.name,
            "model": {"type": "ToyModel"},
            "train_dataloader": _loader("DefaultSampler", shuffle=True),
            "val_dataloader": _loader("DefaultSampler", shuffle=False),
            "val_evaluator": [{"type": "ToyMetric"}],
            "test_dataloader": _loader("DefaultSampler", shuffle=False),
            "test_evaluator": [{"type": "ToyMetric"}],
            "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1}},
            "train_cfg": {"by_epoch": True, "max_epochs": 2, "val_interval": 1},
            "val_cfg": {},
            "test_cfg": {},
            "default_hooks": {"logger": {"type": "LoggerHook", "interval": 1}},
            "custom_hooks": [],
            "env_cfg": {"dist_cfg": {"backend": "nccl"}},
            "experiment_name": "test1",
        })
        self.iter_based_cfg: Config = copy.deepcopy(self.epoch_based_cfg)
        self.iter_based_cfg.train_dataloader = _loader("InfiniteSampler", shuffle=True)
        self.iter_based_cfg.log_processor = {"by_epoch": False}
        self.iter_based_cfg.train_cfg = {"by_epoch": False, "max_iters": 12}
        self.iter_based_cfg.default_hooks = {
            "logger": {"type": "LoggerHook", "interval": 1},
            "checkpoint": {"type": "CheckpointHook", "interval": 12, "by_epoch": False},
        }

    def tearDown(self) -> None:
        logging.shutdown()  # close the log files, or the temporary directory cannot go on Windows
        for manager in (MMLogger, Visualizer, DefaultScope, MessageHub):
            manager._instance_dict.clear()
        for registry, name in ((MODELS, "ToyModel"), (METRICS, "ToyMetric"), (DATASETS, "ToyDataset")):
            registry.module_dict.pop(name, None)
        self.temp_dir.cleanup()
        if is_distributed():
            torch.distributed.destroy_process_group()

    def build_runner(self, cfg: Config) -> Any:
        """``Runner.from_cfg(cfg)`` under a fresh experiment name (two runners built in one second must differ)."""
        from mmhooks.runner.runner import Runner

        cfg.experiment_name = self.experiment_name
        return Runner.from_cfg(cfg)

    @property
    def experiment_name(self) -> str:
        return f"{self._testMethodName}_{time.time()} + {uuid.uuid4()}"

    def setup_dist_env(self) -> None:
        """Environment variables for a one-process ``torch.distributed`` group on a fresh port."""
        self.dist_cfg["MASTER_PORT"] += 1
        os.environ["MASTER_PORT"] = str(self.dist_cfg["MASTER_PORT"])
        for key in ("MASTER_ADDR", "RANK", "WORLD_SIZE", "LOCAL_RANK"):
            os.environ[key] = str(self.dist_cfg[key])

    def clear_work_dir(self) -> None:
        """Empty the work directory (log files closed first)."""
        logging.shutdown()
        for name in os.listdir(self.temp_dir.name):
            path = os.path.join(self.temp_dir.name, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
