"""``vis_backends`` as Lightning loggers: each tracker backend gets the logger Lightning or the tracker ships.

=============================  =====================================================
``vis_backends`` type          Lightning logger (built, bound, returned)
=============================  =====================================================
``TensorboardVisBackend``      ``lightning.pytorch.loggers.TensorBoardLogger``
``WandbVisBackend``            ``lightning.pytorch.loggers.WandbLogger``
``MLflowVisBackend``           ``lightning.pytorch.loggers.MLFlowLogger``
``CometVisBackend``            ``lightning.pytorch.loggers.CometLogger``
``CSVVisBackend``              ``lightning.pytorch.loggers.CSVLogger``
``DVCLiveVisBackend``          ``dvclive.lightning.DVCLiveLogger``
``AimVisBackend``              ``aim.pytorch_lightning.AimLogger``
``ClearMLVisBackend``          none: ConfigError
``NeptuneVisBackend``          none (Lightning retired NeptuneLogger): ConfigError
``LocalVisBackend``            none needed: it writes MMEngine's files itself
=============================  =====================================================

:func:`lightning_loggers` builds each logger once, binds it to its backend
(the backend decides names and steps as MMEngine's does, the logger writes)
and returns them for ``lightning.Trainer(logger=[...])``, so what a
LightningModule logs with ``self.log`` lands in the same run.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from typing import Any, cast

from lightning.pytorch.loggers import Logger, TensorBoardLogger

from mmhooks.errors import ConfigError, check_keys
from mmhooks.visualization.tracker_backends import (
    AimVisBackend,
    ClearMLVisBackend,
    CometVisBackend,
    CSVVisBackend,
    DVCLiveVisBackend,
    MLflowVisBackend,
    NeptuneVisBackend,
    Tracker,
    TrackerVisBackend,
    WandbVisBackend,
)
from mmhooks.visualization.vis_backend import TensorboardVisBackend

__all__ = ["LOGGER_FACTORIES", "bind_logger", "lightning_loggers"]


def lightning_loggers(visualizer: Any, tensorboard: bool = True) -> list[Logger]:
    """The Lightning loggers the visualizer's backends write through, built and bound on the first call.

    Pass the list to ``lightning.Trainer(logger=...)``; call it before the
    first write (a ``TensorboardVisBackend`` that has opened its own event
    file stays on it and is left out). Backends without a logger
    (``LocalVisBackend``, MMEngine's own backend classes) are not in it; a
    backend whose tracker has no Lightning logger raises ConfigError
    (``visualizer.vis_backends[i].type``) before anything is written.
    ``tensorboard=False`` leaves TensorBoard backends unbound (they then write
    with their own ``SummaryWriter``).

    Example:
        >>> from mmhooks.visualization import Visualizer
        >>> vis = Visualizer("loggers-doc", vis_backends=[dict(type="CSVVisBackend")], save_dir="unused")
        >>> [type(logger).__name__ for logger in lightning_loggers(vis)]
        ['CSVLogger']
    """
    loggers: list[Logger] = []
    backends = getattr(visualizer, "_vis_backends", None) or {}
    for index, backend in enumerate(backends.values()):  # every check first: a refusal leaves no files behind
        if isinstance(backend, TrackerVisBackend) and not backend.is_bound:
            _check(backend, f"visualizer.vis_backends[{index}]")
    for index, backend in enumerate(backends.values()):
        if not tensorboard and isinstance(backend, TensorboardVisBackend) and not backend.is_bound:
            continue
        logger = bind_logger(backend, f"visualizer.vis_backends[{index}]")
        if logger is not None and all(logger is not known for known in loggers):
            loggers.append(logger)
    return loggers


def bind_logger(backend: Any, where: str = "vis_backend") -> Logger | None:
    """The logger ``backend`` writes through (built and bound if it has none yet); ``None`` if it needs none."""
    if isinstance(backend, TensorboardVisBackend):
        if backend.is_bound:
            return backend._tracker  # type: ignore[no-any-return]
        if backend._env_initialized:  # it writes through its own SummaryWriter already
            return None
        tensorboard = TensorBoardLogger(str(backend._save_dir), name="", version="", default_hp_metric=False)
        backend.bind(tensorboard)
        return tensorboard
    if not isinstance(backend, TrackerVisBackend):
        return None
    if backend.is_bound:
        tracker = backend.tracker
        return tracker if isinstance(tracker, Logger) else None
    factory = LOGGER_FACTORIES.get(type(backend)) or _factory_of_base(type(backend))
    logger = factory(backend, where)
    backend.bind(cast(Tracker, logger))  # every concrete Lightning logger has ``experiment``
    return logger


def _factory_of_base(cls: type) -> Callable[[Any, str], Logger]:
    for base in cls.__mro__:
        if base in LOGGER_FACTORIES:
            return LOGGER_FACTORIES[base]
    raise ConfigError(
        "type", cls.__name__, "a vis backend with a Lightning logger (" + ", ".join(_names()) + ")",
        "register a logger factory in mmhooks.adapters.lightning.loggers.LOGGER_FACTORIES.", "visualizer",
    )


def _check(backend: TrackerVisBackend, where: str) -> None:
    """Refuse a backend without a logger, or whose tracker package is missing, before any logger is built."""
    for base in type(backend).__mro__:
        if base in _REFUSED:
            reason, fix = _REFUSED[base]
            raise ConfigError("type", type(backend).__name__, f"a vis backend with a Lightning logger ({reason})", fix,
                              where)
        if base in _PACKAGES:
            package, module = _PACKAGES[base]
            _require(package, module, backend, where)
            return


def _names() -> list[str]:
    return sorted(cls.__name__ for cls in LOGGER_FACTORIES if cls not in (ClearMLVisBackend, NeptuneVisBackend))


def _require(package: str, module: str, backend: Any, where: str) -> None:
    """ConfigError naming the pip package when the tracker is not installed (nothing is written yet)."""
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            "type", type(backend).__name__, f"a backend whose tracker package ({package}) is installed",
            f"pip install {package}", where,
        )


def _wandb(backend: WandbVisBackend, where: str) -> Logger:
    from lightning.pytorch.loggers import WandbLogger

    init = dict(backend.init_kwargs)
    save_dir = init.pop("dir", backend._save_dir)
    return WandbLogger(save_dir=save_dir, **init)


def _mlflow(backend: MLflowVisBackend, where: str) -> Logger:
    from lightning.pytorch.loggers import MLFlowLogger

    with _file_store_allowed(backend.tracking_uri):
        return MLFlowLogger(
            experiment_name=backend.exp_name,
            run_name=backend.run_name,
            tracking_uri=backend.tracking_uri,
            tags=backend.tags,
            save_dir=backend._save_dir,
            artifact_location=backend.artifact_location,
        )


@contextlib.contextmanager
def _file_store_allowed(tracking_uri: str) -> Iterator[None]:
    """Let MLflow >= 3 open MMEngine's default ``file://`` store (it refuses unless opted in).

    MLflow builds and caches the store for a URI once (in the logger's
    client), so the opt-in is set for that moment only and then restored.
    """
    if not tracking_uri.startswith("file:"):
        yield
        return
    previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MLFLOW_ALLOW_FILE_STORE"]
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous


def _comet(backend: CometVisBackend, where: str) -> Logger:
    from lightning.pytorch.loggers import CometLogger

    return CometLogger(**backend.init_kwargs)


def _csv(backend: CSVVisBackend, where: str) -> Logger:
    from lightning.pytorch.loggers import CSVLogger

    return CSVLogger(
        str(backend._save_dir), name="", version="", flush_logs_every_n_steps=backend.flush_logs_every_n_steps
    )


def _dvclive(backend: DVCLiveVisBackend, where: str) -> Logger:
    dvclive_lightning = importlib.import_module("dvclive.lightning")
    logger: Logger = dvclive_lightning.DVCLiveLogger(run_name=None, **backend.init_kwargs)
    return logger


_AIM_RUN_KEYS = (
    "capture_terminal_logs", "experiment", "log_system_params", "repo", "run_hash", "run_name", "system_tracking_interval",
)


def _aim(backend: AimVisBackend, where: str) -> Logger:
    check_keys(f"{where}.init_kwargs", backend.init_kwargs, _AIM_RUN_KEYS, "an aim.Run argument AimLogger accepts")
    init = dict(backend.init_kwargs)
    init.setdefault("log_system_params", False)  # aim.Run's default (MMEngine opens a plain Run)
    aim_lightning = importlib.import_module("aim.pytorch_lightning")
    logger: Logger = aim_lightning.AimLogger(**init)
    return logger


def _refuse(backend: Any, where: str) -> Logger:
    _check(backend, where)
    raise AssertionError("unreachable: _check refuses every backend in _REFUSED")  # pragma: no cover


_REFUSED: dict[type, tuple[str, str]] = {
    ClearMLVisBackend: (
        "ClearML ships none",
        "use dict(type='TensorboardVisBackend') and call clearml.Task.init() in your script: ClearML records "
        "TensorBoard scalars by itself.",
    ),
    NeptuneVisBackend: (
        "Lightning retired NeptuneLogger when Neptune was sunset",
        "use WandbVisBackend, MLflowVisBackend or TensorboardVisBackend.",
    ),
}
# pip package and import name of each tracker, checked before any logger is built
_PACKAGES: dict[type, tuple[str, str]] = {
    WandbVisBackend: ("wandb", "wandb"),
    MLflowVisBackend: ("mlflow", "mlflow"),
    CometVisBackend: ("comet_ml", "comet_ml"),
    DVCLiveVisBackend: ("dvclive", "dvclive"),
    AimVisBackend: ("aim", "aim"),
}
LOGGER_FACTORIES: dict[type, Callable[[Any, str], Logger]] = {
    WandbVisBackend: _wandb,
    MLflowVisBackend: _mlflow,
    CometVisBackend: _comet,
    CSVVisBackend: _csv,
    DVCLiveVisBackend: _dvclive,
    AimVisBackend: _aim,
    ClearMLVisBackend: _refuse,
    NeptuneVisBackend: _refuse,
}
