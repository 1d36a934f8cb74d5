"""``BaseModel``: the MMEngine model protocol that runners and hooks drive.

A model owns a data preprocessor and exposes one ``forward`` with three
modes; ``train_step``, ``val_step`` and ``test_step`` are the only entry
points a loop needs, so the same model runs under MMEngine's runner and under
the Lightning backend.
"""

from __future__ import annotations

import functools
import operator
from abc import abstractmethod
from collections import OrderedDict
from typing import Any, Protocol, cast

import torch
from torch import nn

from mmhooks.model.base_module import BaseModule
from mmhooks.model.data_preprocessor import BaseDataPreprocessor
from mmhooks.registry import MODELS

__all__ = ["BaseModel", "OptimWrapperLike"]


class OptimWrapperLike(Protocol):
    """What ``train_step`` needs from an optimizer wrapper."""

    def optim_context(self, model: nn.Module) -> Any: ...

    def update_params(self, loss: torch.Tensor) -> None: ...


def _is_preprocessor(module: nn.Module) -> bool:
    """Ours or MMEngine's preprocessor (both keep their device in ``_device``)."""
    return isinstance(module, BaseDataPreprocessor) or (
        hasattr(module, "cast_data") and isinstance(getattr(module, "_device", None), torch.device)
    )


class BaseModel(BaseModule):
    """Base class for models trained with ``train_step`` and evaluated with ``val_step``.

    Subclasses implement :meth:`forward`. Moving the model (``to``, ``cuda``,
    ``cpu``) also moves where its data preprocessor sends batches.

    Args:
        data_preprocessor: A module, or a config dict built through ``MODELS``;
            ``None`` gives ``BaseDataPreprocessor()``.
        init_cfg: Weight initialisation config, applied by ``init_weights``
            (see :class:`~mmhooks.model.BaseModule`).

    Raises:
        TypeError: ``data_preprocessor`` is neither a dict nor an ``nn.Module``.

    Example:
        >>> class Net(BaseModel):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = nn.Parameter(torch.ones(1))
        ...     def forward(self, inputs, data_samples=None, mode="tensor"):
        ...         return {"loss_l1": (self.w * inputs - data_samples).abs()}
        >>> loss, log_vars = Net().parse_losses({"loss_l1": torch.tensor([1.0, 3.0]), "acc": torch.tensor(0.5)})
        >>> list(log_vars), float(loss)
        (['loss', 'loss_l1', 'acc'], 2.0)
    """

    def __init__(self, data_preprocessor: dict[str, Any] | nn.Module | None = None,
                 init_cfg: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
        super().__init__(init_cfg)
        if data_preprocessor is None:
            data_preprocessor = dict(type="BaseDataPreprocessor")
        if isinstance(data_preprocessor, nn.Module):
            self.data_preprocessor = data_preprocessor
        elif isinstance(data_preprocessor, dict):
            self.data_preprocessor = MODELS.build(data_preprocessor, path="data_preprocessor")
        else:
            raise TypeError(
                f"{type(self).__name__}.data_preprocessor: got {type(data_preprocessor).__name__}; expected a dict "
                "or an nn.Module. Fix: pass dict(type='BaseDataPreprocessor') or a preprocessor instance."
            )

    @abstractmethod
    def forward(self, inputs: torch.Tensor, data_samples: list[Any] | None = None, mode: str = "tensor") -> Any:
        """Losses (``mode='loss'``, a dict), predictions (``'predict'``, a list) or raw tensors (``'tensor'``)."""

    def train_step(self, data: dict[str, Any] | tuple[Any, ...] | list[Any],
                   optim_wrapper: OptimWrapperLike) -> dict[str, torch.Tensor]:
        """Preprocess, compute losses, update parameters; return the values to log.

        Preprocessing and the forward pass run inside ``optim_wrapper.optim_context``
        (autocast, gradient-accumulation ``no_sync``); the update does not.
        """
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode="loss")
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    def val_step(self, data: dict[str, Any] | tuple[Any, ...] | list[Any]) -> list[Any]:
        """Predictions for one validation batch, as passed to the evaluator."""
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")  # type: ignore[no-any-return]

    def test_step(self, data: dict[str, Any] | tuple[Any, ...] | list[Any]) -> list[Any]:
        """Predictions for one test batch (same as :meth:`val_step`)."""
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")  # type: ignore[no-any-return]

    def parse_losses(self, losses: dict[str, Any]) -> tuple[torch.Tensor, OrderedDict[str, torch.Tensor]]:
        """The loss to optimise and the ordered values to log.

        Each value is reduced with ``.mean()`` (a list of tensors: the sum of
        their means). The loss is the sum of the entries whose name contains
        ``"loss"``; ``log_vars`` holds ``"loss"`` first, then every entry in
        its original order. Nothing is reduced across ranks.

        Raises:
            TypeError: A value is neither a tensor nor a list of tensors.
        """
        entries: list[tuple[str, torch.Tensor]] = []
        for name, value in losses.items():
            if isinstance(value, torch.Tensor):
                # The mean of a 0-d tensor is the tensor: skipping it saves an op and a backward node per step.
                entries.append((name, value if value.dim() == 0 else value.mean()))
            elif isinstance(value, list) and all(isinstance(item, torch.Tensor) for item in value):
                entries.append((name, sum(item.mean() for item in value)))
            else:
                raise TypeError(f"{name} is not a tensor or list of tensors")
        terms = [value for name, value in entries if "loss" in name]
        # MMEngine's sum() starts from 0; 0 + x is x, so adding the terms themselves gives the same bits.
        loss = cast(torch.Tensor, functools.reduce(operator.add, terms) if terms else 0)  # 0 with no loss entry
        return loss, OrderedDict([("loss", loss), *entries])

    def _run_forward(self, data: Any, mode: str) -> Any:
        """Call ``self`` with ``data`` unpacked: a dict as keywords, a list or tuple as positionals."""
        if isinstance(data, dict):
            return self(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self(*data, mode=mode)
        raise TypeError(
            f"{type(self).__name__}.data_preprocessor: returned {type(data).__name__}; expected a dict, list or "
            "tuple to unpack into forward. Fix: return dict(inputs=..., data_samples=...) from the preprocessor."
        )

    def _set_device(self, device: torch.device) -> None:
        for module in self.modules():
            if _is_preprocessor(module):
                cast(Any, module)._device = device  # a preprocessor attribute, not a submodule or buffer

    def to(self, *args: Any, **kwargs: Any) -> nn.Module:  # type: ignore[override]
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._set_device(torch.device(device))
        return super().to(*args, **kwargs)

    def cuda(self, device: int | str | torch.device | None = None) -> nn.Module:  # type: ignore[override]
        if device is None or isinstance(device, int):
            device = torch.device("cuda", index=device)  # type: ignore[arg-type]  # torch accepts index=None at runtime
        self._set_device(torch.device(device))
        return super().cuda(device)  # type: ignore[arg-type]  # Module.cuda also takes a device string at runtime

    def cpu(self) -> nn.Module:  # type: ignore[override]
        self._set_device(torch.device("cpu"))
        return super().cpu()
