"""``AmpOptimWrapper``: mixed precision (autocast plus a gradient scaler) on top of ``OptimWrapper``.

On its own it scales losses with a ``GradScaler`` and autocasts inside
``optim_context``, as MMEngine does. An execution backend that owns mixed
precision itself (Lightning's ``precision='16-mixed'``) reads
:attr:`AmpOptimWrapper.precision`, hands it to the trainer and sets
``use_backend_precision``, after which the wrapper neither scales nor casts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.optim.optimizer.optimizer_wrapper import OptimWrapper
from mmhooks.registry import OPTIM_WRAPPERS

__all__ = ["AmpOptimWrapper"]

_VALID_DTYPES = ("bfloat16", "float16", "float32", "float64")

# Lightning's precision string for each autocast dtype.
_LIGHTNING_PRECISION = {
    torch.float16: "16-mixed",
    torch.bfloat16: "bf16-mixed",
    torch.float32: "32-true",
    torch.float64: "64-true",
}


def _device_type() -> str:
    """The device autocast and the scaler work on: CUDA when present, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _make_scaler(device: str, use_fsdp: bool, **kwargs: Any) -> Any:
    """A ``GradScaler`` (``ShardedGradScaler`` under FSDP) for ``device``."""
    if use_fsdp:
        from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

        return ShardedGradScaler(device=device, **kwargs)
    amp_scaler = getattr(torch.amp, "GradScaler", None)
    if amp_scaler is not None:
        return amp_scaler(device, **kwargs)
    return torch.cuda.amp.GradScaler(**kwargs)  # torch < 2.3


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` for automatic mixed precision.

    Args:
        loss_scale: ``'dynamic'`` for a default ``GradScaler``; a number for
            a fixed scale (the initial scale, kept by every update); or a dict
            of ``GradScaler`` keyword arguments.
        dtype: Autocast dtype: ``None`` (float16 on CUDA, bfloat16 on the
            CPU), a name in ``('bfloat16', 'float16', 'float32', 'float64')``
            or a ``torch.dtype``.
        use_fsdp: Use ``ShardedGradScaler``, as FullyShardedDataParallel needs.
        **kwargs: :class:`OptimWrapper` arguments (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).

    Attributes:
        use_backend_precision: When ``True`` the backend does the loss
            scaling, unscaling and autocast (Lightning's precision plugin):
            backward passes the plain loss to ``backward_fn``, ``step`` does
            not unscale, and ``optim_context`` does not autocast. The backend
            then clips through :meth:`clip_gradients` after unscaling, and may
            replace ``loss_scaler`` with its own scaler so that checkpoints
            keep the live scale.

    Raises:
        ConfigError: A ``loss_scale`` or ``dtype`` of the wrong kind.

    State:
        :class:`OptimWrapper` state plus ``loss_scaler`` (the scaler's state).

    MMEngine parity:
        MMEngine asserts a GPU; here the CPU is accepted too (bfloat16
        autocast and a CPU ``GradScaler``) so that configs and tests run
        anywhere. An integer ``loss_scale`` is taken as a float; MMEngine
        rejects it.

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> wrapper = AmpOptimWrapper(dtype="bfloat16", optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        >>> wrapper.precision
        'bf16-mixed'
    """

    #: MMEngine's tuple, in MMEngine's order.
    valid_dtypes = ("float16", "bfloat16", "float32", "float64")

    def __init__(
        self,
        loss_scale: str | float | dict[str, Any] = "dynamic",
        dtype: str | torch.dtype | None = None,
        use_fsdp: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = type(self).__name__
        self.device_type = _device_type()
        self._scale_update_param: float | None = None
        if loss_scale == "dynamic":
            self.loss_scaler = _make_scaler(self.device_type, use_fsdp)
        elif isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
            self._scale_update_param = float(loss_scale)
            self.loss_scaler = _make_scaler(self.device_type, use_fsdp, init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            self.loss_scaler = _make_scaler(self.device_type, use_fsdp, **loss_scale)
        else:
            raise ConfigError(
                "loss_scale", loss_scale, "'dynamic', a number or a dict of GradScaler arguments",
                "use loss_scale='dynamic' or a fixed scale such as 512.0.", where,
            )
        if isinstance(dtype, str):
            if dtype not in _VALID_DTYPES:
                raise ConfigError(
                    "dtype", dtype, f"None, a torch.dtype or one of {list(_VALID_DTYPES)}",
                    "use dtype='float16' or dtype='bfloat16'.", where,
                )
            dtype = cast(torch.dtype, getattr(torch, dtype))
        elif dtype is not None and not isinstance(dtype, torch.dtype):
            raise ConfigError(
                "dtype", dtype, f"None, a torch.dtype or one of {list(_VALID_DTYPES)}",
                "use dtype='float16' or dtype='bfloat16'.", where,
            )
        self.cast_dtype: torch.dtype | None = dtype
        self.use_backend_precision = False

    @property
    def autocast_dtype(self) -> torch.dtype:
        """The dtype autocast runs in: ``dtype``, or the device default (float16 on CUDA, bfloat16 on CPU)."""
        if self.cast_dtype is not None:
            return self.cast_dtype
        return torch.bfloat16 if self.device_type == "cpu" else torch.float16

    @property
    def precision(self) -> str:
        """The Lightning ``Trainer(precision=...)`` string this wrapper's autocast dtype corresponds to."""
        return _LIGHTNING_PRECISION[self.autocast_dtype]

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Back-propagate the scaled loss (the plain loss when the backend scales) and count the iteration."""
        if not self.use_backend_precision:
            loss = self.loss_scaler.scale(loss)
        self._run_backward(loss, **kwargs)
        self._inner_count += 1

    def step(self, **kwargs: Any) -> None:
        """Unscale and clip, then step through the scaler and update the scale."""
        if self.use_backend_precision:
            self.optimizer.step(**kwargs)  # the backend unscales, clips (clip_gradients) and steps
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict[str, Any]:
        """:meth:`OptimWrapper.state_dict` plus ``loss_scaler``."""
        state = super().state_dict()
        state["loss_scaler"] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load the optimizer state and, when present, the scaler state."""
        state = dict(state_dict)
        scaler_state = state.pop("loss_scaler", None)
        if scaler_state is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """:meth:`OptimWrapper.optim_context` plus autocast (unless the backend owns precision)."""
        with super().optim_context(model):
            if self.use_backend_precision:
                yield
            else:
                with torch.autocast(device_type=self.device_type, dtype=self.autocast_dtype):
                    yield
