"""``Runner``: MMEngine's constructor and ``from_cfg``, built from configs, trained by a backend.

The Runner turns configs into objects (model, dataloaders, optimizer
wrapper, schedulers, evaluators, hooks) with MMEngine's rules, checks them
before anything trains, and hands them to the Lightning backend
(:mod:`mmhooks.adapters.lightning.backend`), imported only when a run starts.
"""

from __future__ import annotations

import copy
import importlib
import logging
import os
import os.path as osp
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from mmhooks.errors import ConfigError, closest, join_path
from mmhooks.registry import MODELS, DefaultScope
from mmhooks.runner.hook_list import HookList, merge_default_hooks
from mmhooks.runner.train_cfg import TrainSchedule, parse_train_cfg

__all__ = ["Runner", "set_random_seed"]

log = logging.getLogger(__name__)

_GROUPS = (
    ("train_dataloader", "train_cfg", "optim_wrapper"),
    ("val_dataloader", "val_cfg", "val_evaluator"),
    ("test_dataloader", "test_cfg", "test_evaluator"),
)


def set_random_seed(seed: int | None, deterministic: bool = False) -> int:
    """Seed python, numpy and torch (a random seed when ``seed`` is None); return the seed used."""
    if seed is None:
        seed = random.SystemRandom().randint(0, 2**31 - 1)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PL_GLOBAL_SEED"] = str(seed)  # Lightning reads it to seed its worker processes
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return seed


def _check_groups(values: Mapping[str, Any]) -> None:
    """MMEngine's rule: each of the three groups is either all set or all None."""
    for group in _GROUPS:
        given = [key for key in group if values.get(key) is not None]
        if given and len(given) != len(group):
            missing = [key for key in group if key not in given]
            raise ConfigError(
                missing[0], None, f"set together with {', '.join(given)}",
                f"set {' and '.join(missing)}, or remove {', '.join(given)}.",
            )
    if values.get("param_scheduler") is not None and values.get("optim_wrapper") is None:
        raise ConfigError("optim_wrapper", None, "an optimizer wrapper when param_scheduler is set",
                          "add optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)).")


class Runner:
    """MMEngine's ``Runner`` on the Lightning Trainer.

    Takes MMEngine's constructor keywords (see ``mmengine.runner.Runner``) and one
    more, ``trainer=dict(...)``, passed to ``lightning.Trainer`` (accelerator,
    devices, strategy, precision, ...); it wins over what the other keys imply.
    ``train()`` returns the model, ``val()`` and ``test()`` the metrics dict.

    MMEngine parity:
        Keys are validated when the Runner is built: a bad ``train_cfg``, hook
        ``type`` or missing group member raises :class:`~mmhooks.errors.ConfigError`
        before any file is written.
    """

    def __init__(
        self,
        model: nn.Module | dict[str, Any],
        work_dir: str,
        train_dataloader: Any = None,
        val_dataloader: Any = None,
        test_dataloader: Any = None,
        train_cfg: dict[str, Any] | None = None,
        val_cfg: dict[str, Any] | None = None,
        test_cfg: dict[str, Any] | None = None,
        auto_scale_lr: dict[str, Any] | None = None,
        optim_wrapper: Any = None,
        param_scheduler: Any = None,
        val_evaluator: Any = None,
        test_evaluator: Any = None,
        default_hooks: dict[str, Any] | None = None,
        custom_hooks: list[Any] | None = None,
        data_preprocessor: dict[str, Any] | None = None,
        load_from: str | None = None,
        resume: bool | str = False,
        launcher: str = "none",
        env_cfg: dict[str, Any] | None = None,
        log_processor: dict[str, Any] | None = None,
        log_level: str | int = "INFO",
        visualizer: Any = None,
        default_scope: str = "mmengine",
        randomness: dict[str, Any] | None = None,
        experiment_name: str | None = None,
        cfg: Any = None,
        trainer: dict[str, Any] | None = None,
    ) -> None:
        arguments = dict(locals())
        arguments.pop("self")
        _check_groups(arguments)
        self._cfg_values = arguments
        self._cfg_given = cfg is not None
        self.cfg = self._config(cfg, arguments)
        self.work_dir = osp.abspath(work_dir)
        self.train_schedule: TrainSchedule | None = parse_train_cfg(train_cfg) if train_cfg is not None else None
        self._resume = resume
        self.load_from = load_from
        self.launcher = launcher
        self.default_scope = default_scope
        DefaultScope.set(default_scope if default_scope != "mmengine" else None)
        randomness = dict(randomness or {})
        for key, value in randomness.items():
            if key not in ("deterministic", "diff_rank_seed", "seed"):
                near = closest(key, ("deterministic", "diff_rank_seed", "seed"))
                raise ConfigError(key, value, "one of ['deterministic', 'diff_rank_seed', 'seed']",
                                  f"rename it to {near!r}." if near else "delete it.", "randomness")
        for key, path in (("load_from", load_from), ("resume", resume if isinstance(resume, str) else None)):
            if path is not None and not osp.isfile(path):
                raise ConfigError(key, path, "an existing checkpoint file",
                                  "check the path (a relative path is relative to the current directory).")
        self._randomness = randomness
        self.deterministic = bool(randomness.get("deterministic", False))
        self.seed = set_random_seed(randomness.get("seed"), self.deterministic)
        self.timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        self._experiment_name = experiment_name
        self.trainer_cfg = dict(trainer or {})
        self.model = self._build_model(model, data_preprocessor)
        self._hooks = self._build_hooks(default_hooks, custom_hooks)
        self.optim_wrapper: Any = optim_wrapper
        self.param_schedulers: Any = None
        self.train_dataloader: Any = train_dataloader
        self.val_dataloader: Any = val_dataloader
        self.test_dataloader: Any = test_dataloader
        self.val_evaluator: Any = val_evaluator
        self.test_evaluator: Any = test_evaluator
        self.trainer: Any = None
        self.backend: Any = None
        os.makedirs(self.work_dir, exist_ok=True)

    # ----------------------------------------------------------------- building
    @staticmethod
    def _config(cfg: Any, arguments: Mapping[str, Any]) -> Any:
        from mmhooks.config import Config

        if cfg is None:
            plain = {k: v for k, v in arguments.items() if k != "cfg" and _is_plain(v)}
            return Config(plain)
        return cfg if isinstance(cfg, Config) else Config(dict(cfg))

    @classmethod
    def from_cfg(cls, cfg: Any) -> Runner:
        """Build a Runner from a config, reading the same keys as the constructor."""
        cfg = copy.deepcopy(cfg)
        keys = (
            "model", "work_dir", "train_dataloader", "val_dataloader", "test_dataloader", "train_cfg", "val_cfg",
            "test_cfg", "auto_scale_lr", "optim_wrapper", "param_scheduler", "val_evaluator", "test_evaluator",
            "default_hooks", "custom_hooks", "data_preprocessor", "load_from", "resume", "launcher", "env_cfg",
            "log_processor", "log_level", "visualizer", "default_scope", "randomness", "experiment_name", "trainer",
        )
        get = cfg.get
        if get("work_dir") is None:
            raise ConfigError("work_dir", None, "a directory for checkpoints and logs",
                              "add work_dir='./work_dirs/my_run' or pass --work-dir.")
        kwargs = {key: get(key) for key in keys if get(key) is not None}
        kwargs.setdefault("resume", False)
        return cls(cfg=cfg, **{k: _plain(v) for k, v in kwargs.items()})

    def _build_model(self, model: Any, data_preprocessor: Any) -> nn.Module:
        if isinstance(model, nn.Module):
            return model
        if not isinstance(model, Mapping):
            raise ConfigError("model", model, "an nn.Module or a dict with 'type'", "pass model=dict(type='MyModel').")
        cfg = dict(model)
        if data_preprocessor is not None:
            cfg.setdefault("data_preprocessor", data_preprocessor)
        built = MODELS.build(cfg, path="model")
        if not isinstance(built, nn.Module):
            raise ConfigError("model.type", cfg.get("type"), "a class that builds an nn.Module",
                              "register a torch.nn.Module subclass in MODELS.")
        return built

    def _build_hooks(self, default_hooks: Any, custom_hooks: Any) -> HookList:
        hooks = HookList()
        for name, hook in merge_default_hooks(default_hooks).items():
            hooks.register(hook, path=join_path("default_hooks", name))
        if custom_hooks is not None and not isinstance(custom_hooks, Sequence):
            raise ConfigError("custom_hooks", custom_hooks, "a list of hook configs or hooks",
                              "write custom_hooks=[dict(type='EMAHook')].")
        for index, hook in enumerate(custom_hooks or []):
            hooks.register(hook, path=f"custom_hooks[{index}]")
        return hooks

    def dump_config(self) -> str:
        """Write the config to ``work_dir`` as MMEngine does (its file name, or ``{timestamp}.py``); return the path."""
        filename = getattr(self.cfg, "filename", None)
        path = osp.join(self.work_dir, osp.basename(filename) if filename else f"{self.timestamp}.py")
        self.cfg.dump(path)
        return path

    @property
    def hooks(self) -> list[Any]:
        return self._hooks.hooks

    def register_hook(self, hook: Any, priority: Any = None) -> None:
        self._hooks.register(hook, priority)

    @property
    def experiment_name(self) -> str:
        if self._experiment_name:
            return f"{self._experiment_name}_{self.timestamp}"
        filename = getattr(self.cfg, "filename", None)
        if filename:
            return f"{osp.splitext(osp.basename(filename))[0]}_{self.timestamp}"
        return self.timestamp

    def build_dataloader(self, dataloader: Any, path: str) -> Any:
        from mmhooks.dataset import build_dataloader
        from mmhooks.dist import get_rank, get_world_size

        return build_dataloader(dataloader, seed=self.seed, diff_rank_seed=bool(self._randomness.get("diff_rank_seed")),
                                rank=get_rank(), world_size=get_world_size(), path=path)

    def build_train_objects(self) -> None:
        """Dataloader, optimizer wrapper (with auto_scale_lr) and schedulers, in MMEngine's order."""
        from mmhooks.optim import build_optim_wrapper
        from mmhooks.optim.optimizer.builder import auto_scale_lr
        from mmhooks.optim.scheduler import build_param_schedulers

        schedule = self.train_schedule
        if schedule is None:
            raise RuntimeError("Runner.train: no train_cfg. Fix: pass train_dataloader, train_cfg and optim_wrapper.")
        self.train_dataloader = self.build_dataloader(self.train_dataloader, "train_dataloader")
        if self.optim_wrapper is None:  # a second fit on the same Runner keeps its built objects
            self.optim_wrapper = self._cfg_values.get("optim_wrapper")
        self.optim_wrapper = build_optim_wrapper(self.model, self.optim_wrapper, path="optim_wrapper")
        scale_cfg = self._cfg_values.get("auto_scale_lr")
        if scale_cfg:
            auto_scale_lr(self.optim_wrapper, scale_cfg, world_size=_world_size(self.trainer_cfg),
                          batch_size=int(getattr(self.train_dataloader, "batch_size", 1) or 1))
        epoch_length = len(self.train_dataloader) if hasattr(self.train_dataloader, "__len__") else None
        self.param_schedulers = build_param_schedulers(
            self._cfg_values.get("param_scheduler"), self.optim_wrapper, epoch_length=epoch_length,
            max_epochs=schedule.max_epochs if schedule.by_epoch else None,
            max_iters=schedule.max_iters if not schedule.by_epoch else schedule.max_epochs * (epoch_length or 0),
        )

    def build_eval_objects(self, stage: str) -> None:
        from mmhooks.evaluator.evaluator import build_evaluator

        loader_key, evaluator_key = f"{stage}_dataloader", f"{stage}_evaluator"
        if getattr(self, loader_key) is None or getattr(self, evaluator_key) is None:
            return
        setattr(self, loader_key, self.build_dataloader(getattr(self, loader_key), loader_key))
        setattr(self, evaluator_key, build_evaluator(getattr(self, evaluator_key), path=evaluator_key))

    def _backend(self) -> Any:
        if self.backend is None:
            backend_module = importlib.import_module("mmhooks.adapters.lightning.backend")
            self.backend = backend_module.LightningBackend(self)
        return self.backend

    # ---------------------------------------------------------------- running
    def sync_seed(self, broadcast: Any) -> None:
        """Agree on rank zero's seed (``broadcast(obj)`` returns rank zero's value), then re-seed."""
        seed = broadcast(self.seed)
        if seed != self.seed:
            self.seed = set_random_seed(seed, self.deterministic)

    def train(self) -> nn.Module:
        """Train with the Lightning Trainer; return the model.

        Dataloaders, the optimizer wrapper and schedulers are built inside the
        Trainer's ``setup``, once the process group exists, so that samplers
        shard by rank; configuration errors still surface before training.
        """
        return cast(nn.Module, self._backend().fit())

    def val(self) -> dict[str, Any]:
        """Validate (``val_dataloader``/``val_evaluator``); return the metrics."""
        if self.val_dataloader is None:
            raise ConfigError("val_dataloader", None, "a dataloader to validate on",
                              "set val_dataloader, val_cfg and val_evaluator.")
        return cast("dict[str, Any]", self._backend().evaluate("val"))

    def test(self) -> dict[str, Any]:
        """Test (``test_dataloader``/``test_evaluator``); return the metrics."""
        if self.test_dataloader is None:
            raise ConfigError("test_dataloader", None, "a dataloader to test on",
                              "set test_dataloader, test_cfg and test_evaluator.")
        return cast("dict[str, Any]", self._backend().evaluate("test"))


def _world_size(trainer_cfg: Mapping[str, Any]) -> int:
    devices = trainer_cfg.get("devices", 1)
    return devices if isinstance(devices, int) and devices > 0 else 1


def _is_plain(value: Any) -> bool:
    """True for config-like values (dicts, lists, scalars) worth showing in ``cfg``."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return True
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    """A ConfigDict as a plain dict (builders expect dicts)."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
