"""``OptimWrapperDict``: several named optimizer wrappers (GANs, multi-optimizer models) seen as one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.optim.optimizer.optimizer_wrapper import OptimWrapper, ScalarSink

__all__ = ["OptimWrapperDict"]


class OptimWrapperDict(OptimWrapper):
    """A name -> :class:`OptimWrapper` mapping with the wrapper's reporting and state interface.

    The model updates each entry itself (``optim_wrapper['generator'].update_params(loss)``),
    so the update methods of the dict raise. Reporting and state are keyed by
    name: ``get_lr()`` gives ``{'generator.lr': [...], ...}``.

    Args:
        **optim_wrappers: The wrappers, by name.

    Raises:
        ConfigError: A value is not an :class:`OptimWrapper`.

    State:
        ``{name: wrapper.state_dict()}``.

    MMEngine parity:
        Setting ``message_hub``, ``backward_fn`` or ``sync_model`` on the dict
        sets it on every entry, so a backend can wire all of them at once.

    Example:
        >>> net = torch.nn.Linear(2, 1)
        >>> wrappers = OptimWrapperDict(
        ...     gen=OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1)),
        ...     disc=OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.2)))
        >>> wrappers.get_lr()
        {'gen.lr': [0.1], 'disc.lr': [0.2]}
    """

    def __init__(self, **optim_wrappers: OptimWrapper) -> None:  # no super().__init__: there is no optimizer
        for name, wrapper in optim_wrappers.items():
            if not isinstance(wrapper, OptimWrapper):
                raise ConfigError(
                    name, wrapper, "an OptimWrapper instance",
                    "build each entry first, or name a constructor that returns an OptimWrapperDict.",
                    "OptimWrapperDict",
                )
        self.optim_wrappers: dict[str, OptimWrapper] = dict(optim_wrappers)

    # -- update methods: ambiguous for several optimizers, so each entry is called instead
    def update_params(
        self,
        loss: torch.Tensor,
        step_kwargs: dict[str, Any] | None = None,
        zero_kwargs: dict[str, Any] | None = None,
    ) -> None:
        raise NotImplementedError("OptimWrapperDict.update_params: call update_params on each optim_wrapper[name].")

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        raise NotImplementedError("OptimWrapperDict.backward: call backward on each optim_wrapper[name].")

    def step(self, **kwargs: Any) -> None:
        raise NotImplementedError("OptimWrapperDict.step: call step on each optim_wrapper[name].")

    def optim_context(self, model: nn.Module) -> NoReturn:
        raise NotImplementedError("OptimWrapperDict.optim_context: use optim_wrapper[name].optim_context(model).")

    def zero_grad(self, **kwargs: Any) -> None:
        """Zero the gradients of every entry."""
        for wrapper in self.optim_wrappers.values():
            wrapper.zero_grad()

    def initialize_count_status(self, model: nn.Module, cur_iter: int, max_iters: int) -> None:
        """Does nothing: only the model knows which entry each iteration uses (MMEngine's argument names)."""

    # -- settings forwarded to every entry
    @property
    def message_hub(self) -> ScalarSink | None:
        return next((w.message_hub for w in self.optim_wrappers.values()), None)

    @message_hub.setter
    def message_hub(self, hub: ScalarSink | None) -> None:
        for wrapper in self.optim_wrappers.values():
            wrapper.message_hub = hub

    @property
    def backward_fn(self) -> Callable[..., Any] | None:
        return next((w.backward_fn for w in self.optim_wrappers.values()), None)

    @backward_fn.setter
    def backward_fn(self, fn: Callable[..., Any] | None) -> None:
        for wrapper in self.optim_wrappers.values():
            wrapper.backward_fn = fn

    @property
    def sync_model(self) -> Any:
        return next((w.sync_model for w in self.optim_wrappers.values()), None)

    @sync_model.setter
    def sync_model(self, model: Any) -> None:
        for wrapper in self.optim_wrappers.values():
            wrapper.sync_model = model

    # -- reporting and state, keyed by name
    @property
    def param_groups(self) -> dict[str, list[dict[str, Any]]]:  # type: ignore[override]
        """Each entry's ``param_groups``, by name."""
        return {name: wrapper.param_groups for name, wrapper in self.optim_wrappers.items()}

    def get_lr(self) -> dict[str, list[float]]:
        """``{'<name>.base_lr': ..., '<name>.lr': ...}`` for every entry."""
        result: dict[str, list[float]] = {}
        for name, wrapper in self.optim_wrappers.items():
            lrs = wrapper.get_lr()
            if "base_lr" in lrs:
                result[f"{name}.base_lr"] = lrs["base_lr"]
            result[f"{name}.lr"] = lrs["lr"]
        return result

    def get_momentum(self) -> dict[str, list[float]]:
        """``{'<name>.momentum': ...}`` for every entry."""
        return {f"{name}.momentum": w.get_momentum()["momentum"] for name, w in self.optim_wrappers.items()}

    def state_dict(self) -> dict[str, Any]:
        """Each entry's state, by name."""
        return {name: wrapper.state_dict() for name, wrapper in self.optim_wrappers.items()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load each entry's state; every name in ``state_dict`` must be an entry."""
        for name, state in state_dict.items():
            if name not in self.optim_wrappers:
                raise KeyError(
                    f"OptimWrapperDict.load_state_dict: checkpoint has optimizer {name!r}, not among "
                    f"{sorted(self.optim_wrappers)}. Fix: build the same optim_wrapper names as the checkpoint."
                )
            self.optim_wrappers[name].load_state_dict(state)

    # -- mapping interface
    def items(self) -> Iterator[tuple[str, OptimWrapper]]:
        yield from self.optim_wrappers.items()

    def values(self) -> Iterator[OptimWrapper]:
        yield from self.optim_wrappers.values()

    def keys(self) -> Iterator[str]:
        yield from self.optim_wrappers.keys()

    def __getitem__(self, key: str) -> OptimWrapper:
        if key not in self.optim_wrappers:
            raise KeyError(
                f"OptimWrapperDict: no optimizer wrapper named {key!r}; have {sorted(self.optim_wrappers)}. "
                "Fix: check the names your optimizer wrapper constructor returns."
            )
        return self.optim_wrappers[key]

    def __contains__(self, key: object) -> bool:
        return key in self.optim_wrappers

    def __len__(self) -> int:
        return len(self.optim_wrappers)

    def __repr__(self) -> str:
        return "".join(f"name: {name}\n{wrapper!r}" for name, wrapper in self.optim_wrappers.items())
