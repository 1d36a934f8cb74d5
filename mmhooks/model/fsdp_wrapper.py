"""``MMFullyShardedDataParallel``: torch's FSDP with ``train_step``/``val_step``/``test_step`` and config-style arguments.

mmhooks' Runner shards through Lightning's FSDP strategy; this class is for
code that wraps a model itself and for configs naming MMEngine's wrapper.
Arguments may be given as in a config: strategy and prefetch names, ``True``
for CPU offload, dtype names in ``mixed_precision``, ``FUNCTIONS`` names (or
dotted paths, or ``dict(type=..., **kwargs)``) for ``auto_wrap_policy`` and
``param_init_fn``, names for ``ignored_modules``/``ignored_parameters``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.distributed.fsdp import BackwardPrefetch, CPUOffload, MixedPrecision, ShardingStrategy
from torch.distributed.fsdp import FullyShardedDataParallel as _FSDP

from mmhooks.registry import FUNCTIONS, MODEL_WRAPPERS

__all__ = ["MMFullyShardedDataParallel"]


def _function(value: Any, name: str) -> Callable[..., Any] | None:
    """A registered function from its name, ``dict(type=name, **kwargs)`` (bound) or itself."""
    if value is None or callable(value) and not isinstance(value, (str, dict)):
        return value
    if isinstance(value, str):
        found = FUNCTIONS.get(value)
        if found is None:
            raise ValueError(f"`{name}` is not registered!")
        return found  # type: ignore[no-any-return]
    if isinstance(value, dict):
        kwargs = dict(value)
        target = kwargs.pop("type")
        found = FUNCTIONS.get(target) if isinstance(target, str) else target
        if found is None:
            raise ValueError(f"`{name}` is not registered!")
        return functools.partial(found, **kwargs)
    raise TypeError(f"`{name}` should be a str, a callable, a dict or None, but has type {type(value)}")


def _dtype(value: Any) -> torch.dtype | None:
    if value is None or isinstance(value, torch.dtype):
        return value
    if isinstance(value, str):
        return getattr(torch, value)  # type: ignore[no-any-return]
    raise TypeError(f"`dtype` should be `None`, `str` or `torch.dtype`, but has type {type(value)}")


def _enum(value: Any, enum: Any, name: str) -> Any:
    if isinstance(value, str):
        return enum[value]
    if value is None or isinstance(value, enum):
        return value
    raise TypeError(f"`{name}` must be a str or {enum.__name__}, but got {value!r}")


def _named(module: nn.Module, names: Iterable[Any] | None, kind: str) -> list[Any] | None:
    """Submodules (``kind='modules'``) or parameters picked by name; objects pass through."""
    if names is None:
        return None
    items = list(names)
    table = dict(module.named_modules() if kind == "modules" else module.named_parameters())
    items = [table[item] if isinstance(item, str) else item for item in items]
    expected = nn.Module if kind == "modules" else nn.Parameter
    if not all(isinstance(item, expected) for item in items):
        raise TypeError(f"`ignored_{kind}` should be `None`, names or {expected.__name__}s, got {names!r}")
    return items


@MODEL_WRAPPERS.register_module()
class MMFullyShardedDataParallel(_FSDP):
    """Fully sharded data parallel over an MMEngine-style model (needs a process group).

    Args:
        module: The model (``data_preprocessor``, ``parse_losses``, ``forward(mode=...)``).
        sharding_strategy: A ``ShardingStrategy`` or its name (``'FULL_SHARD'``...).
        cpu_offload: ``True``/``False`` or a ``CPUOffload``.
        auto_wrap_policy: A callable, a ``FUNCTIONS`` name or ``dict(type=..., **kwargs)``.
        backward_prefetch: A ``BackwardPrefetch`` or its name (``'BACKWARD_PRE'``...).
        mixed_precision: A ``MixedPrecision`` or a dict of it, dtypes as names (``'float16'``).
        param_init_fn: As ``auto_wrap_policy``.
        use_orig_params: torch's argument (True, as MMEngine's default).
        **kwargs: torch's other arguments; ``ignored_modules``/``ignored_parameters`` may be names.

    Raises:
        TypeError: an argument of the wrong kind.
        ValueError: a function name that is not registered.
    """

    def __init__(self, module: nn.Module, process_group: Any = None, sharding_strategy: Any = None,
                 cpu_offload: bool | CPUOffload | None = None, auto_wrap_policy: Any = None,
                 backward_prefetch: Any = None, mixed_precision: dict[str, Any] | MixedPrecision | None = None,
                 param_init_fn: Any = None, use_orig_params: bool = True, **kwargs: Any) -> None:
        if isinstance(cpu_offload, bool):
            cpu_offload = CPUOffload(offload_params=cpu_offload)
        if not (cpu_offload is None or isinstance(cpu_offload, CPUOffload)):
            raise TypeError(f"`cpu_offload` should be `None`, `bool` or `CPUOffload`, but has type "
                            f"{type(cpu_offload)}")
        if isinstance(mixed_precision, dict):
            mixed_precision = MixedPrecision(**{**mixed_precision, **{
                key: _dtype(mixed_precision.get(key)) for key in ("param_dtype", "reduce_dtype", "buffer_dtype")}})
        elif not (mixed_precision is None or isinstance(mixed_precision, MixedPrecision)):
            raise TypeError(f"`mixed_precision` should be `None`, `dict` or `MixedPrecision`, but has type "
                            f"{type(mixed_precision)}")
        for key, kind in (("ignored_modules", "modules"), ("ignored_parameters", "parameters")):
            if key in kwargs:
                kwargs[key] = _named(module, kwargs[key], kind)
        super().__init__(
            module=module, process_group=process_group,
            sharding_strategy=_enum(sharding_strategy, ShardingStrategy, "sharding_strategy"),
            auto_wrap_policy=_function(auto_wrap_policy, "auto_wrap_policy"), cpu_offload=cpu_offload,
            backward_prefetch=_enum(backward_prefetch, BackwardPrefetch, "backward_prefetch"),
            mixed_precision=mixed_precision, param_init_fn=_function(param_init_fn, "param_init_fn"),
            use_orig_params=use_orig_params, **kwargs)

    def train_step(self, data: Any, optim_wrapper: Any) -> dict[str, Any]:
        """Preprocess, forward in ``loss`` mode through FSDP, update; return the log variables."""
        inner: Any = self.module
        with optim_wrapper.optim_context(self):
            data = inner.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode="loss")
        parsed_loss, log_vars = inner.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        return dict(log_vars)

    def val_step(self, data: Any) -> Any:
        inner: Any = self.module
        return self._run_forward(inner.data_preprocessor(data, False), mode="predict")

    def test_step(self, data: Any) -> Any:
        inner: Any = self.module
        return self._run_forward(inner.data_preprocessor(data, False), mode="predict")

    def _run_forward(self, data: Any, mode: str) -> Any:
        if isinstance(data, dict):
            return self(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self(*data, mode=mode)
        raise TypeError(f"Output of `data_preprocessor` should be list, tuple or dict, but got {type(data)}")
