"""``ApexOptimWrapper``: NVIDIA Apex's mixed precision, for configs that name it.

Apex is not a dependency: without it, building the wrapper raises an
``ImportError`` that names the alternative (``AmpOptimWrapper``, PyTorch's own
mixed precision).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from mmhooks.optim.optimizer.optimizer_wrapper import OptimWrapper
from mmhooks.registry import OPTIM_WRAPPERS

__all__ = ["ApexOptimWrapper"]

_APEX_MISSING = ("ApexOptimWrapper needs NVIDIA Apex (import apex.amp failed). Fix: use "
                 "optim_wrapper=dict(type='AmpOptimWrapper', ...) for PyTorch's mixed precision, or install Apex "
                 "from https://github.com/NVIDIA/apex#linux.")


def _apex_amp() -> Any:
    try:
        return importlib.import_module("apex.amp")
    except ImportError as err:
        raise ImportError(_APEX_MISSING) from err


@OPTIM_WRAPPERS.register_module()
class ApexOptimWrapper(OptimWrapper):
    """Apex ``amp.initialize`` on the first ``optim_context``, ``amp.scale_loss`` in ``backward``.

    Takes MMEngine's arguments (``opt_level``, ``loss_scale``, ``enabled``,
    ``cast_model_type``, ``patch_torch_functions``, ``keep_batchnorm_fp32``,
    ``master_weights``, ``cast_model_outputs``, ``num_losses``, ``verbosity``,
    ``min_loss_scale``, ``max_loss_scale``) and passes them to Apex.

    Raises:
        ImportError: Apex is not installed.
    """

    def __init__(self, opt_level: str = "O1", loss_scale: float | str | None = "dynamic", enabled: bool | None = True,
                 cast_model_type: torch.dtype | None = None, patch_torch_functions: bool | None = None,
                 keep_batchnorm_fp32: bool | str | None = None, master_weights: bool | None = None,
                 cast_model_outputs: torch.dtype | None = None, num_losses: int = 1, verbosity: int = 1,
                 min_loss_scale: float | None = None, max_loss_scale: float | None = 2.0**24, **kwargs: Any) -> None:
        self._amp = _apex_amp()
        super().__init__(**kwargs)
        self._apex_settings = {
            "opt_level": opt_level, "loss_scale": loss_scale, "enabled": enabled, "cast_model_type": cast_model_type,
            "patch_torch_functions": patch_torch_functions, "keep_batchnorm_fp32": keep_batchnorm_fp32,
            "master_weights": master_weights, "cast_model_outputs": cast_model_outputs, "num_losses": num_losses,
            "verbosity": verbosity, "min_loss_scale": min_loss_scale, "max_loss_scale": max_loss_scale,
        }
        for name, value in self._apex_settings.items():
            setattr(self, name, value)
        self._apex_amp_state_dict: dict[str, Any] | None = None

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        with self._amp.scale_loss(loss, self.optimizer) as scaled_loss:
            scaled_loss.backward(**kwargs)
        self._inner_count += 1

    def state_dict(self) -> dict[str, Any]:
        state = self.optimizer.state_dict()
        state["apex_amp"] = self._amp.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the optimizer; Apex's own state is restored once ``amp.initialize`` has run."""
        if "apex_amp" in state_dict:
            if hasattr(self.optimizer, "_amp_stash"):
                self._amp.load_state_dict(state_dict.pop("apex_amp"))
            else:
                self._apex_amp_state_dict = state_dict.pop("apex_amp")
        self.optimizer.load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        with super().optim_context(model):
            if not hasattr(self.optimizer, "_amp_stash"):
                from mmhooks.model.wrappers import is_model_wrapper

                inner = model.module if is_model_wrapper(model) else model
                _, self.optimizer = self._amp.initialize(inner, self.optimizer, **self._apex_settings)
                if self._apex_amp_state_dict is not None:
                    self._amp.load_state_dict(self._apex_amp_state_dict)
                    self._apex_amp_state_dict = None
            yield
