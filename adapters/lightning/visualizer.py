"""Build ``runner.visualizer``: MMEngine's rules, the run's instance shared, tracker backends bound to loggers.

The visualizer is built through ``get_instance`` (``VISUALIZERS.build``), so
a hook that asks ``Visualizer.get_current_instance()`` in its constructor
gets it. Tracker backends (W&B, MLflow, ...) are bound to their Lightning
loggers here (:mod:`mmhooks.adapters.lightning.loggers`); when the user's
Trainer already has a ``TensorBoardLogger``, hooks' scalars go to it instead
of a second event file.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger

from mmhooks.adapters.lightning.loggers import lightning_loggers
from mmhooks.registry import VISBACKENDS, VISUALIZERS
from mmhooks.visualization.vis_backend import TensorboardVisBackend
from mmhooks.visualization.visualizer import share_current_visualizer

__all__ = ["LightningTensorBoardBackend", "build_visualizer"]

class LightningTensorBoardBackend(TensorboardVisBackend):
    """A TensorBoard backend bound to an existing Lightning ``TensorBoardLogger`` (the user's).

    Added when the user's Trainer logs to TensorBoard, so all scalars land in
    its run directory.
    """

    def __init__(self, logger: TensorBoardLogger) -> None:
        super().__init__(logger.log_dir)
        self.bind(logger)

    def add_graph(self, model: Any, data_batch: Any, **kwargs: Any) -> None:
        """Graphs need a traced input; skipped (Lightning's ``log_graph`` covers it)."""


def build_visualizer(runner: Any, cfg: Any) -> Any:
    """MMEngine's default (a LocalVisBackend under ``log_dir``), a config dict, or a built visualizer.

    The result is the current ``Visualizer`` instance (mmhooks' and MMEngine's),
    and its tracker backends are bound to Lightning loggers
    (:func:`~mmhooks.adapters.lightning.loggers.lightning_loggers` returns them).
    """
    if cfg is not None and not isinstance(cfg, Mapping):
        share_current_visualizer(cfg)
        return cfg
    cfg = dict(cfg) if cfg is not None else dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")])
    cfg.setdefault("type", "Visualizer")
    unique = getattr(runner, "_instance_name", None) or f"mmhooks-{uuid.uuid4().hex[:12]}"
    cfg.setdefault("name", f"{unique}-{runner.experiment_name}")  # get_instance must not return an older run's
    cfg.setdefault("save_dir", runner.log_dir)
    tb_logger = _trainer_tensorboard(runner)
    backends = cfg.get("vis_backends") or []
    if isinstance(backends, Mapping):
        backends = [backends]
    wants_tensorboard = any(_is_tensorboard(b) for b in backends)
    if tb_logger is not None:
        backends = [b for b in backends if not _is_tensorboard(b)]
        backends.append(LightningTensorBoardBackend(tb_logger))
    cfg["vis_backends"] = backends
    if runner.rank != 0:  # only rank zero writes files
        cfg["vis_backends"] = []
    visualizer = VISUALIZERS.build(cfg, path="visualizer")
    share_current_visualizer(visualizer)
    # Binds every tracker backend (errors name visualizer.vis_backends[i]); TensorBoard keeps its own writer
    # unless the Trainer is given the loggers (lightning_loggers binds it then).
    lightning_loggers(visualizer, tensorboard=False)
    visualizer.mmhooks_tensorboard_shared = tb_logger is not None and wants_tensorboard
    return visualizer


def _is_tensorboard(backend: Any) -> bool:
    name = backend.get("type") if isinstance(backend, Mapping) else type(backend).__name__
    if isinstance(name, type):
        name = name.__name__
    return isinstance(name, str) and name.endswith("TensorboardVisBackend")


def _trainer_tensorboard(runner: Any) -> TensorBoardLogger | None:
    trainer = runner.trainer
    if trainer is None:
        return None
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger
    return None


VISBACKENDS.register_module(module=LightningTensorBoardBackend, force=True)
