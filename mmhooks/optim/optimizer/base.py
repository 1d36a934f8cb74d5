"""``BaseOptimWrapper``: the abstract interface of an optimizer wrapper (MMEngine's class of that name).

Custom wrappers (DeepSpeed's, a ColossalAI one) subclass it; mmhooks'
:class:`~mmhooks.optim.OptimWrapper` is registered as a virtual subclass, so
``isinstance(wrapper, BaseOptimWrapper)`` holds for every mmhooks wrapper.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

import torch
from torch.optim import Optimizer

__all__ = ["BaseOptimWrapper"]


class BaseOptimWrapper(metaclass=ABCMeta):
    """An optimizer behind ``update_params``/``backward``/``zero_grad``/``step``, with its state and lr.

    With several parameter groups, ``base_param_settings`` is a pseudo group
    holding the optimizer's defaults; schedulers move it too, so the logged
    ``base_lr`` follows the schedule.

    Args:
        optimizer: The wrapped optimizer.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_param_settings: dict[str, Any] | None = None
        if len(optimizer.param_groups) > 1:
            self.base_param_settings = {"params": torch.tensor([0.0], dtype=torch.float), **optimizer.defaults}

    @abstractmethod
    def update_params(self, *args: Any, **kwargs: Any) -> None:
        """Backward, step and zero the gradients as the wrapper's policy says."""

    @abstractmethod
    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Back-propagate ``loss``."""

    @abstractmethod
    def zero_grad(self, **kwargs: Any) -> None:
        """Zero the gradients."""

    @abstractmethod
    def step(self, **kwargs: Any) -> None:
        """Step the optimizer."""

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, plus ``base_param_settings`` when there is one."""
        state = self.optimizer.state_dict()
        if self.base_param_settings is not None:
            state["base_param_settings"] = self.base_param_settings
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (``base_param_settings`` is taken out of it)."""
        settings = state_dict.pop("base_param_settings", None)
        if settings is not None:
            self.base_param_settings = settings
        self.optimizer.load_state_dict(state_dict)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The optimizer's groups, plus ``base_param_settings`` when there is one."""
        groups = self.optimizer.param_groups
        return groups + [self.base_param_settings] if self.base_param_settings is not None else groups

    @property
    def defaults(self) -> dict[str, Any]:
        return self.optimizer.defaults

    def get_lr(self) -> dict[str, list[float]]:
        """``{'lr': [each group's lr]}``, with ``'base_lr'`` when there are several groups."""
        result: dict[str, list[float]] = {}
        if self.base_param_settings is not None:
            result["base_lr"] = [self.base_param_settings["lr"]]
        result["lr"] = [group["lr"] for group in self.optimizer.param_groups]
        return result

    def get_momentum(self) -> dict[str, list[float]]:
        """``{'momentum': [...]}``: each group's momentum, or first Adam beta, or 0."""
        values = []
        for group in self.optimizer.param_groups:
            if "momentum" in group:
                values.append(group["momentum"])
            elif "betas" in group:
                values.append(group["betas"][0])
            else:
                values.append(0)
        return {"momentum": values}


def _register_mmhooks_wrappers() -> None:
    from mmhooks.optim.optimizer.optimizer_wrapper import OptimWrapper

    BaseOptimWrapper.register(OptimWrapper)


_register_mmhooks_wrappers()
