"""``Visualizer``: fans scalars, configs and images out to the configured backends.

Hooks write through ``runner.visualizer`` (``add_scalars(tag, step=...,
file_path=...)``) without knowing where the data goes. Writes happen on rank
zero only. Drawing helpers (boxes, masks) are task-specific and live in the
downstream libraries, as in MMEngine, which ships them on this class but
leaves ``add_datasample`` to subclasses.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np
import torch

from mmhooks.dist import master_only
from mmhooks.errors import ConfigError
from mmhooks.logging.manager import ManagerMixin
from mmhooks.registry import VISBACKENDS, VISUALIZERS
from mmhooks.visualization.vis_backend import BaseVisBackend

__all__ = ["Visualizer"]

BackendsCfg = Union[Sequence[Union[Mapping[str, Any], BaseVisBackend]], Mapping[str, Any], BaseVisBackend, None]


@VISUALIZERS.register_module()
class Visualizer(ManagerMixin):
    """Send visual data to every backend (``LocalVisBackend``, ``TensorboardVisBackend``, ...).

    Args:
        name: Instance name for :meth:`get_instance` (the runner uses the experiment name).
        image: An initial image for :meth:`set_image`.
        vis_backends: Backend configs (``dict(type='LocalVisBackend')``, an optional ``name``)
            or built backends. A config without ``save_dir`` gets ``{save_dir}/vis_data``.
        save_dir: The run's log directory.
        fig_save_cfg: Accepted for MMEngine compatibility (matplotlib figure options).
        fig_show_cfg: Accepted for MMEngine compatibility.

    MMEngine parity:
        No matplotlib figure is created and the ``draw_*`` helpers are not provided;
        :meth:`get_image` returns the image last given to :meth:`set_image`.

    Example:
        >>> Visualizer("doc-example").get_backend("LocalVisBackend") is None
        True
    """

    def __init__(
        self,
        name: str = "visualizer",
        image: Optional[np.ndarray] = None,
        vis_backends: BackendsCfg = None,
        save_dir: Optional[str] = None,
        fig_save_cfg: Optional[dict[str, Any]] = None,
        fig_show_cfg: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__(name)
        self._dataset_meta: Optional[dict[str, Any]] = None
        self._vis_backends: dict[str, BaseVisBackend] = {}
        self._image: Optional[np.ndarray] = None
        self.fig_save_cfg = fig_save_cfg if fig_save_cfg is not None else {"frameon": False}
        self.fig_show_cfg = fig_show_cfg if fig_show_cfg is not None else {"frameon": False}
        backends_dir = os.path.join(save_dir, "vis_data") if save_dir is not None else None
        for index, backend in enumerate(self._as_list(vis_backends)):
            self._add_backend(index, backend, backends_dir)
        if image is not None:
            self.set_image(image)

    @staticmethod
    def _as_list(vis_backends: BackendsCfg) -> list[Any]:
        if vis_backends is None:
            return []
        if isinstance(vis_backends, (Mapping, BaseVisBackend)):
            return [vis_backends]
        backends = list(vis_backends)
        for index, backend in enumerate(backends):
            if not isinstance(backend, (Mapping, BaseVisBackend)):
                raise ConfigError(
                    f"vis_backends[{index}]", backend, "a dict with 'type' or a built vis backend",
                    "write dict(type='LocalVisBackend').", "Visualizer",
                )
        return backends

    def _add_backend(self, index: int, backend: Any, backends_dir: Optional[str]) -> None:
        name = None
        if isinstance(backend, Mapping):
            cfg = dict(backend)
            name = cfg.pop("name", None)
            cfg.setdefault("save_dir", backends_dir)
            try:
                backend = VISBACKENDS.build(cfg)
            except ConfigError as err:
                raise err.under(f"Visualizer.vis_backends[{index}]") from None
        save_dir_arg = inspect.signature(type(backend).__init__).parameters.get("save_dir")
        if (
            save_dir_arg is not None
            and save_dir_arg.default is inspect.Parameter.empty
            and getattr(backend, "_save_dir", None) is None
        ):
            warnings.warn(
                f"Visualizer.vis_backends[{index}]: {type(backend).__name__} has no save_dir and is skipped. "
                "Fix: pass save_dir to the Visualizer or the backend.",
                stacklevel=3,
            )
            return
        name = name or type(backend).__name__
        if name in self._vis_backends:
            raise ConfigError(
                f"vis_backends[{index}].name", name, f"a name not used by another backend ({sorted(self._vis_backends)})",
                "give the backend a unique name=...", "Visualizer",
            )
        self._vis_backends[name] = backend

    @classmethod
    def get_instance(cls, name: str, **kwargs: Any) -> Visualizer:
        """As :meth:`ManagerMixin.get_instance`; a subclass instance is also found by ``Visualizer``."""
        instance = super().get_instance(name, **kwargs)
        Visualizer._instance_dict[name] = instance
        return instance

    # --------------------------------------------------------------- metadata
    @property
    def dataset_meta(self) -> Optional[dict[str, Any]]:
        """The dataset's ``metainfo`` (class names, palette), set by the runner."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict[str, Any]]) -> None:
        self._dataset_meta = dataset_meta

    def get_backend(self, name: str) -> Optional[BaseVisBackend]:
        """The backend called ``name`` (its class name unless configured), or ``None``."""
        return self._vis_backends.get(name)

    # ----------------------------------------------------------------- images
    @master_only
    def set_image(self, image: np.ndarray) -> None:
        """Keep ``image`` (as ``uint8``) for :meth:`get_image` and drawing subclasses."""
        self._image = np.asarray(image).astype("uint8")
        self.width, self.height = self._image.shape[1], self._image.shape[0]

    @master_only
    def get_image(self) -> np.ndarray:
        """The image last given to :meth:`set_image`."""
        if self._image is None:
            raise ValueError("Visualizer.get_image: no image is set. Fix: call set_image(image) first.")
        return self._image

    # ----------------------------------------------------------------- writes
    @master_only
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the run's config in every backend."""
        for backend in self._vis_backends.values():
            backend.add_config(config, **kwargs)

    @master_only
    def add_graph(self, model: torch.nn.Module, data_batch: Any, **kwargs: Any) -> None:
        """Record the model graph in every backend that supports it."""
        for backend in self._vis_backends.values():
            backend.add_graph(model, data_batch, **kwargs)

    @master_only
    def add_image(self, name: str, image: np.ndarray, step: int = 0) -> None:
        """Record an RGB ``uint8`` image in every backend."""
        for backend in self._vis_backends.values():
            backend.add_image(name, image, step)

    @master_only
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar in every backend."""
        for backend in self._vis_backends.values():
            backend.add_scalar(name, value, step, **kwargs)

    @master_only
    def add_scalars(
        self, scalar_dict: dict[str, Any], step: int = 0, file_path: Optional[str] = None, **kwargs: Any
    ) -> None:
        """Record several scalars at ``step`` in every backend (``file_path``: an extra JSON file)."""
        for backend in self._vis_backends.values():
            backend.add_scalars(scalar_dict, step, file_path, **kwargs)

    @master_only
    def add_datasample(
        self,
        name: str,
        image: np.ndarray,
        data_sample: Any = None,
        draw_gt: bool = True,
        draw_pred: bool = True,
        show: bool = False,
        wait_time: float = 0,
        step: int = 0,
    ) -> None:
        """Draw a data sample; the base class draws nothing, as in MMEngine (task visualizers override it)."""

    def close(self) -> None:
        """Close every backend (flushes TensorBoard files)."""
        for backend in self._vis_backends.values():
            backend.close()
