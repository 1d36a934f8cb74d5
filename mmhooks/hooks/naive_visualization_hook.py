"""``NaiveVisualizationHook``: send test images with their predictions to the visualizer."""

from __future__ import annotations

import os.path as osp
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F

from mmhooks.hooks.hook import DATA_BATCH, Hook
from mmhooks.registry import HOOKS
from mmhooks.runner.protocol import RunnerLike

__all__ = ["NaiveVisualizationHook", "tensor_to_image"]

_MISSING = object()


def _meta(sample: Any, key: str, default: Any = None) -> Any:
    """``key`` of a data sample that is a dict or a data element with meta attributes."""
    if isinstance(sample, Mapping):
        return sample.get(key, default)
    return getattr(sample, key, default)


def tensor_to_image(
    tensor: torch.Tensor,
    mean: Optional[Sequence[float]] = None,
    std: Optional[Sequence[float]] = None,
    to_bgr: bool = True,
) -> np.ndarray:
    """A ``(C, H, W)`` tensor (C = 1 or 3) as an ``(H, W, C)`` float array, normalisation undone.

    ``to_bgr`` reverses the channel order of three-channel images (inputs are RGB).
    """
    if tensor.ndim != 3 or tensor.shape[0] not in (1, 3):
        raise ValueError(
            f"NaiveVisualizationHook: got an input of shape {tuple(tensor.shape)}; expected (C, H, W) with "
            "C = 1 or 3. Fix: visualize image inputs only."
        )
    channels = tensor.shape[0]
    mean_t = tensor.new_tensor(mean if mean is not None else (0.0,) * channels).view(1, 1, -1)
    std_t = tensor.new_tensor(std if std is not None else (1.0,) * channels).view(1, 1, -1)
    image = (tensor.detach().permute(1, 2, 0) * std_t + mean_t).cpu()
    if to_bgr and channels == 3:
        image = image.flip(-1)
    return np.ascontiguousarray(image.numpy())


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres (what ``cv2.resize`` does by default), without OpenCV."""
    if image.shape[:2] == (height, width):
        return image
    as_tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    resized = F.interpolate(as_tensor, size=(height, width), mode="bilinear", align_corners=False)
    return np.ascontiguousarray(resized[0].permute(1, 2, 0).numpy().astype(image.dtype, copy=False))


def _samples(data_batch: DATA_BATCH, outputs: Optional[Sequence[Any]]) -> Iterator[tuple[torch.Tensor, Any, Any]]:
    """``(input, data_sample, output)`` triples of a test batch.

    Accepts MMEngine's current batch layout, ``{'inputs': ..., 'data_samples': [...]}``,
    and the older sequence of ``{'inputs': ..., 'data_sample': ...}`` dicts.
    """
    outputs = list(outputs) if outputs is not None else []
    if isinstance(data_batch, Mapping):
        inputs = data_batch["inputs"]
        samples = data_batch.get("data_samples") or [None] * len(inputs)
        pairs = list(zip(inputs, samples))
    else:
        pairs = [(item["inputs"], item.get("data_sample")) for item in data_batch or ()]
    for index, (image, sample) in enumerate(pairs):
        if image.ndim == 4:  # a batch of one, as the older layout stored it
            image = image[0]
        yield image, sample, outputs[index] if index < len(outputs) else None


@HOOKS.register_module()
class NaiveVisualizationHook(Hook):
    """Draw every ``interval``-th test batch through ``runner.visualizer.add_datasample``.

    Each input is un-normalised (``img_norm_cfg`` of its data sample), cut back
    to ``scale`` when it was padded (``pad_shape``), and resized to
    ``(ori_width, ori_height)``; the image is named after ``img_path``. Before
    training the model graph goes to ``runner.visualizer.add_graph``.

    Args:
        interval: Visualize every ``interval``-th test iteration.
        draw_gt: Draw the ground truth.
        draw_pred: Draw the prediction.

    MMEngine parity:
        MMEngine marks its version as broken for current data layouts (it zips the
        batch dict's keys, and passes the prediction where ``draw_gt`` goes). This
        one reads both layouts, passes the prediction (which carries the ground
        truth in MMEngine's data-sample convention, else the input's data sample)
        as ``data_sample``, and resizes with PyTorch instead of OpenCV.
    """

    priority = "NORMAL"

    def __init__(self, interval: int = 1, draw_gt: bool = True, draw_pred: bool = True) -> None:
        self._interval = interval
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred

    def before_train(self, runner: RunnerLike) -> None:
        runner.visualizer.add_graph(runner.model, None)

    def after_test_iter(
        self, runner: RunnerLike, batch_idx: int, data_batch: DATA_BATCH = None, outputs: Optional[Sequence[Any]] = None
    ) -> None:
        if not self.every_n_inner_iters(batch_idx, self._interval):
            return
        for image, sample, output in _samples(data_batch, outputs):
            picture = tensor_to_image(image, **dict(_meta(sample, "img_norm_cfg", None) or {}))
            width, height = _meta(sample, "ori_width"), _meta(sample, "ori_height")
            if _meta(sample, "pad_shape", _MISSING) is not _MISSING:
                keep_width, keep_height = _meta(sample, "scale", (width, height))
                picture = picture[:keep_height, :keep_width]
            if width is not None and height is not None:
                picture = _resize(picture, int(width), int(height))
            name = osp.basename(str(_meta(sample, "img_path", f"{batch_idx}.png")))
            runner.visualizer.add_datasample(
                name,
                picture,
                data_sample=output if output is not None else sample,
                draw_gt=self.draw_gt,
                draw_pred=self.draw_pred,
            )
