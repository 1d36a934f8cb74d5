"""Data preprocessors: the first stage of ``BaseModel.train_step``/``val_step``.

A preprocessor is an ``nn.Module`` that receives a batch as the dataloader
produced it and returns what ``forward`` takes. It tracks the device of the
model that owns it, so that batches follow the model wherever it is moved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.registry import MODELS

__all__ = ["BaseDataPreprocessor", "ImgDataPreprocessor", "stack_batch"]


def _is_data_element(data: object) -> bool:
    """Duck-typed MMEngine ``BaseDataElement``: it moves with ``.to`` and converts with ``.to_dict``."""
    return callable(getattr(data, "to", None)) and callable(getattr(data, "to_dict", None))


@MODELS.register_module()
class BaseDataPreprocessor(nn.Module):
    """Move a batch to the model's device, leaving its structure unchanged.

    Mappings become ``dict``; lists, tuples and named tuples keep their type;
    tensors and data elements are moved with ``.to(device)``; strings, bytes,
    ``None`` and other objects pass through.

    Args:
        non_blocking: Passed to ``Tensor.to`` so host-to-device copies can overlap compute.

    Example:
        >>> batch = {"inputs": [torch.zeros(2)], "data_samples": None}
        >>> BaseDataPreprocessor()(batch)["inputs"][0].device
        device(type='cpu')
    """

    def __init__(self, non_blocking: bool | None = False) -> None:
        super().__init__()
        self._non_blocking = bool(non_blocking)
        self._device = torch.device("cpu")

    @property
    def device(self) -> torch.device:
        return self._device

    def cast_data(self, data: Any) -> Any:
        """``data`` with every tensor (and data element) moved to :attr:`device`."""
        if isinstance(data, Mapping):
            return {key: self.cast_data(data[key]) for key in data}
        if data is None or isinstance(data, (str, bytes)):
            return data
        if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
            return type(data)(*(self.cast_data(item) for item in data))
        if isinstance(data, Sequence):
            return type(data)(self.cast_data(item) for item in data)  # type: ignore[call-arg]
        if isinstance(data, torch.Tensor) or _is_data_element(data):
            return data.to(self._device, non_blocking=self._non_blocking)
        return data

    def forward(self, data: Any, training: bool = False) -> Any:
        """Move ``data`` to :attr:`device`; subclasses add normalisation or augmentation."""
        return self.cast_data(data)

    def to(self, *args: Any, **kwargs: Any) -> nn.Module:  # type: ignore[override]
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._device = torch.device(device)
        return super().to(*args, **kwargs)

    def cuda(self, device: int | torch.device | None = None) -> nn.Module:  # type: ignore[override]
        # MMEngine parity: like MMEngine, the target is the current CUDA device.
        self._device = torch.device(torch.cuda.current_device())
        return super().cuda()

    def cpu(self) -> nn.Module:  # type: ignore[override]
        self._device = torch.device("cpu")
        return super().cpu()


def stack_batch(tensors: list[torch.Tensor], pad_size_divisor: int = 1, pad_value: float = 0) -> torch.Tensor:
    """Stack same-rank tensors, padding every dimension except the first at the end (right/bottom).

    Each padded size is the batch maximum rounded up to a multiple of ``pad_size_divisor``.

    Example:
        >>> stack_batch([torch.ones(1, 2, 3), torch.ones(1, 3, 2)], pad_size_divisor=4).shape
        torch.Size([2, 1, 4, 4])
    """
    if not isinstance(tensors, list) or not tensors:
        raise ValueError(f"stack_batch.tensors: got {type(tensors).__name__}; expected a non-empty list of tensors.")
    ranks = sorted({tensor.dim() for tensor in tensors})
    if len(ranks) != 1:
        raise ValueError(
            f"stack_batch.tensors: got tensors with dimensions {[t.dim() for t in tensors]}; "
            "expected tensors of one rank. Fix: give every input the same number of dimensions."
        )
    target = [max(tensor.shape[d] for tensor in tensors) for d in range(ranks[0])]
    target = [target[0]] + [math.ceil(size / pad_size_divisor) * pad_size_divisor for size in target[1:]]
    padded = []
    for tensor in tensors:
        pad: list[int] = []
        for dim in reversed(range(1, tensor.dim())):  # F.pad lists the last dimension first
            pad += [0, target[dim] - tensor.shape[dim]]
        padded.append(F.pad(tensor, pad, value=pad_value) if any(pad) else tensor)
    return torch.stack(padded)


@MODELS.register_module()
class ImgDataPreprocessor(BaseDataPreprocessor):
    """Move, channel-swap, normalise, pad and stack image batches.

    ``data["inputs"]`` is either a list of ``(C, H, W)`` tensors (from
    ``pseudo_collate``) or an ``(N, C, H, W)`` tensor (from
    ``default_collate``). The result is a dict whose ``inputs`` is a float
    ``(N, C, H', W')`` tensor and whose ``data_samples`` defaults to ``None``.

    Args:
        mean: Per-channel mean (1 or 3 values), applied after any channel swap; ``None`` skips normalising.
        std: Per-channel standard deviation; given exactly when ``mean`` is.
        pad_size_divisor: Padded height and width are multiples of this.
        pad_value: Value of padded pixels.
        bgr_to_rgb: Reverse the channel order (BGR input).
        rgb_to_bgr: Reverse the channel order (RGB input); not together with ``bgr_to_rgb``.
        non_blocking: See :class:`BaseDataPreprocessor`.

    Raises:
        ValueError: Both channel swaps are set, only one of ``mean``/``std``
            is given, or either does not have 1 or 3 values.

    MMEngine parity:
        MMEngine checks its arguments with ``assert``; here they raise ``ValueError``.
    """

    mean: torch.Tensor  # registered buffers, set when normalising
    std: torch.Tensor

    def __init__(
        self,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        pad_size_divisor: int = 1,
        pad_value: float = 0,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        non_blocking: bool | None = False,
    ) -> None:
        super().__init__(non_blocking)
        if bgr_to_rgb and rgb_to_bgr:
            raise ConfigError(
                "rgb_to_bgr", rgb_to_bgr, "at most one of bgr_to_rgb and rgb_to_bgr", "set only one of them.",
                "ImgDataPreprocessor",
            )
        if (mean is None) != (std is None):
            raise ConfigError(
                "std" if std is None else "mean", None, "mean and std both set or both None",
                "give both mean and std, or neither.", "ImgDataPreprocessor",
            )
        self._enable_normalize = mean is not None
        if mean is not None and std is not None:
            for key, values in (("mean", mean), ("std", std)):
                if len(values) not in (1, 3):
                    raise ConfigError(
                        key, list(values), "1 value (gray) or 3 values (one per channel)",
                        f"give {key} 1 or 3 values.", "ImgDataPreprocessor",
                    )
            self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1), False)
            self.register_buffer("std", torch.tensor(std).view(-1, 1, 1), False)
        self._channel_conversion = bool(bgr_to_rgb or rgb_to_bgr)
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value

    def _normalize(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.mean) / self.std if self._enable_normalize else image

    def forward(self, data: Any, training: bool = False) -> Any:
        data = self.cast_data(data)
        inputs = data["inputs"]
        if isinstance(inputs, Sequence) and inputs and all(isinstance(x, torch.Tensor) for x in inputs):
            images = []
            for image in inputs:
                if self._channel_conversion:
                    image = image[[2, 1, 0], ...]
                image = image.float()  # after the swap: indexing the smaller dtype is cheaper
                if self._enable_normalize and self.mean.shape[0] == 3 and (image.dim() != 3 or image.shape[0] != 3):
                    raise ValueError(
                        f"ImgDataPreprocessor.inputs: got an image of shape {tuple(image.shape)}; expected (3, H, W) "
                        "because mean has 3 values. Fix: give 3-channel images or a 1-value mean and std."
                    )
                images.append(self._normalize(image))
            batch = stack_batch(images, self.pad_size_divisor, self.pad_value)
        elif isinstance(inputs, torch.Tensor):
            if inputs.dim() != 4:
                raise ValueError(
                    f"ImgDataPreprocessor.inputs: got a tensor of shape {tuple(inputs.shape)}; expected an NCHW "
                    "tensor or a list of CHW tensors. Fix: collate images with pseudo_collate or default_collate."
                )
            if self._channel_conversion:
                inputs = inputs[:, [2, 1, 0], ...]
            inputs = self._normalize(inputs.float())
            height, width = inputs.shape[2:]
            pad_h = math.ceil(height / self.pad_size_divisor) * self.pad_size_divisor - height
            pad_w = math.ceil(width / self.pad_size_divisor) * self.pad_size_divisor - width
            batch = F.pad(inputs, (0, pad_w, 0, pad_h), "constant", self.pad_value)
        else:
            raise TypeError(
                f"ImgDataPreprocessor.inputs: got {type(inputs).__name__}; expected a list of image tensors or an "
                "NCHW tensor under data['inputs']. Fix: return dict(inputs=..., data_samples=...) from the dataset."
            )
        data["inputs"] = batch
        data.setdefault("data_samples", None)
        return data
