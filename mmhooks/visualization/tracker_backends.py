"""Experiment-tracker vis backends (W&B, MLflow, DVCLive, Aim, Comet, CSV) that write through a bound tracker.

MMEngine's tracker backends open their own client (``wandb.init``,
``mlflow.set_experiment``, ...). Here a backend keeps MMEngine's arguments
and decides *what* is sent (names, steps, config, images, artifacts), and a
*tracker* bound with :meth:`TrackerVisBackend.bind` decides *how*: an object
with ``log_metrics(metrics, step)``, ``log_hyperparams(params)``,
``finalize(status)`` and ``experiment`` (the tracker's own run object) — the
shape of a Lightning logger. The Lightning backend builds the logger that
Lightning or the tracker ships for each backend and binds it
(``mmhooks.adapters.lightning.loggers``), so the same logger can also sit in
``lightning.Trainer(logger=[...])``. This module imports no tracker package.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar, Optional, Protocol, Union, runtime_checkable

import numpy as np
import torch

from mmhooks.errors import ConfigError
from mmhooks.registry import VISBACKENDS
from mmhooks.visualization.vis_backend import BaseVisBackend

__all__ = [
    "AimVisBackend",
    "CSVVisBackend",
    "ClearMLVisBackend",
    "CometVisBackend",
    "DVCLiveVisBackend",
    "MLflowVisBackend",
    "NeptuneVisBackend",
    "Tracker",
    "TrackerVisBackend",
    "WandbVisBackend",
]

Suffixes = Union[str, tuple[str, ...], list[str]]


@runtime_checkable
class Tracker(Protocol):
    """What a backend writes through: the methods every Lightning logger has."""

    @property
    def experiment(self) -> Any: ...

    def log_metrics(self, metrics: Any, step: Optional[int] = None) -> None: ...

    def log_hyperparams(self, params: Any) -> None: ...

    def finalize(self, status: str) -> None: ...


def scalar_value(value: Any) -> Any:
    """A one-element tensor or array, or a numpy scalar, as a Python number; other values unchanged."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def config_to_dict(config: Any, where: str) -> dict[str, Any]:
    """A ``Config`` (mmhooks' or MMEngine's) or a mapping as a plain dict."""
    if hasattr(config, "to_dict"):
        return dict(config.to_dict())
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"{where}: got {type(config).__name__}; expected a Config or a dict. Fix: pass runner.cfg.")


def config_text(config: Any) -> str:
    """The config as Python source (``pretty_text``), or its repr for a plain dict."""
    text = getattr(config, "pretty_text", None)
    return text if isinstance(text, str) else repr(config)


def scan_files(root: str, suffixes: Suffixes, recursive: bool) -> Iterator[str]:
    """Paths under ``root`` whose names end with one of ``suffixes``, sorted, relative to ``root``."""
    endings = (suffixes,) if isinstance(suffixes, str) else tuple(suffixes)
    found: list[str] = []
    for folder, subfolders, files in os.walk(root):
        found.extend(os.path.relpath(os.path.join(folder, name), root) for name in files if name.endswith(endings))
        if not recursive:
            subfolders.clear()
    return iter(sorted(found))


class TrackerVisBackend(BaseVisBackend):
    """A vis backend that writes through a bound :class:`Tracker` (a Lightning logger).

    Subclasses keep MMEngine's constructor; they translate MMEngine's calls
    into tracker calls. The tracker must be bound before the first write.

    Args:
        save_dir: Directory of the backend's local files (``<log_dir>/vis_data`` in a run).
    """

    #: The Lightning logger a tracker of this backend is, for messages.
    logger_name: ClassVar[str] = "a Lightning logger"
    #: MMEngine refuses a ``'step'`` key in ``add_scalars`` for this tracker.
    rejects_step_key: ClassVar[bool] = False

    def __init__(self, save_dir: Optional[str]) -> None:
        super().__init__(save_dir)
        self._tracker: Optional[Tracker] = None

    def bind(self, tracker: Tracker) -> None:
        """Write through ``tracker`` from now on (before the first write)."""
        if self._env_initialized and tracker is not self._tracker:
            raise RuntimeError(
                f"{type(self).__name__}.bind: the backend has written through another tracker already. "
                "Fix: bind the tracker before the first add_* call."
            )
        self._tracker = tracker

    @property
    def tracker(self) -> Tracker:
        """The bound tracker; a clear error when none is."""
        if self._tracker is None:
            raise RuntimeError(
                f"{type(self).__name__} writes through {self.logger_name} and none is bound. Fix: run it through "
                "mmhooks' Runner or HookCallback, or bind one with "
                "mmhooks.adapters.lightning.loggers.lightning_loggers(visualizer) and pass the list to "
                "lightning.Trainer(logger=...)."
            )
        return self._tracker

    @property
    def is_bound(self) -> bool:
        return self._tracker is not None

    def _init_env(self) -> None:
        tracker = self.tracker  # fails before any directory is made when nothing is bound
        if self._save_dir is not None:
            os.makedirs(self._save_dir, exist_ok=True)
        self._start(tracker)

    def _start(self, tracker: Tracker) -> None:
        """Per-tracker set-up on first use (tags, params, metric definitions)."""

    @property
    def experiment(self) -> Any:
        """The tracker's own run object (``wandb.Run``, ``MlflowClient``, ``dvclive.Live``, ...)."""
        self._ensure_env()
        return self.tracker.experiment

    def _checked_scalars(self, scalar_dict: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(scalar_dict, Mapping):
            raise TypeError(
                f"{type(self).__name__}.add_scalars: got {type(scalar_dict).__name__}; expected a dict. "
                "Fix: pass a dict."
            )
        if self.rejects_step_key and "step" in scalar_dict:
            raise ValueError(
                f"{type(self).__name__}.add_scalars: got a 'step' key in scalar_dict; expected the step in the "
                "step argument. Fix: pass step=... instead."
            )
        return {key: scalar_value(value) for key, value in scalar_dict.items()}

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar at ``step``."""
        self._ensure_env()
        self._log_scalars({name: scalar_value(value)}, step)

    def add_scalars(
        self, scalar_dict: dict[str, Any], step: int = 0, file_path: Optional[str] = None, **kwargs: Any
    ) -> None:
        """Record several scalars at ``step`` (``file_path`` is for the local backend only)."""
        self._ensure_env()
        self._log_scalars(self._checked_scalars(scalar_dict), step)

    def _log_scalars(self, scalars: dict[str, Any], step: int) -> None:
        self.tracker.log_metrics(scalars, step)

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the config as the run's hyper-parameters."""
        self._ensure_env()
        self.tracker.log_hyperparams(config_to_dict(config, f"{type(self).__name__}.add_config"))

    def close(self) -> None:
        """Let the tracker save what it buffers (the run itself stays usable, as Lightning's loggers do)."""
        if self._env_initialized and self._tracker is not None:
            self._tracker.finalize("success")


@VISBACKENDS.register_module()
class WandbVisBackend(TrackerVisBackend):
    """Weights & Biases, through Lightning's ``WandbLogger`` (MMEngine's arguments).

    Args:
        save_dir: The wandb run directory (``init_kwargs['dir']`` wins).
        init_kwargs: ``wandb.init`` arguments (``project``, ``name``, ``mode='offline'``, ...).
        define_metric_cfg: ``{metric: summary}`` or a list of ``define_metric`` argument dicts.
        commit: ``False`` merges rows until the next committed one (``wandb.log(commit=False)``).
        log_code_name: Name of the code artifact logged with the config.
        watch_kwargs: Arguments of ``wandb.watch`` for :meth:`add_graph`.

    MMEngine parity:
        One wandb row per ``add_scalars`` call with the same keys, plus Lightning's
        ``trainer/global_step`` column holding MMEngine's step (Lightning plots
        against it). Images go through ``WandbLogger.log_image`` (a list of one
        image). ``close`` does not finish the run: like Lightning's loggers, the
        run stays open for a later ``runner.test()`` and ends with the process.
    """

    logger_name = "Lightning's WandbLogger"

    def __init__(
        self,
        save_dir: str,
        init_kwargs: Optional[dict[str, Any]] = None,
        define_metric_cfg: Union[dict[str, Any], list[dict[str, Any]], None] = None,
        commit: Optional[bool] = True,
        log_code_name: Optional[str] = None,
        watch_kwargs: Optional[dict[str, Any]] = None,
    ) -> None:
        if define_metric_cfg is not None and not isinstance(define_metric_cfg, (dict, list)):
            raise ConfigError(
                "define_metric_cfg", define_metric_cfg, "a dict {metric: summary} or a list of dicts",
                "write e.g. define_metric_cfg={'coco/bbox_mAP': 'max'}.", "WandbVisBackend",
            )
        super().__init__(save_dir)
        self.init_kwargs = dict(init_kwargs or {})
        self.init_kwargs.setdefault("dir", save_dir)
        self._define_metric_cfg = define_metric_cfg
        self._commit = commit
        self._log_code_name = log_code_name
        self._watch_kwargs = dict(watch_kwargs or {})

    def _start(self, tracker: Tracker) -> None:
        run = tracker.experiment
        if isinstance(self._define_metric_cfg, dict):
            for metric, summary in self._define_metric_cfg.items():
                run.define_metric(metric, summary=summary)
        elif isinstance(self._define_metric_cfg, list):
            for metric_cfg in self._define_metric_cfg:
                run.define_metric(**metric_cfg)

    def _log_scalars(self, scalars: dict[str, Any], step: int) -> None:
        if self._commit:
            self.tracker.log_metrics(scalars, step)
        else:
            self.tracker.experiment.log(scalars, commit=False)

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """The config as the run's ``wandb.config``, and the code as an artifact."""
        super().add_config(config, **kwargs)
        self.tracker.experiment.log_code(name=self._log_code_name)

    def add_graph(self, model: torch.nn.Module, data_batch: Any, **kwargs: Any) -> None:
        """``wandb.watch(model, **watch_kwargs)``."""
        self._ensure_env()
        self.tracker.experiment.watch(model, **self._watch_kwargs)

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        self._ensure_env()
        self.tracker.log_image(key=name, images=[image], step=step)  # type: ignore[attr-defined]


@VISBACKENDS.register_module()
class MLflowVisBackend(TrackerVisBackend):
    """MLflow, through Lightning's ``MLFlowLogger`` (MMEngine's arguments).

    Args:
        save_dir: Directory of the local file store used when ``tracking_uri`` is not given.
        exp_name: Experiment name (``'Default'`` when not given).
        run_name: Run name (the ``mlflow.runName`` tag).
        tags: Run tags.
        params: Parameters logged when the run starts.
        tracking_uri: Tracking server or store URI.
        artifact_suffix: Files of ``cfg.work_dir`` logged as artifacts by :meth:`close`.
        tracked_config_keys: Top-level config keys logged as parameters (all when not given).
        artifact_location: Artifact location of a newly created experiment.

    The tracker's ``experiment`` is an ``MlflowClient`` and its ``run_id`` the run.
    Config parameters are flattened with ``.`` (``model.backbone.depth``) as in MMEngine.
    """

    logger_name = "Lightning's MLFlowLogger"
    rejects_step_key = True

    def __init__(
        self,
        save_dir: str,
        exp_name: Optional[str] = None,
        run_name: Optional[str] = None,
        tags: Optional[dict[str, Any]] = None,
        params: Optional[dict[str, Any]] = None,
        tracking_uri: Optional[str] = None,
        artifact_suffix: Suffixes = (".json", ".log", ".py", "yaml"),
        tracked_config_keys: Optional[Union[dict[str, Any], list[str]]] = None,
        artifact_location: Optional[str] = None,
    ) -> None:
        super().__init__(save_dir)
        self.exp_name = exp_name or "Default"
        self.run_name = run_name
        self.tags = tags
        self._params = params
        self.tracking_uri = tracking_uri or f"file://{os.path.abspath(save_dir)}"
        self._artifact_suffix = artifact_suffix
        self._tracked_config_keys = tracked_config_keys
        self.artifact_location = artifact_location
        self.cfg: Any = None

    def _start(self, tracker: Tracker) -> None:
        if self._params is not None:
            tracker.log_hyperparams(dict(self._params))

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """The (tracked keys of the) config as flattened parameters, and its text as ``config.py``."""
        self._ensure_env()
        self.cfg = config
        values = config_to_dict(config, "MLflowVisBackend.add_config")
        if self._tracked_config_keys is not None:
            values = {key: values[key] for key in self._tracked_config_keys}
        self.tracker.log_hyperparams(flatten_params(values))
        self.tracker.experiment.log_text(self.tracker.run_id, config_text(config), "config.py")  # type: ignore[attr-defined]

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """An image artifact called ``name`` (``.png`` added when it has no extension: MLflow needs one)."""
        self._ensure_env()
        artifact_file = name if os.path.splitext(name)[1] else f"{name}.png"
        self.tracker.experiment.log_image(self.tracker.run_id, image, artifact_file)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Log the work_dir files with ``artifact_suffix`` as artifacts, then end the run."""
        if not (self._env_initialized and self._tracker is not None):
            return
        work_dir = _config_get(self.cfg, "work_dir")
        if isinstance(work_dir, str) and os.path.isdir(work_dir):
            client, run_id = self.tracker.experiment, self.tracker.run_id  # type: ignore[attr-defined]
            for relative in scan_files(work_dir, self._artifact_suffix, recursive=True):
                client.log_artifact(run_id, os.path.join(work_dir, relative), os.path.dirname(relative))
        super().close()


def flatten_params(values: Mapping[str, Any], parent: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested dicts (and lists of dicts, by index) as ``a.b.0.c`` keys, as MMEngine's MLflow backend logs them."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{parent}{sep}{key}" if parent else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, name, sep))
        elif isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
            for index, item in enumerate(value):
                flat.update(flatten_params(item, f"{name}{sep}{index}", sep))
        else:
            flat[name] = value
    return flat


def _config_get(config: Any, key: str) -> Any:
    if config is None:
        return None
    if isinstance(config, Mapping):
        return config.get(key)
    return getattr(config, key, None)


@VISBACKENDS.register_module()
class DVCLiveVisBackend(TrackerVisBackend):
    """DVCLive, through DVCLive's Lightning ``DVCLiveLogger`` (MMEngine's arguments).

    Args:
        save_dir: The DVCLive directory (``init_kwargs['dir']`` wins).
        artifact_suffix: Files of ``save_dir`` logged as artifacts by :meth:`close`.
        init_kwargs: ``dvclive.Live`` arguments (``save_dvc_exp`` and ``cache_images``
            default to True, as in MMEngine, inside a DVC repository).

    Scalars set ``Live.step`` to MMEngine's step and are written under MMEngine's
    names (the logger's own ``log_metrics`` would renumber step 0 and rename).

    MMEngine parity:
        MMEngine runs ``dvc init`` in the working directory when it is not a Git
        repository; mmhooks writes nothing outside ``save_dir``: outside a DVC
        repository ``save_dvc_exp`` and ``cache_images`` default to False and no
        artifacts are logged (DVCLive can only cache them in a repository).
    """

    logger_name = "DVCLive's DVCLiveLogger"

    def __init__(
        self,
        save_dir: str,
        artifact_suffix: Suffixes = (".json", ".py", "yaml"),
        init_kwargs: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__(save_dir)
        self._artifact_suffix = artifact_suffix
        self.init_kwargs = dict(init_kwargs or {})
        self.init_kwargs.setdefault("dir", save_dir)
        self._in_dvc_repo = find_dvc_repo(os.getcwd()) is not None
        self.init_kwargs.setdefault("save_dvc_exp", self._in_dvc_repo)
        self.init_kwargs.setdefault("cache_images", self._in_dvc_repo)

    def _log_scalars(self, scalars: dict[str, Any], step: int) -> None:
        live = self.tracker.experiment
        live.step = step
        for name, value in scalars.items():
            live.log_metric(name, value)

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """The config as DVC params (arrays and tensors as lists)."""
        self._ensure_env()
        self.tracker.log_hyperparams(_param_like(config_to_dict(config, "DVCLiveVisBackend.add_config")))

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """``{name}.png`` in DVCLive's images (uint8 only)."""
        self._ensure_env()
        if image.dtype != np.uint8:
            raise TypeError(
                f"DVCLiveVisBackend.add_image({name!r}): got dtype {image.dtype}; expected uint8. "
                "Fix: convert with image.astype(np.uint8)."
            )
        self.tracker.experiment.log_image(f"{name}.png", image)

    def close(self) -> None:
        """Log the ``save_dir`` files with ``artifact_suffix`` as artifacts, then end the DVCLive run."""
        if not (self._env_initialized and self._tracker is not None):
            return
        live, root = self.tracker.experiment, str(self._save_dir)
        if self._in_dvc_repo:
            for relative in scan_files(root, self._artifact_suffix, recursive=True):
                live.log_artifact(os.path.join(root, relative))
        super().close()


def find_dvc_repo(start: str) -> Optional[str]:
    """The nearest folder at or above ``start`` that holds a ``.dvc`` directory, or ``None``."""
    folder = os.path.abspath(start)
    while True:
        if os.path.isdir(os.path.join(folder, ".dvc")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _param_like(value: Any) -> Any:
    """Values DVC accepts as params: containers recursively, arrays and tensors as lists."""
    if isinstance(value, Mapping):
        return {key: _param_like(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_param_like(item) for item in value]
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@VISBACKENDS.register_module()
class AimVisBackend(TrackerVisBackend):
    """Aim, through Aim's Lightning ``AimLogger`` (MMEngine's arguments).

    Args:
        save_dir: Names the experiment ``<parent>_<folder>`` of this path, as MMEngine does.
        init_kwargs: ``aim.Run`` arguments (``repo``, ``experiment``, ...).

    Scalars are tracked under MMEngine's names with ``Run.track`` (the logger's
    ``log_metrics`` would strip ``train_``/``val_`` prefixes and drop ``epoch``).
    """

    logger_name = "Aim's AimLogger"

    def __init__(self, save_dir: Optional[str] = None, init_kwargs: Optional[dict[str, Any]] = None) -> None:
        super().__init__(save_dir)
        self.init_kwargs = dict(init_kwargs or {})
        if save_dir is not None:
            parts = os.path.normpath(save_dir).split(os.sep)
            default = f"{parts[-2]}_{parts[-1]}" if len(parts) > 1 else parts[-1]
        else:
            default = datetime.now().strftime("%Y%m%d_%H%M%S")
        self.init_kwargs.setdefault("experiment", default)

    def _log_scalars(self, scalars: dict[str, Any], step: int) -> None:
        run = self.tracker.experiment
        for name, value in scalars.items():
            run.track(value, name=name, step=step)

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        self._ensure_env()
        aim = importlib.import_module("aim")  # the tracker's image type; aim is installed when AimLogger is bound

        self.tracker.experiment.track(aim.Image(image), name=name, step=step)


@VISBACKENDS.register_module()
class CometVisBackend(TrackerVisBackend):
    """Comet, through Lightning's ``CometLogger`` (mmhooks only: MMEngine has no Comet backend).

    Args:
        save_dir: Default ``offline_directory``.
        init_kwargs: ``CometLogger`` arguments (``api_key``, ``workspace``, ``project``,
            ``online``, ``name``, ...); the API key may also come from ``COMET_API_KEY``.

    Comet stores an ``epoch`` key as the experiment's epoch, not as a metric.
    Lightning's ``CometLogger(online=False)`` disables the experiment (nothing is
    kept), so Comet needs an API key to record anything.
    """

    logger_name = "Lightning's CometLogger"

    def __init__(self, save_dir: str, init_kwargs: Optional[dict[str, Any]] = None) -> None:
        super().__init__(save_dir)
        self.init_kwargs = dict(init_kwargs or {})
        self.init_kwargs.setdefault("offline_directory", save_dir)

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        self._ensure_env()
        self.tracker.experiment.log_image(image, name=name, step=step)


@VISBACKENDS.register_module()
class CSVVisBackend(TrackerVisBackend):
    """CSV files, through Lightning's ``CSVLogger`` (mmhooks only: MMEngine has no CSV backend).

    Args:
        save_dir: Directory of ``metrics.csv`` and ``hparams.yaml``.
        flush_logs_every_n_steps: Rows buffered before the file is rewritten.
    """

    logger_name = "Lightning's CSVLogger"

    def __init__(self, save_dir: str, flush_logs_every_n_steps: int = 100) -> None:
        super().__init__(save_dir)
        self.flush_logs_every_n_steps = flush_logs_every_n_steps

    def _log_scalars(self, scalars: dict[str, Any], step: int) -> None:
        numbers = {key: value for key, value in scalars.items() if isinstance(value, (int, float))}
        if len(numbers) < len(scalars):
            skipped = sorted(set(scalars) - set(numbers))
            warnings.warn(f"CSVVisBackend.add_scalars: {skipped} are not numbers and are skipped.", stacklevel=4)
        if numbers:
            self.tracker.log_metrics(numbers, step)


@VISBACKENDS.register_module()
class ClearMLVisBackend(TrackerVisBackend):
    """ClearML: MMEngine's arguments; neither Lightning nor ClearML ships a Lightning logger for it.

    Building a run with it raises a ConfigError that names the alternative
    (ClearML's ``Task.init`` captures TensorBoard scalars automatically).
    """

    logger_name = "a ClearML Lightning logger (none exists)"
    rejects_step_key = True

    def __init__(
        self,
        save_dir: Optional[str] = None,
        init_kwargs: Optional[dict[str, Any]] = None,
        artifact_suffix: Suffixes = (".py", ".pth"),
    ) -> None:
        super().__init__(save_dir)
        self.init_kwargs = dict(init_kwargs or {})
        self._artifact_suffix = artifact_suffix


@VISBACKENDS.register_module()
class NeptuneVisBackend(TrackerVisBackend):
    """Neptune: MMEngine's arguments; Lightning's ``NeptuneLogger`` was retired (Neptune was sunset).

    Building a run with it raises a ConfigError that names the alternatives.
    """

    logger_name = "a Neptune Lightning logger (Lightning retired NeptuneLogger)"
    rejects_step_key = True

    def __init__(self, save_dir: Optional[str] = None, init_kwargs: Optional[dict[str, Any]] = None) -> None:
        super().__init__(save_dir)
        self.init_kwargs = dict(init_kwargs or {})
