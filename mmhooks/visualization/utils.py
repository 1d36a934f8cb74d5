"""Helpers of the drawing API: argument checks, colours, heatmaps, canvas pixels.

Same names and behaviour as ``mmengine.visualization.utils``. Mask blending
(MMEngine: ``cv2.addWeighted``) is done with numpy and rounds as OpenCV does
on x86 (a fused multiply-add, then round-half-to-even), so masks equal
MMEngine's pixel for pixel without OpenCV. Feature-map heatmaps and image
resizing use OpenCV when it is installed (then they equal MMEngine's) and
numpy, torch and matplotlib's ``jet`` otherwise (same shape, close colours).
Matplotlib is imported on first use; without it, :func:`require_matplotlib`
names the ``plot`` extra.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

__all__ = [
    "DrawArgumentError",
    "add_weighted",
    "check_length",
    "check_type",
    "check_type_and_length",
    "color_str2rgb",
    "color_val_matplotlib",
    "convert_overlay_heatmap",
    "img_from_canvas",
    "require_matplotlib",
    "tensor2ndarray",
    "value2list",
]

ColorType = Union[str, tuple[Any, ...], list[Any]]


class DrawArgumentError(ValueError, AssertionError):
    """A drawing argument of the right type but the wrong shape, length or value.

    MMEngine checks these with ``assert``; this error is also an
    ``AssertionError`` so code that catches MMEngine's error keeps working,
    and a ``ValueError`` because it is bad input, not a broken invariant.
    """


def require_matplotlib(module: str = "matplotlib") -> ModuleType:
    """Import a matplotlib module, or raise ImportError naming mmhooks' ``plot`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            "Visualizer drawing needs matplotlib, which is not installed. "
            "Fix: pip install 'mmhooks[plot]' (or pip install matplotlib)."
        ) from err


def _cv2() -> Optional[ModuleType]:
    """OpenCV if it is installed (MMEngine's own drawing dependency), else ``None``."""
    try:
        return importlib.import_module("cv2")
    except ImportError:
        return None


def tensor2ndarray(value: Union[np.ndarray, torch.Tensor]) -> np.ndarray:
    """A tensor as a numpy array (detached, on the CPU); arrays pass through."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def value2list(value: Any, valid_type: Union[type, tuple[type, ...]], expand_dim: int) -> Any:
    """``[value] * expand_dim`` when ``value`` is a single ``valid_type``; lists pass through."""
    if isinstance(value, valid_type):
        return [value] * expand_dim
    return value


def check_type(name: str, value: Any, valid_type: Union[type, tuple[type, ...]]) -> None:
    """Raise TypeError (as MMEngine) when ``value`` is not a ``valid_type``."""
    if not isinstance(value, valid_type):
        raise TypeError(f"`{name}` should be {valid_type}  but got {type(value)}")


def check_length(name: str, value: Any, valid_length: int) -> None:
    """A list ``value`` must have at least ``valid_length`` items (one per drawn element)."""
    if isinstance(value, list) and len(value) < valid_length:
        raise DrawArgumentError(
            f"The length of {name} must equal with or greater than {valid_length}, but got {len(value)}"
        )


def check_type_and_length(name: str, value: Any, valid_type: Union[type, tuple[type, ...]], valid_length: int) -> None:
    """:func:`check_type`, then :func:`check_length`."""
    check_type(name, value, valid_type)
    check_length(name, value, valid_length)


def color_val_matplotlib(colors: ColorType) -> ColorType:
    """Matplotlib colours from MMEngine's: names stay, ``(r, g, b)`` in 0-255 become 0-1 floats."""
    if isinstance(colors, str):
        return colors
    if isinstance(colors, tuple):
        if len(colors) != 3 or not all(0 <= channel <= 255 for channel in colors):
            raise DrawArgumentError(f"a colour tuple must be (r, g, b) with values in [0, 255], but got {colors}")
        return tuple(channel / 255 for channel in colors)
    if isinstance(colors, list):
        return [color_val_matplotlib(color) for color in colors]
    raise TypeError(f"Invalid type for color: {type(colors)}")


def color_str2rgb(color: str) -> tuple[int, ...]:
    """A matplotlib colour name as ``(r, g, b)`` in 0-255 (truncated, alpha dropped)."""
    colors = require_matplotlib("matplotlib.colors")
    return tuple(int(channel * 255) for channel in colors.to_rgb(color))


def add_weighted(first: np.ndarray, alpha: float, second: np.ndarray, beta: float) -> np.ndarray:
    """``first * alpha + second * beta`` for uint8 images, rounded as ``cv2.addWeighted``.

    OpenCV computes in float32 with one fused multiply-add and rounds half
    to even; float64 holds the exact product, so one cast reproduces it.
    """
    partial = (second.astype(np.float32) * np.float32(beta)).astype(np.float64)
    total = (first.astype(np.float64) * float(np.float32(alpha)) + partial).astype(np.float32)
    return np.clip(np.rint(total), 0, 255).astype(np.uint8)


def _normalize_to_uint8(feat_map: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 255] and truncate to uint8, as MMEngine's ``cv2.normalize`` call."""
    low, high = float(feat_map.min()), float(feat_map.max())
    scale = 255.0 / (high - low) if high - low > np.finfo(np.float64).eps else 0.0
    if feat_map.dtype == np.float32:  # OpenCV keeps float32 and fuses the multiply-add
        scale32 = np.float32(scale)
        shift = float(np.float32(-low * float(scale32)))
        scaled: np.ndarray = (feat_map.astype(np.float64) * float(scale32) + shift).astype(np.float32)
    else:
        scaled = feat_map.astype(np.float64) * scale - low * scale
    return np.asarray(scaled, dtype=np.uint8)


def _bgr_to_gray(image: np.ndarray) -> np.ndarray:
    """OpenCV's fixed-point BGR -> gray for uint8 (weights 0.114, 0.587, 0.299 in 15 bits)."""
    weights = np.array([3735, 19235, 9798], dtype=np.int64)
    gray: np.ndarray = ((image.astype(np.int64) * weights).sum(axis=-1) + (1 << 14) >> 15).astype(np.uint8)
    return gray


def _jet(gray: np.ndarray) -> np.ndarray:
    """RGB colours of a uint8 map with matplotlib's ``jet`` (close to OpenCV's JET, not equal)."""
    colormaps = require_matplotlib("matplotlib").colormaps
    table: np.ndarray = (colormaps["jet"](np.arange(256))[:, :3] * 255).round().astype(np.uint8)
    return table[gray]  # type: ignore[no-any-return]


def convert_overlay_heatmap(
    feat_map: Union[np.ndarray, torch.Tensor], img: Optional[np.ndarray] = None, alpha: float = 0.5
) -> np.ndarray:
    """A JET heatmap of ``feat_map`` (``(H, W)``, or ``(1|3, H, W)``), blended over ``img`` when given.

    With OpenCV installed this is MMEngine's computation exactly; without it,
    numpy and matplotlib's ``jet`` give an image of the same shape whose
    colours differ slightly.
    """
    if not (feat_map.ndim == 2 or (feat_map.ndim == 3 and feat_map.shape[0] in (1, 3))):
        raise DrawArgumentError(f"feat_map must be (H, W), (1, H, W) or (3, H, W), but got {tuple(feat_map.shape)}")
    array = tensor2ndarray(feat_map)
    if array.ndim == 3:
        array = array.transpose(1, 2, 0)
    cv2 = _cv2()
    if cv2 is not None:
        scaled = np.asarray(cv2.normalize(array, np.zeros(array.shape), 0, 255, cv2.NORM_MINMAX), dtype=np.uint8)
        heat = np.asarray(cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB))
        if img is not None:
            heat = np.asarray(cv2.addWeighted(img, 1 - alpha, heat, alpha, 0))
        return heat
    gray = _normalize_to_uint8(array)
    if gray.ndim == 3:
        gray = gray[..., 0] if gray.shape[-1] == 1 else _bgr_to_gray(gray)
    heat = _jet(gray)
    if img is not None:
        heat = add_weighted(img, 1 - alpha, heat, alpha)
    return heat


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a uint8 image: OpenCV's when installed, else torch's (may differ by a level)."""
    cv2 = _cv2()
    if cv2 is not None:
        return np.asarray(cv2.resize(image, (width, height)))
    tensor = torch.from_numpy(np.ascontiguousarray(image)).float()
    tensor = tensor[None, None] if tensor.ndim == 2 else tensor.permute(2, 0, 1)[None]
    resized = torch.nn.functional.interpolate(tensor, (height, width), mode="bilinear", align_corners=False)[0]
    out = resized[0] if image.ndim == 2 else resized.permute(1, 2, 0)
    return out.round().clamp(0, 255).to(torch.uint8).numpy()


def img_from_canvas(canvas: FigureCanvasAgg) -> np.ndarray:
    """The RGB pixels of an Agg canvas as ``(H, W, 3)`` uint8."""
    buffer, (width, height) = canvas.print_to_buffer()  # type: ignore[no-untyped-call]
    rgba = np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 4)
    return rgba[..., :3].astype(np.uint8)


def is_noninteractive_backend(backend: str) -> bool:
    """Whether a matplotlib backend cannot open a window (Agg, file writers, inline)."""
    name = backend.lower()
    return name in {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"} or "inline" in name


def warn_cannot_show(reason: str) -> None:
    """One warning explaining why :meth:`Visualizer.show` displayed nothing."""
    warnings.warn(
        f"Visualizer.show: {reason}; nothing is displayed. Fix: save the image with add_image() "
        "or get_image(), or run with a display.",
        UserWarning,
        stacklevel=3,
    )

