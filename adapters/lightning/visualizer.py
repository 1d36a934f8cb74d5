"""Build ``runner.visualizer``; scalars go to the Trainer's own TensorBoardLogger when it has one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger

from mmhooks.registry import VISBACKENDS, VISUALIZERS
from mmhooks.visualization.vis_backend import BaseVisBackend

__all__ = ["LightningTensorBoardBackend", "build_visualizer"]


class LightningTensorBoardBackend(BaseVisBackend):
    """A vis backend writing through a Lightning ``TensorBoardLogger``'s ``SummaryWriter``.

    Used instead of a second event writer when the user's Trainer already logs
    to TensorBoard, so all scalars land in one run directory.
    """

    def __init__(self, logger: TensorBoardLogger) -> None:
        super().__init__(logger.log_dir)
        self._logger = logger

    def _init_env(self) -> None:
        """The logger owns its writer."""

    @property
    def experiment(self) -> Any:
        return self._logger.experiment

    def add_config(self, config: Any, **kwargs: Any) -> None:
        text = getattr(config, "pretty_text", None)
        self.experiment.add_text("config", text if text is not None else repr(config))

    def add_graph(self, model: Any, data_batch: Any, **kwargs: Any) -> None:
        """Graphs need a traced input; skipped (Lightning's ``log_graph`` covers it)."""

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs: Any) -> None:
        self.experiment.add_image(name, image, step, dataformats="HWC")

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        self.experiment.add_scalar(name, value, step)

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0, file_path: str | None = None, **kwargs: Any) -> None:
        for name, value in scalar_dict.items():
            if isinstance(value, (int, float)) or hasattr(value, "item"):
                self.experiment.add_scalar(name, value, step)

    def close(self) -> None:
        self.experiment.flush()


def build_visualizer(runner: Any, cfg: Any) -> Any:
    """MMEngine's default (a LocalVisBackend under ``log_dir``), a config dict, or a built visualizer."""
    if cfg is not None and not isinstance(cfg, Mapping):
        return cfg
    cfg = dict(cfg) if cfg is not None else dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")])
    cfg.setdefault("type", "Visualizer")
    cfg.setdefault("name", f"{runner._instance_name}-{runner.experiment_name}")
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
