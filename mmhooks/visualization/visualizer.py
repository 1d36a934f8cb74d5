"""``Visualizer``: draws on images with matplotlib and fans data out to the vis backends.

Hooks write through ``runner.visualizer`` (``add_scalars(tag, step=...,
file_path=...)``) without knowing where the data goes; task visualizers
(``DetLocalVisualizer`` and friends) subclass it and draw with the
``draw_*`` methods, which keep MMEngine's argument names, defaults, checks
and pixels. Writes and drawing happen on rank zero only. The matplotlib
figure is made on the first drawing call, so a visualizer that only logs
scalars needs neither matplotlib nor memory for a canvas.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np
import torch

from mmhooks.dist import master_only
from mmhooks.errors import ConfigError
from mmhooks.logging.manager import ManagerMixin
from mmhooks.registry import VISBACKENDS, VISUALIZERS
from mmhooks.visualization.utils import (
    DrawArgumentError,
    _cv2,
    add_weighted,
    check_type,
    check_type_and_length,
    color_str2rgb,
    color_val_matplotlib,
    convert_overlay_heatmap,
    img_from_canvas,
    is_noninteractive_backend,
    require_matplotlib,
    resize_image,
    tensor2ndarray,
    value2list,
    warn_cannot_show,
)
from mmhooks.visualization.vis_backend import BaseVisBackend

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

__all__ = ["Visualizer", "share_current_visualizer"]

BackendsCfg = Union[Sequence[Union[Mapping[str, Any], BaseVisBackend]], Mapping[str, Any], BaseVisBackend, None]
Array = Union[np.ndarray, torch.Tensor]
Colors = Union[str, tuple[Any, ...], list[Any]]
Widths = Union[int, float, list[Union[int, float]]]
_SHOW_BACKENDS = ("cv2", "matplotlib")


class DuplicateBackendError(ConfigError, RuntimeError):
    """Two ``vis_backends`` with one name (MMEngine raises ``RuntimeError``, so this is one too)."""


@VISUALIZERS.register_module()
class Visualizer(ManagerMixin):
    """Draw on an image and send visual data to every backend (``LocalVisBackend``, ...).

    Args:
        name: Instance name for :meth:`get_instance` (the runner uses the experiment name).
        image: An initial RGB image for :meth:`set_image`.
        vis_backends: Backend configs (``dict(type='LocalVisBackend')``, an optional ``name``)
            or built backends. A config without ``save_dir`` gets ``{save_dir}/vis_data``.
        save_dir: The run's log directory.
        fig_save_cfg: Keyword arguments of the matplotlib ``Figure`` that is drawn on.
        fig_show_cfg: Keyword arguments of the figure :meth:`show` opens.

    MMEngine parity:
        Same drawing methods, arguments and pixels. Shape and length checks raise
        :class:`~mmhooks.visualization.utils.DrawArgumentError`, which is both a
        ``ValueError`` and the ``AssertionError`` MMEngine raises; backend set-up
        errors are :class:`~mmhooks.errors.ConfigError` (MMEngine: ``TypeError`` /
        ``RuntimeError``). :meth:`show` warns instead of blocking when no window can
        be opened (MMEngine waits forever on a headless machine).

    Example:
        >>> vis = Visualizer("doc-example", image=np.zeros((20, 30, 3), dtype=np.uint8))
        >>> drawn = vis.draw_bboxes(np.array([2, 2, 12, 10])).get_image()
        >>> drawn.shape, drawn.dtype.name, bool(drawn[2, 6].any())
        ((20, 30, 3), 'uint8', True)
    """

    width: int
    height: int
    _default_font_size: float

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
        self._canvas: Optional[tuple[FigureCanvasAgg, Figure, Axes]] = None
        self.manager: Any = None
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
            raise DuplicateBackendError(
                f"vis_backends[{index}].name", name, f"a name not used by another backend ({sorted(self._vis_backends)})",
                "give the backend a unique name=...", "Visualizer",
            )
        self._vis_backends[name] = backend

    @classmethod
    def get_instance(cls, name: str, **kwargs: Any) -> Visualizer:
        """As :meth:`ManagerMixin.get_instance`; the instance also becomes ``Visualizer``'s current one.

        A ``DetLocalVisualizer.get_instance(...)`` is then found by code that
        only knows the base class (``Visualizer.get_current_instance()``), as in
        MMEngine; with MMEngine installed, MMEngine's ``Visualizer`` finds it too.
        """
        instance = super().get_instance(name, **kwargs)
        share_current_visualizer(instance)
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

    # ----------------------------------------------------------------- canvas
    def _figure(self) -> tuple[FigureCanvasAgg, Figure, Axes]:
        """The Agg canvas, figure and axes drawn on; built on first use from ``fig_save_cfg``."""
        if self._canvas is None:
            self._canvas = self._initialize_fig(self.fig_save_cfg)
        return self._canvas

    def _initialize_fig(self, fig_cfg: dict[str, Any]) -> tuple[FigureCanvasAgg, Figure, Axes]:
        """A borderless figure with one axes and its own Agg canvas (no pyplot, no window)."""
        backend_agg = require_matplotlib("matplotlib.backends.backend_agg")
        figure_module = require_matplotlib("matplotlib.figure")
        figure = figure_module.Figure(**fig_cfg)
        axes = figure.add_subplot()
        axes.axis(False)
        figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
        return backend_agg.FigureCanvasAgg(figure), figure, axes

    @property
    def fig_save_canvas(self) -> FigureCanvasAgg:
        return self._figure()[0]

    @property
    def fig_save(self) -> Figure:
        return self._figure()[1]

    @property
    def ax_save(self) -> Axes:
        return self._figure()[2]

    @property
    def dpi(self) -> float:
        return float(self.fig_save.get_dpi())

    @master_only
    def set_image(self, image: np.ndarray) -> None:
        """Start drawing on ``image`` (RGB, cast to ``uint8``); the canvas takes its size."""
        if image is None:
            raise DrawArgumentError("Visualizer.set_image: got None; expected an RGB image. Fix: pass an array.")
        image = np.asarray(image).astype("uint8")
        self._image = image
        self.height, self.width = image.shape[0], image.shape[1]
        self._default_font_size = max(np.sqrt(self.height * self.width) // 90, 10)
        _, figure, axes = self._figure()
        # 1e-2 keeps matplotlib from truncating the size to one pixel less.
        figure.set_size_inches((self.width + 1e-2) / self.dpi, (self.height + 1e-2) / self.dpi)
        axes.cla()
        axes.axis(False)
        axes.imshow(image, extent=(0, self.width, self.height, 0), interpolation="none")

    @master_only
    def get_image(self) -> np.ndarray:
        """The drawn image, RGB ``uint8`` of the size given to :meth:`set_image`."""
        if self._image is None:
            raise DrawArgumentError("Visualizer.get_image: no image is set. Fix: call set_image(image) first.")
        return img_from_canvas(self.fig_save_canvas)

    def _is_position_valid(self, position: np.ndarray) -> bool:
        """Whether every ``[..., (x, y)]`` lies inside the image."""
        x, y = position[..., 0], position[..., 1]
        return bool((x >= 0).all() and (x < self.width).all() and (y >= 0).all() and (y < self.height).all())

    _is_posion_valid = _is_position_valid  # MMEngine's spelling, for subclasses ported from it

    def _require_image(self, method: str) -> None:
        if self._image is None:
            raise DrawArgumentError(f"Visualizer.{method}: no image is set. Fix: call set_image(image) first.")

    def _clamped_widths(self, line_widths: Widths, count: int) -> list[float]:
        """Line widths between 1 and a quarter of the default font size (MMEngine's limits)."""
        widths = [line_widths] * count if isinstance(line_widths, (int, float)) else list(line_widths)
        return [min(max(width, 1), self._default_font_size / 4) for width in widths]

    # ---------------------------------------------------------------- drawing
    @master_only
    def draw_points(
        self,
        positions: Array,
        colors: Colors = "g",
        marker: Optional[str] = None,
        sizes: Optional[Array] = None,
    ) -> Visualizer:
        """Scatter points at ``positions`` (``(2,)`` or ``(N, 2)`` x, y)."""
        self._require_image("draw_points")
        check_type("positions", positions, (np.ndarray, torch.Tensor))
        points = tensor2ndarray(positions)
        if points.ndim == 1:
            points = points[None]
        if points.shape[-1] != 2:
            raise DrawArgumentError(f"The shape of `positions` should be (N, 2), but got {points.shape}")
        self.ax_save.scatter(points[:, 0], points[:, 1], c=color_val_matplotlib(colors), s=sizes, marker=marker)
        return self

    @master_only
    def draw_texts(
        self,
        texts: Union[str, list[str]],
        positions: Array,
        font_sizes: Optional[Union[int, float, list[Union[int, float]]]] = None,
        colors: Colors = "g",
        vertical_alignments: Union[str, list[str]] = "top",
        horizontal_alignments: Union[str, list[str]] = "left",
        font_families: Union[str, list[str]] = "sans-serif",
        bboxes: Optional[Union[dict[str, Any], list[dict[str, Any]]]] = None,
        font_properties: Any = None,
    ) -> Visualizer:
        """Write ``texts`` at ``positions``; each style argument is one value or one per text."""
        self._require_image("draw_texts")
        font_manager = require_matplotlib("matplotlib.font_manager")
        check_type("texts", texts, (str, list))
        text_list = [texts] if isinstance(texts, str) else texts
        count = len(text_list)
        check_type("positions", positions, (np.ndarray, torch.Tensor))
        points = tensor2ndarray(positions)
        if points.ndim == 1:
            points = points[None]
        if points.shape != (count, 2):
            raise DrawArgumentError(f"`positions` should have the shape of ({count}, 2), but got {points.shape}")
        if not self._is_position_valid(points):
            warnings.warn("Warning: The text is out of bounds, the drawn text may not be in the image", UserWarning)
        sizes = self._default_font_size if font_sizes is None else font_sizes
        check_type_and_length("font_sizes", sizes, (int, float, list), count)
        check_type_and_length("colors", colors, (str, tuple, list), count)
        check_type_and_length("vertical_alignments", vertical_alignments, (str, list), count)
        check_type_and_length("horizontal_alignments", horizontal_alignments, (str, list), count)
        check_type_and_length("font_families", font_families, (str, list), count)
        size_list = value2list(sizes, (int, float), count)
        color_list = color_val_matplotlib(value2list(colors, (str, tuple), count))
        vertical = value2list(vertical_alignments, str, count)
        horizontal = value2list(horizontal_alignments, str, count)
        families = value2list(font_families, str, count)
        if font_properties is None:
            properties = [None] * count
        else:
            check_type_and_length("font_properties", font_properties, (font_manager.FontProperties, list), count)
            properties = value2list(font_properties, font_manager.FontProperties, count)
        if bboxes is None:
            boxes: list[Any] = [None] * count
        else:
            check_type_and_length("bboxes", bboxes, (dict, list), count)
            boxes = value2list(bboxes, dict, count)
        for index, (x, y) in enumerate(points.tolist()):
            self.ax_save.text(
                x, y, text_list[index],
                size=size_list[index], bbox=boxes[index],
                verticalalignment=vertical[index], horizontalalignment=horizontal[index],
                family=families[index], fontproperties=properties[index], color=color_list[index],
            )
        return self

    @master_only
    def draw_lines(
        self,
        x_datas: Array,
        y_datas: Array,
        colors: Colors = "g",
        line_styles: Union[str, list[str]] = "-",
        line_widths: Widths = 2,
    ) -> Visualizer:
        """Draw segments: row ``i`` of ``x_datas`` / ``y_datas`` holds segment ``i``'s two x / y values."""
        self._require_image("draw_lines")
        collections = require_matplotlib("matplotlib.collections")
        check_type("x_datas", x_datas, (np.ndarray, torch.Tensor))
        check_type("y_datas", y_datas, (np.ndarray, torch.Tensor))
        xs, ys = tensor2ndarray(x_datas), tensor2ndarray(y_datas)
        if xs.shape != ys.shape:
            raise DrawArgumentError("`x_datas` and `y_datas` should have the same shape")
        if xs.shape[-1] != 2:
            raise DrawArgumentError(f"The shape of `x_datas` should be (N, 2), but got {xs.shape}")
        segments = np.stack((xs.reshape(-1, 2), ys.reshape(-1, 2)), axis=-1)  # (N, 2 points, x|y)
        if not self._is_position_valid(segments):
            warnings.warn("Warning: The line is out of bounds, the drawn line may not be in the image", UserWarning)
        lines = collections.LineCollection(
            segments.tolist(), colors=color_val_matplotlib(colors), linestyles=line_styles, linewidths=line_widths
        )
        self.ax_save.add_collection(lines)
        return self

    @master_only
    def draw_circles(
        self,
        center: Array,
        radius: Array,
        edge_colors: Colors = "g",
        line_styles: Union[str, list[str]] = "-",
        line_widths: Widths = 2,
        face_colors: Colors = "none",
        alpha: Union[float, int] = 0.8,
    ) -> Visualizer:
        """Draw circles at ``center`` (``(2,)`` or ``(N, 2)``) with ``radius`` (``(N,)``)."""
        self._require_image("draw_circles")
        collections = require_matplotlib("matplotlib.collections")
        patches = require_matplotlib("matplotlib.patches")
        check_type("center", center, (np.ndarray, torch.Tensor))
        check_type("radius", radius, (np.ndarray, torch.Tensor))
        centers, radii = tensor2ndarray(center), tensor2ndarray(radius)
        if centers.ndim == 1:
            centers = centers[None]
        if centers.shape != (radii.shape[0], 2):
            raise DrawArgumentError(f"The shape of `center` should be (radius.shape, 2), but got {centers.shape}")
        offsets = np.tile(radii.reshape(-1, 1), (1, 2))
        if not (self._is_position_valid(centers - offsets) and self._is_position_valid(centers + offsets)):
            warnings.warn("Warning: The circle is out of bounds, the drawn circle may not be in the image", UserWarning)
        circles = [patches.Circle(tuple(xy), r) for xy, r in zip(centers.tolist(), radii.tolist())]
        collection = collections.PatchCollection(
            circles,
            alpha=alpha,
            facecolors=color_val_matplotlib(face_colors),
            edgecolors=color_val_matplotlib(edge_colors),
            linewidths=self._clamped_widths(line_widths, len(circles)),
            linestyles=line_styles,
        )
        self.ax_save.add_collection(collection)
        return self

    @master_only
    def draw_bboxes(
        self,
        bboxes: Array,
        edge_colors: Colors = "g",
        line_styles: Union[str, list[str]] = "-",
        line_widths: Widths = 2,
        face_colors: Colors = "none",
        alpha: Union[int, float] = 0.8,
    ) -> Visualizer:
        """Draw boxes given as ``(x1, y1, x2, y2)`` rows (``(4,)`` or ``(N, 4)``), as 4-point polygons."""
        self._require_image("draw_bboxes")
        check_type("bboxes", bboxes, (np.ndarray, torch.Tensor))
        boxes = tensor2ndarray(bboxes)
        if boxes.ndim == 1:
            boxes = boxes[None]
        if boxes.shape[-1] != 4:
            raise DrawArgumentError(f"The shape of `bboxes` should be (N, 4), but got {boxes.shape}")
        if not ((boxes[:, 0] <= boxes[:, 2]).all() and (boxes[:, 1] <= boxes[:, 3]).all()):
            raise DrawArgumentError("`bboxes` must satisfy x1 <= x2 and y1 <= y2, but got " + str(boxes.tolist()))
        if not self._is_position_valid(boxes.reshape(-1, 2, 2)):
            warnings.warn("Warning: The bbox is out of bounds, the drawn bbox may not be in the image", UserWarning)
        x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
        corners = np.stack((x1, y1, x2, y1, x2, y2, x1, y2), axis=-1).reshape(-1, 4, 2)
        return self.draw_polygons(
            list(corners), edge_colors=edge_colors, line_styles=line_styles, line_widths=line_widths,
            face_colors=face_colors, alpha=alpha,
        )

    @master_only
    def draw_polygons(
        self,
        polygons: Union[Array, list[Array]],
        edge_colors: Colors = "g",
        line_styles: Union[str, list[str]] = "-",
        line_widths: Widths = 2,
        face_colors: Colors = "none",
        alpha: Union[int, float] = 0.8,
    ) -> Visualizer:
        """Draw polygons, each an ``(M, 2)`` array of x, y vertices (one array or a list)."""
        self._require_image("draw_polygons")
        collections = require_matplotlib("matplotlib.collections")
        check_type("polygons", polygons, (list, np.ndarray, torch.Tensor))
        edges, faces = color_val_matplotlib(edge_colors), color_val_matplotlib(face_colors)
        polygon_list = [polygons] if isinstance(polygons, (np.ndarray, torch.Tensor)) else polygons
        for polygon in polygon_list:
            if polygon.shape[1] != 2:
                raise DrawArgumentError(
                    f"The shape of each polygon in `polygons` should be (M, 2), but got {polygon.shape}"
                )
        arrays = [tensor2ndarray(polygon) for polygon in polygon_list]
        for array in arrays:
            if not self._is_position_valid(array):
                warnings.warn(
                    "Warning: The polygon is out of bounds, the drawn polygon may not be in the image", UserWarning
                )
        collection = collections.PolyCollection(
            arrays,
            alpha=alpha,
            facecolor=faces,
            linestyles=line_styles,
            edgecolors=edges,
            linewidths=self._clamped_widths(line_widths, len(arrays)),
        )
        self.ax_save.add_collection(collection)
        return self

    @master_only
    def draw_binary_masks(
        self,
        binary_masks: Array,
        colors: Colors = "g",
        alphas: Union[float, list[float]] = 0.8,
    ) -> Visualizer:
        """Blend each boolean mask (``(H, W)`` or ``(N, H, W)``) over the drawn image in its colour."""
        self._require_image("draw_binary_masks")
        check_type("binary_masks", binary_masks, (np.ndarray, torch.Tensor))
        masks = tensor2ndarray(binary_masks)
        if masks.dtype != np.bool_:
            raise DrawArgumentError(f"The dtype of binary_masks should be np.bool_, but got {masks.dtype}")
        image = self.get_image()
        if masks.ndim == 2:
            masks = masks[None]
        if image.shape[:2] != masks.shape[1:]:
            raise DrawArgumentError("`binary_masks` must have the same shape with image")
        count = masks.shape[0]
        check_type_and_length("colors", colors, (str, tuple, list), count)
        rgb_colors = [color_str2rgb(c) if isinstance(c, str) else c for c in value2list(colors, (str, tuple), count)]
        for color in rgb_colors:
            if len(color) != 3 or not all(0 <= channel <= 255 for channel in color):
                raise DrawArgumentError(f"a mask colour must be (r, g, b) with values in [0, 255], but got {color}")
        alpha_list = [alphas] * count if isinstance(alphas, (int, float)) else list(alphas)
        for mask, color, alpha in zip(masks, rgb_colors, alpha_list):
            painted = np.where(mask[..., None], np.asarray(color, dtype=np.uint8), image)
            image = add_weighted(image, 1 - alpha, painted, alpha)
        self.ax_save.imshow(image, extent=(0, self.width, self.height, 0), interpolation="nearest")
        return self

    @staticmethod
    @master_only
    def draw_featmap(
        featmap: torch.Tensor,
        overlaid_image: Optional[np.ndarray] = None,
        channel_reduction: Optional[str] = "squeeze_mean",
        topk: int = 20,
        arrangement: tuple[int, int] = (4, 5),
        resize_shape: Optional[tuple[int, int]] = None,
        alpha: float = 0.5,
    ) -> np.ndarray:
        """An RGB heatmap of a ``(C, H, W)`` feature map, blended over ``overlaid_image`` when given.

        ``channel_reduction`` ``'squeeze_mean'`` / ``'select_max'`` reduce the
        channels to one map; ``None`` with ``topk > 0`` tiles the ``topk``
        channels with the largest sums in an ``arrangement`` (rows, cols) grid;
        ``None`` with ``topk <= 0`` shows a 1- or 3-channel map as it is.
        """
        if not isinstance(featmap, torch.Tensor):
            raise DrawArgumentError(f"`featmap` should be torch.Tensor, but got {type(featmap)}")
        if featmap.ndim != 3:
            raise DrawArgumentError(f"Input dimension must be 3, but got {featmap.ndim}")
        featmap = featmap.detach().cpu()
        if overlaid_image is not None:
            if overlaid_image.ndim == 2:
                overlaid_image = np.repeat(overlaid_image[..., None], 3, axis=-1)
            if overlaid_image.shape[:2] != featmap.shape[1:]:
                warnings.warn(
                    f"Since the spatial dimensions of overlaid_image: {overlaid_image.shape[:2]} and featmap: "
                    f"{featmap.shape[1:]} are not same, the feature map will be interpolated. "
                    "This may cause mismatch problems !",
                    stacklevel=3,
                )
                if resize_shape is None:
                    featmap = _bilinear(featmap, tuple(overlaid_image.shape[:2]))
        if resize_shape is not None:
            featmap = _bilinear(featmap, tuple(resize_shape))
            if overlaid_image is not None:
                overlaid_image = resize_image(overlaid_image, resize_shape[0], resize_shape[1])
        if channel_reduction is not None:
            if channel_reduction not in ("squeeze_mean", "select_max"):
                raise DrawArgumentError(
                    f'Mode only support "squeeze_mean", "select_max", but got {channel_reduction}'
                )
            if channel_reduction == "select_max":
                _, index = torch.topk(featmap.sum(dim=(1, 2)), 1)
                return convert_overlay_heatmap(featmap[index], overlaid_image, alpha)
            return convert_overlay_heatmap(featmap.mean(dim=0), overlaid_image, alpha)
        if topk <= 0:
            if featmap.shape[0] not in (1, 3):
                raise DrawArgumentError(
                    "The input tensor channel dimension must be 1 or 3 when topk is less than 1, but the channel "
                    f"dimension you input is {featmap.shape[0]}, you can use the channel_reduction parameter or "
                    "set topk greater than 0 to solve the error"
                )
            return convert_overlay_heatmap(featmap, overlaid_image, alpha)
        return _featmap_grid(featmap, overlaid_image, topk, arrangement, alpha)

    # ------------------------------------------------------------------- show
    @master_only
    def show(
        self,
        drawn_img: Optional[np.ndarray] = None,
        win_name: str = "image",
        wait_time: float = 0.0,
        continue_key: str = " ",
        backend: str = "matplotlib",
    ) -> Any:
        """Show the drawn image (or ``drawn_img``) in a window until ``continue_key`` or ``wait_time`` s.

        On a machine without a display (matplotlib's Agg backend, OpenCV's
        headless build) it warns and returns at once instead of blocking.
        In a notebook (inline backend) it returns the figure.
        """
        if backend not in _SHOW_BACKENDS:
            raise ValueError(f'backend should be "matplotlib" or "cv2", but got {backend} instead')
        image = self.get_image() if drawn_img is None else drawn_img
        if backend == "cv2":
            return self._show_cv2(image, win_name, wait_time)
        pyplot = require_matplotlib("matplotlib.pyplot")
        current = str(pyplot.get_backend())
        inline = "inline" in current
        if is_noninteractive_backend(current) and not inline:
            warn_cannot_show(f"matplotlib's backend {current!r} cannot open a window")
            return None
        figure = self._show_figure(pyplot, win_name)
        axes = figure.add_subplot()
        axes.axis(False)
        axes.imshow(image)
        figure.canvas.draw()
        if inline:
            return figure
        _wait_for_key(figure, wait_time, continue_key)
        return None

    def _show_figure(self, pyplot: Any, win_name: str) -> Any:
        """The window's figure, reused between calls, cleared, without margins."""
        if self.manager is None:
            self.manager = pyplot.new_figure_manager(num=1, **self.fig_show_cfg)
        try:
            self.manager.set_window_title(win_name)
        except Exception:  # the window was closed by the user: open a new one
            self.manager = pyplot.new_figure_manager(num=1, **self.fig_show_cfg)
            self.manager.set_window_title(win_name)
        figure = self.manager.canvas.figure
        figure.clear()
        figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
        return figure

    def _show_cv2(self, image: np.ndarray, win_name: str, wait_time: float) -> None:
        cv2 = _cv2()
        if cv2 is None:
            warn_cannot_show("OpenCV is not installed")
            return None
        window = str(id(self))
        try:
            cv2.namedWindow(window)
            cv2.setWindowTitle(window, win_name)
            cv2.imshow(window, image)
            cv2.waitKey(int(np.ceil(wait_time * 1000)))
        except cv2.error as err:  # opencv-python-headless has no GUI functions
            warn_cannot_show(f"OpenCV cannot open a window ({str(err).strip().splitlines()[-1]})")
        return None

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
        """Close every backend (flushes TensorBoard files, ends tracker runs)."""
        for backend in self._vis_backends.values():
            backend.close()


def _bilinear(featmap: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """``(C, H, W)`` resized to ``size`` (MMEngine's ``F.interpolate`` call)."""
    return torch.nn.functional.interpolate(featmap[None], size, mode="bilinear", align_corners=False)[0]


def _featmap_grid(
    featmap: torch.Tensor, overlaid_image: Optional[np.ndarray], topk: int, arrangement: tuple[int, int], alpha: float
) -> np.ndarray:
    """The ``topk`` channels with the largest sums, tiled row by row, each labelled with its index."""
    rows, cols = arrangement
    channels, height, width = featmap.shape
    if rows * cols < topk:
        raise DrawArgumentError(
            "The product of row and col in the `arrangement` is less than topk, please set the `arrangement` correctly"
        )
    _, indices = torch.topk(featmap.sum(dim=(1, 2)), min(channels, topk))
    backend_agg = require_matplotlib("matplotlib.backends.backend_agg")
    figure = require_matplotlib("matplotlib.figure").Figure(frameon=False)
    canvas = backend_agg.FigureCanvasAgg(figure)
    figure.subplots_adjust(left=0, right=1, bottom=0, top=1, wspace=0, hspace=0)
    dpi = figure.get_dpi()
    figure.set_size_inches((width * cols + 1e-2) / dpi, (height * rows + 1e-2) / dpi)
    for position, index in enumerate(indices):
        axes = figure.add_subplot(rows, cols, position + 1)
        axes.axis("off")
        axes.text(2, 15, f"channel: {index}", fontsize=10)  # MMEngine labels with the index tensor's repr
        axes.imshow(convert_overlay_heatmap(featmap[index], overlaid_image, alpha))
    return img_from_canvas(canvas)


def _wait_for_key(figure: Any, timeout: float, continue_key: str) -> None:
    """Keep the window responsive until ``continue_key`` is pressed, it is closed, or ``timeout`` s pass."""
    figure.show()
    while True:
        events: list[Any] = []

        def stop(event: Any, _events: list[Any] = events) -> None:
            _events.append(event)
            figure.canvas.stop_event_loop()

        ids = [figure.canvas.mpl_connect(kind, stop) for kind in ("key_press_event", "close_event")]
        try:
            figure.canvas.start_event_loop(timeout)
        finally:
            for cid in ids:
                figure.canvas.mpl_disconnect(cid)
        if not events or getattr(events[0], "name", "") == "close_event":
            return
        if getattr(events[0], "key", None) == continue_key:
            return


def share_current_visualizer(visualizer: Any) -> None:
    """Make ``visualizer`` the current instance of mmhooks' and (if installed) MMEngine's ``Visualizer``.

    Downstream hooks ask ``Visualizer.get_current_instance()`` in their
    constructor, through mmhooks' class or MMEngine's; both must answer the
    run's visualizer, whichever library's class it is.
    """
    name = getattr(visualizer, "instance_name", None) or getattr(visualizer, "_instance_name", None)
    if not name:
        return
    _put_last(Visualizer._instance_dict, name, visualizer)
    mm_visualizer = _mmengine_visualizer_class()
    if mm_visualizer is not None:
        _put_last(mm_visualizer._instance_dict, name, visualizer)


def _put_last(table: Any, name: str, instance: Any) -> None:
    table[name] = instance
    table.move_to_end(name)


def _mmengine_visualizer_class() -> Any:
    """MMEngine's ``Visualizer`` class when MMEngine (and what it imports) is installed, else ``None``."""
    module = sys.modules.get("mmengine.visualization.visualizer")
    if module is None:
        if importlib.util.find_spec("mmengine") is None:
            return None
        try:
            module = importlib.import_module("mmengine.visualization.visualizer")
        except ImportError:  # mmengine-lite without OpenCV or matplotlib
            return None
    return getattr(module, "Visualizer", None)
