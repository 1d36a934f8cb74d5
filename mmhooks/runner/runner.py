"""``Runner``: MMEngine's constructor and ``from_cfg``, built from configs, run by a backend.

The Runner turns configs into objects with MMEngine's rules and checks them
all before anything is written. It is the runner hooks see (the same object,
before, during and after ``train/val/test``); the run's state lives in its
:class:`~mmhooks.runner.context.RunContext`. An execution backend
(:mod:`mmhooks.runner.backend`; Lightning's Trainer by default) carries the
run out and is imported only when a run starts.
"""

from __future__ import annotations

import copy
import logging
import os
import os.path as osp
import random
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from mmhooks import interop
from mmhooks.errors import ConfigError
from mmhooks.config.runner_keys import RUNNER_KEYS
from mmhooks.registry import MODELS, set_default_scope
from mmhooks.runner.backend import build_backend
from mmhooks.runner.base import RunnerBase
from mmhooks.runner.context import context_from_config
from mmhooks.runner.hook_list import HookList
from mmhooks.runner.startup_gc import collection_paused, training_starts

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


class Runner(RunnerBase):
    """MMEngine's ``Runner``, run by an execution backend (Lightning's Trainer unless ``backend`` says otherwise).

    Takes MMEngine's constructor keywords (see ``mmengine.runner.Runner``) and two
    more: ``trainer=dict(...)``, passed to ``lightning.Trainer`` (accelerator,
    devices, strategy, precision, ...; it wins over what the other keys imply),
    and ``backend`` (``'lightning'``, the default, or another name registered in
    :data:`mmhooks.runner.backend.BACKENDS`). ``train()`` returns the model,
    ``val()`` and ``test()`` the metrics dict.

    MMEngine parity:
        Keys are validated when the Runner is built: a bad ``train_cfg``, hook
        ``type`` or missing group member raises :class:`~mmhooks.errors.ConfigError`
        before any file is written. MMEngine writes its log and config dump when
        its Runner is built; mmhooks writes the same files when the run starts.
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
        backend: Any = None,
    ) -> None:
        arguments = dict(locals())
        arguments.pop("self")
        arguments.pop("__class__", None)
        with collection_paused():  # start-up builds long-lived objects only (see startup_gc)
            _check_groups(arguments)
            for key, path in (("load_from", load_from), ("resume", resume if isinstance(resume, str) else None)):
                if path is not None and _is_local_path(path) and not osp.isfile(path):
                    raise ConfigError(key, path, "an existing checkpoint file",
                                      "check the path (a relative path is relative to the current directory).")
            set_default_scope(default_scope)
            _check_optim_configs(arguments)
            config = _config(cfg, arguments)
            context = context_from_config(arguments, config)
            super().__init__(context, HookList(), visualizer=visualizer, log_processor=log_processor)
            self._cfg_values = arguments  # the configs the backend builds objects from when the run starts
            self._cfg_given = cfg is not None
            self.trainer_cfg = dict(trainer or {})
            self.trainer: Any = None
            self._backend_choice = backend
            self._run_files_written = False
            self._records_at_construction = 0
            objects = context.objects
            objects.optim_wrapper = optim_wrapper
            objects.train_dataloader, objects.val_dataloader = train_dataloader, val_dataloader
            objects.test_dataloader = test_dataloader
            objects.val_evaluator, objects.test_evaluator = val_evaluator, test_evaluator
            identity = context.identity
            identity.seed = set_random_seed(identity.seed, identity.deterministic)
            # MMEngine's order: logger, message hub and visualizer exist before the model and the hooks (hooks
            # look them up in __init__); the log file opens when the run starts, with these lines in it.
            self.logger
            self.message_hub
            self.visualizer
            objects.model = self._build_model(model, data_preprocessor)
            self.register_hooks(default_hooks, custom_hooks)

    # ----------------------------------------------------------------- building
    @classmethod
    def from_cfg(cls, cfg: Any) -> Runner:
        """Build a Runner from a config, reading the same keys as the constructor."""
        cfg = copy.deepcopy(cfg)
        get = cfg.get
        if get("work_dir") is None:
            raise ConfigError("work_dir", None, "a directory for checkpoints and logs",
                              "add work_dir='./work_dirs/my_run' or pass --work-dir.")
        kwargs = {key: get(key) for key in sorted(RUNNER_KEYS) if get(key) is not None}
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

    def dump_config(self) -> str:
        """Write the config to ``work_dir`` as MMEngine does (its file name, or ``{timestamp}.py``); return the path."""
        filename = getattr(self.cfg, "filename", None)
        path = osp.join(self.work_dir, osp.basename(filename) if filename else f"{self.timestamp}.py")
        self.cfg.dump(path)
        return path

    @property
    def train_schedule(self) -> Any:
        """The parsed ``train_cfg`` (None for a run without training)."""
        return self.context.schedule

    def build_dataloader(self, dataloader: Any, path: str) -> Any:
        from mmhooks.dataset import build_dataloader

        return build_dataloader(dataloader, seed=self.seed, diff_rank_seed=self.context.identity.diff_rank_seed,
                                rank=self.rank, world_size=self.world_size, path=path)

    def build_train_objects(self) -> None:
        """Dataloader, optimizer wrapper (with auto_scale_lr) and schedulers, in MMEngine's order.

        Called by the backend once the process group exists, so samplers shard by rank.
        """
        from mmhooks.optim import build_optim_wrapper
        from mmhooks.optim.optimizer.builder import auto_scale_lr
        from mmhooks.optim.scheduler import build_param_schedulers

        schedule = self.context.schedule
        if schedule is None:
            raise RuntimeError("Runner.train: no train_cfg. Fix: pass train_dataloader, train_cfg and optim_wrapper.")
        objects = self.context.objects
        objects.train_dataloader = self.build_dataloader(objects.train_dataloader, "train_dataloader")
        self.share_dataset_meta(objects.train_dataloader)
        if objects.optim_wrapper is None:  # a second fit on the same Runner keeps its built objects
            objects.optim_wrapper = self._cfg_values.get("optim_wrapper")
        objects.optim_wrapper = interop.adopt(build_optim_wrapper(self.model, objects.optim_wrapper,
                                                                  path="optim_wrapper"))
        scale_cfg = self._cfg_values.get("auto_scale_lr")
        if scale_cfg:
            batch_size = int(getattr(objects.train_dataloader, "batch_size", 1) or 1)
            ratio = auto_scale_lr(objects.optim_wrapper, scale_cfg, world_size=self.world_size, batch_size=batch_size)
            if ratio is not None:  # MMEngine's line, in the run's log
                self.logger.info(f"LR is set based on batch size of {scale_cfg['base_batch_size']} and the current "
                                 f"batch size is {self.world_size * batch_size}. Scaling the original LR by {ratio}.")
        loader = objects.train_dataloader
        epoch_length = len(loader) if hasattr(loader, "__len__") else None
        self.context.set_epoch_length(epoch_length)
        objects.param_schedulers = build_param_schedulers(
            self._cfg_values.get("param_scheduler"), objects.optim_wrapper, epoch_length=epoch_length,
            max_epochs=schedule.max_epochs if schedule.by_epoch else None,
            max_iters=schedule.max_iters if not schedule.by_epoch else schedule.max_epochs * (epoch_length or 0),
        )

    def build_eval_objects(self, stage: str) -> None:
        from mmhooks.evaluator.evaluator import build_evaluator

        objects = self.context.objects
        loader_key, evaluator_key = f"{stage}_dataloader", f"{stage}_evaluator"
        if getattr(objects, loader_key) is None or getattr(objects, evaluator_key) is None:
            return
        setattr(objects, loader_key, self.build_dataloader(getattr(objects, loader_key), loader_key))
        setattr(objects, evaluator_key, interop.adopt(build_evaluator(getattr(objects, evaluator_key),
                                                                      path=evaluator_key)))
        self.share_dataset_meta(getattr(objects, loader_key), getattr(objects, evaluator_key))

    def share_dataset_meta(self, dataloader: Any, evaluator: Any = None) -> None:
        """MMEngine's loops: the dataset's ``metainfo`` becomes the visualizer's (and the evaluator's) ``dataset_meta``.

        Downstream metrics (mmdet's ``CocoMetric``, mmseg's ``IoUMetric``) and
        visualizers (class names next to labels) read it there. The train loader
        is handed over first, then the val loader, so the val dataset's wins,
        as in MMEngine's ``train()``.
        """
        dataset: Any = getattr(dataloader, "dataset", None)
        if hasattr(dataset, "metainfo"):
            metainfo = dataset.metainfo
            if evaluator is not None:
                evaluator.dataset_meta = metainfo
            self.visualizer.dataset_meta = metainfo
            return
        users = "visualizer" if evaluator is None else "evaluator, metric and visualizer"
        self.logger.warning(f"Dataset {type(dataset).__name__} has no metainfo. ``dataset_meta`` in {users} will be "
                            "None.")

    def init_model_weights(self) -> None:
        """MMEngine's ``_init_model_weights``: ``model.init_weights()`` when the model has it (train only)."""
        model = self.model
        model = getattr(model, "module", model)
        init_weights = getattr(model, "init_weights", None)
        if not callable(init_weights):
            return
        init_weights()
        if self.world_size > 1:  # every rank starts from rank zero's weights, as MMEngine broadcasts them
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                for tensor in model.state_dict().values():
                    dist.broadcast(tensor, src=0)

    # ---------------------------------------------------------------- running
    def sync_seed(self, broadcast: Any) -> None:
        """Agree on rank zero's seed (``broadcast(obj)`` returns rank zero's value), then re-seed."""
        identity = self.context.identity
        seed = broadcast(identity.seed)
        if seed != identity.seed:
            identity.seed = set_random_seed(seed, identity.deterministic)

    def start_run_files(self) -> None:
        """What MMEngine writes when its Runner starts (rank zero, once): log start, hook order, config dump.

        Backends call it once the run's objects are built, so a run that fails
        to build them leaves ``work_dir`` as it found it. Lines logged while the
        Runner was built go after the config, those logged while the backend
        built the run's objects after the hook order, as in MMEngine's log.
        """
        if self._run_files_written or self.rank != 0:
            return
        self._run_files_written = True
        from mmhooks.runner.env_info import log_run_start

        os.makedirs(self.log_dir, exist_ok=True)
        earlier = self.open_log_file()
        built, starting = earlier[: self._records_at_construction], earlier[self._records_at_construction:]
        log_run_start(self, self._cfg_values.get("env_cfg"), self._cfg_values.get("randomness"),
                      then=lambda: self.write_to_log_file(built))
        self.logger.info(f"Hooks will be executed in the following order:\n{self._hooks.info()}")
        self.write_to_log_file(starting)
        if self._cfg_given:
            self.visualizer.add_config(self.cfg)
        self.dump_config()

    def log_resume_start(self, checkpoint: Mapping[str, Any]) -> None:
        """MMEngine's lines when a resume takes its checkpoint: after ``init_weights``, before ``before_train``.

        The counters come from the checkpoint's ``meta``, as MMEngine's ``resume`` reads them.
        """
        path = self.context.resumed_from
        if path is None:
            return
        if self.context.resume is True and not self.load_from:
            self.logger.info(f"Auto resumed from the latest checkpoint {path}.")
        meta = checkpoint.get("meta") or {}
        self.logger.info(f"Load checkpoint from {path}")
        self.logger.info(f"resumed epoch: {meta.get('epoch', self.epoch)}, iter: {meta.get('iter', self.iter)}")

    def log_resumed(self) -> None:
        """Where the run continues (the backend calls it once counters are restored)."""
        path = self.context.resumed_from
        if path is None:
            return
        self.logger.info(f"Resumed from {path} (epoch {self.epoch}, iter {self.iter})")

    def summary(self) -> str:
        """Where the run's files went: work_dir, best and last checkpoints, the log, TensorBoard."""
        from mmhooks.runner.checkpoint import find_latest_checkpoint

        hub, lines = self.message_hub, [f"work_dir: {self.work_dir}"]
        for key in sorted(hub.runtime_info):
            if key.startswith("best_ckpt"):
                suffix = key[len("best_ckpt"):]
                score = hub.runtime_info.get(f"best_score{suffix}")
                lines.append(f"best checkpoint{suffix.replace('_', ' ')}: {hub.runtime_info[key]} (score {score})")
        last = find_latest_checkpoint(self.work_dir) if osp.isdir(self.work_dir) else None
        if last:
            lines.append(f"last checkpoint: {last}")
        log_file = getattr(self.logger, "log_file", None)
        if log_file:
            lines.append(f"log: {log_file}")
        vis_data = osp.join(self.log_dir, "vis_data")
        if osp.isfile(osp.join(vis_data, "scalars.json")):
            lines.append(f"scalars: {osp.join(vis_data, 'scalars.json')}")
        if any(type(b).__name__.endswith("TensorboardVisBackend") for b in getattr(self.visualizer, "_vis_backends",
                                                                                 {}).values()):
            lines.append(f"TensorBoard: tensorboard --logdir {vis_data}")
        return "\n".join(lines)

    def _ensure_backend(self) -> Any:
        if self.backend is None:
            self.backend = build_backend(self._backend_choice, self)
        pending = self._pending_log
        self._records_at_construction = len(pending.buffer) if pending is not None else 0
        return self.backend

    def train(self) -> nn.Module:
        """Train; return the model.

        Dataloaders, the optimizer wrapper and schedulers are built by the
        backend once the process group exists, so that samplers shard by rank;
        configuration errors surface before training.
        """
        if self.context.schedule is None:
            raise RuntimeError("Runner.train: no train_cfg. Fix: pass train_dataloader, train_cfg and optim_wrapper.")
        with collection_paused(until_training=True):  # start-up's objects: see mmhooks.runner.startup_gc
            backend = self._ensure_backend()
            if not getattr(backend, "calls_training_starts", False):
                training_starts()  # a backend that does not say when its first iteration starts: collect from now
            return cast(nn.Module, backend.train())

    def val(self) -> dict[str, Any]:
        """Validate (``val_dataloader``/``val_evaluator``); return the metrics."""
        if self.context.objects.val_dataloader is None:
            raise ConfigError("val_dataloader", None, "a dataloader to validate on",
                              "set val_dataloader, val_cfg and val_evaluator.")
        return cast("dict[str, Any]", self._ensure_backend().evaluate("val"))

    def test(self) -> dict[str, Any]:
        """Test (``test_dataloader``/``test_evaluator``); return the metrics."""
        if self.context.objects.test_dataloader is None:
            raise ConfigError("test_dataloader", None, "a dataloader to test on",
                              "set test_dataloader, test_cfg and test_evaluator.")
        return cast("dict[str, Any]", self._ensure_backend().evaluate("test"))


def _is_local_path(path: str) -> bool:
    """Whether ``path`` is read from the local disk (not a URL or a model-zoo name such as ``open-mmlab://``)."""
    from mmhooks.runner.checkpoint import CheckpointLoader, load_from_local

    return CheckpointLoader._get_checkpoint_loader(str(path)) is load_from_local


def _check_optim_configs(arguments: Mapping[str, Any]) -> None:
    """Optimizer wrapper and scheduler configs checked now, with located errors, not when training starts."""
    from mmhooks.optim import check_optim_wrapper_cfg, check_param_scheduler_cfgs

    optim_wrapper = arguments.get("optim_wrapper")
    if isinstance(optim_wrapper, Mapping):
        check_optim_wrapper_cfg(optim_wrapper, path="optim_wrapper")
    schedulers = arguments.get("param_scheduler")
    if schedulers is not None:
        names = list(optim_wrapper) if isinstance(optim_wrapper, Mapping) and _is_wrapper_dict_cfg(optim_wrapper) \
            else None
        check_param_scheduler_cfgs(schedulers, path="param_scheduler", optimizer_names=names)


def _is_wrapper_dict_cfg(cfg: Any) -> bool:
    """An ``optim_wrapper`` config of named wrappers (a GAN's), without its own optimizer or constructor."""
    return isinstance(cfg, Mapping) and "optimizer" not in cfg and "constructor" not in cfg and bool(cfg) and \
        all(isinstance(value, Mapping) for value in cfg.values())


def _config(cfg: Any, arguments: Mapping[str, Any]) -> Any:
    """The run's ``Config``: the one given (an MMEngine Config keeps its file name), or the plain arguments."""
    from mmhooks.config import Config

    if cfg is None:
        plain = {k: v for k, v in arguments.items() if k != "cfg" and _is_plain(v)}
        return interop.adopt(Config(plain))
    return interop.adopt(Config.from_any(cfg))


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

