"""One training step of an MMEngine model when a backend must run the forward pass itself.

MMEngine's ``BaseModel.train_step`` calls the model's own ``forward``. Under
DDP, MMEngine's ``MMDistributedDataParallel.train_step`` runs the same steps
with the forward going through the DDP wrapper (so gradients are all-reduced)
and the accumulation ``no_sync`` around it; a precision plugin likewise
wraps the forward. :func:`forward_train_step` is that step with the forward
of any wrapper, for backends that hold one (Fabric's module).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

__all__ = ["forward_train_step", "is_backend_aware", "sub_wrappers", "uses_default_train_step"]


def uses_default_train_step(model: Any) -> bool:
    """True when ``model.train_step`` is a BaseModel's (mmhooks' or MMEngine's), not an override."""
    from mmhooks.model.base_model import BaseModel

    bases: list[Any] = [BaseModel]
    mm_base = sys.modules.get("mmengine.model.base_model.base_model")
    if mm_base is not None:
        bases.append(mm_base.BaseModel)
    step = getattr(type(model), "train_step", None)
    return any(step is base.train_step for base in bases)


def forward_train_step(model: Any, forward: Any, data: Any, optim_wrapper: Any,
                       forward_context: Callable[[], AbstractContextManager[Any]] = nullcontext) -> Any:
    """``BaseModel.train_step`` of ``model`` with its forward pass run through ``forward`` (a wrapper of it).

    Preprocessing and the forward run inside ``optim_wrapper.optim_context``
    (``no_sync`` on accumulation-only iterations) and ``forward_context()``
    (a backend's autocast), the update outside, as in MMEngine's
    ``MMDistributedDataParallel.train_step`` with an ``AmpOptimWrapper``.
    Returns the values to log.
    """
    with optim_wrapper.optim_context(model), forward_context():
        data = model.data_preprocessor(data, True)
        if isinstance(data, dict):
            losses = forward(**data, mode="loss")
        elif isinstance(data, (list, tuple)):
            losses = forward(*data, mode="loss")
        else:
            raise TypeError(
                f"{type(model).__name__}.data_preprocessor: returned {type(data).__name__}; expected a dict, list "
                "or tuple to unpack into forward. Fix: return dict(inputs=..., data_samples=...) from the preprocessor."
            )
    loss, log_vars = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    return log_vars


def sub_wrappers(optim_wrapper: Any) -> list[Any]:
    """The single wrappers of ``optim_wrapper`` (those of an ``OptimWrapperDict``, or the wrapper itself)."""
    items = getattr(optim_wrapper, "optim_wrappers", None)
    if isinstance(items, Mapping):
        return list(items.values())
    return [optim_wrapper]


def is_backend_aware(wrapper: Any) -> bool:
    """True for mmhooks' wrappers, whose backward and step a backend can route (``backward_fn``, ``sync_model``).

    A wrapper a downstream constructor returns (MMEngine's ``OptimWrapper``, or a
    subclass with its own ``update_params``) runs as it is.
    """
    from mmhooks.optim import OptimWrapper

    return isinstance(wrapper, OptimWrapper)
