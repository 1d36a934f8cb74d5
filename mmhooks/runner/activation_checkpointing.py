"""``turn_on_activation_checkpointing``: recompute named submodules' activations in the backward pass."""

from __future__ import annotations

import functools
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = ["turn_on_activation_checkpointing"]


def _checkpointed(forward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(forward)
    def wrapper(*args: Any) -> Any:
        return checkpoint(forward, *args, use_reentrant=False)

    return wrapper


def turn_on_activation_checkpointing(model: nn.Module, modules: list[str] | str) -> None:
    """Wrap the ``forward`` of each submodule named in ``modules`` (dotted paths, e.g. ``'backbone.layer1'``).

    Saves memory: their activations are not stored but recomputed during
    backward. Positional arguments only, as in MMEngine.

    MMEngine parity:
        Uses torch's non-reentrant checkpointing. MMEngine leaves the choice to
        torch, whose reentrant default gives the wrapped module's parameters no
        gradient when the module's input does not require one (a frozen stem).
    """
    for name in [modules] if isinstance(modules, str) else modules:
        module = attrgetter(name)(model)
        module.forward = _checkpointed(module.forward)
