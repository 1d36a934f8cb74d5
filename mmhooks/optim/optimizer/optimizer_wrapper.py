"""``OptimWrapper``: one interface for backward, gradient accumulation, clipping and the optimizer step.

Models written for MMEngine call ``optim_wrapper.update_params(loss)`` from
their ``train_step``; this class gives that call the same meaning outside
MMEngine, and exposes two hooks (``backward_fn``, ``sync_model``) through
which an execution backend such as Lightning takes over backward and
gradient synchronisation.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any, Protocol

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim import Optimizer

from mmhooks.errors import ConfigError, check_choice, check_keys, join_path
from mmhooks.registry import OPTIM_WRAPPERS

__all__ = ["OptimWrapper", "ScalarSink"]

log = logging.getLogger(__name__)

# The clip function for each ``clip_grad.type`` and the name its result is logged under.
_CLIP_FUNCTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "norm": (torch.nn.utils.clip_grad_norm_, "grad_norm"),
    "value": (torch.nn.utils.clip_grad_value_, "grad_value"),
}


class ScalarSink(Protocol):
    """What the wrapper needs from a message hub: somewhere to put ``train/grad_norm``."""

    def update_scalar(self, key: str, value: float) -> None: ...


def _clip_arguments(clip_func: Callable[..., Any]) -> tuple[list[str], list[str]]:
    """(accepted, required) keyword names of a ``torch.nn.utils.clip_grad_*_`` function."""
    params = list(inspect.signature(clip_func).parameters.values())[1:]  # drop ``parameters``
    accepted = sorted(p.name for p in params)
    required = sorted(p.name for p in params if p.default is inspect.Parameter.empty)
    return accepted, required


def _parse_clip_grad(clip_grad: Mapping[str, Any], where: str) -> tuple[Callable[..., Any], str, dict[str, Any]]:
    """Validate a ``clip_grad`` dict; return the clip function, its log name and its keyword arguments.

    Raises:
        ConfigError: ``type`` is not ``'norm'``/``'value'``, a key is not an
            argument of the clip function, or a required one is missing.
    """
    if not isinstance(clip_grad, Mapping) or not clip_grad:
        raise ConfigError(
            "clip_grad", clip_grad, "None or a non-empty dict such as dict(max_norm=35, norm_type=2)",
            "pass dict(max_norm=...) to clip by norm or dict(type='value', clip_value=...) to clip by value.",
            where,
        )
    kwargs = dict(clip_grad)  # MMEngine pops 'type' from the caller's dict; keep it intact
    clip_type = kwargs.pop("type", "norm")
    check_choice("clip_grad.type", clip_type, _CLIP_FUNCTIONS, where)
    clip_func, log_name = _CLIP_FUNCTIONS[clip_type]
    accepted, required = _clip_arguments(clip_func)
    for key, value in kwargs.items():
        other = next((name for name, (func, _) in _CLIP_FUNCTIONS.items()
                      if name != clip_type and key in _clip_arguments(func)[0]), None)
        if key not in accepted and other is not None:  # an argument of the other clipping mode
            raise ConfigError(
                f"clip_grad.{key}", value, f"an argument of {clip_func.__name__} ({', '.join(accepted)})",
                f"set clip_grad.type={other!r} to clip by {other}, or delete {key}.", where,
            )
    check_keys(join_path(where, "clip_grad"), kwargs, accepted, what=f"an argument of {clip_func.__name__}")
    for key in required:
        if key not in kwargs:
            raise ConfigError(
                f"clip_grad.{key}", None, f"a number for clip_grad type {clip_type!r}",
                f"add {key}=... to clip_grad.", where,
            )
    for key in ("max_norm", "norm_type", "clip_value"):
        if key in kwargs and not _is_float_like(kwargs[key]):
            raise ConfigError(f"clip_grad.{key}", kwargs[key], "a number", f"write e.g. {key}=1.0.", where)
    return clip_func, log_name, kwargs


def _is_float_like(value: object) -> bool:
    """A number, or a string ``float()`` reads (torch converts ``max_norm``/``norm_type`` with ``float``)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, torch.Tensor)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _current_message_hub() -> ScalarSink | None:
    """The most recent MessageHub, as MMEngine's wrapper takes at construction; ``None`` if none exists."""
    from mmhooks.logging.message_hub import MessageHub

    try:
        return MessageHub.get_current_instance()
    except RuntimeError:  # no hub yet: mmhooks does not create one behind the user's back
        return None


def _has_batch_norm(model: nn.Module) -> bool:
    """Whether ``model`` holds a batch-norm layer (accumulation changes its statistics)."""
    return any(isinstance(module, _BatchNorm) for module in model.modules())


@OPTIM_WRAPPERS.register_module()
class OptimWrapper:
    """Wrap a ``torch.optim.Optimizer`` with MMEngine's ``update_params`` protocol.

    ``update_params(loss)`` divides the loss for gradient accumulation, runs
    backward, and every ``accumulative_counts`` calls clips the gradients and
    steps the optimizer. Counting is global across epochs: the last, partial
    accumulation window steps only at ``max_counts`` (see
    :meth:`initialize_count_status`).

    Args:
        optimizer: The optimizer that updates the parameters.
        accumulative_counts: Backward passes per optimizer step.
        clip_grad: ``None``; ``dict(max_norm=..., norm_type=...)`` (or with
            ``type='norm'``) for :func:`torch.nn.utils.clip_grad_norm_`; or
            ``dict(type='value', clip_value=...)`` for
            :func:`torch.nn.utils.clip_grad_value_`.

    Attributes:
        message_hub: Receives ``train/grad_norm`` (or ``train/grad_value``)
            after each clip; ``None`` drops the value. As in MMEngine it is
            the current :class:`~mmhooks.logging.MessageHub` when the wrapper
            is built (``None`` if there is none yet); the runner sets its own.
        backward_fn: Called as ``backward_fn(loss, **kwargs)`` instead of
            ``loss.backward(**kwargs)`` when set; the Lightning backend sets it
            to ``LightningModule.manual_backward``.
        sync_model: The module whose ``no_sync()`` :meth:`optim_context`
            enters on accumulation-only iterations; ``None`` uses the model
            passed to :meth:`optim_context`.

    Raises:
        ConfigError: ``accumulative_counts`` below 1 or a malformed ``clip_grad``.

    State:
        The optimizer's ``state_dict`` plus ``base_param_settings`` when there
        are several parameter groups (MMEngine's checkpoint layout). The
        accumulation counters are not saved: the runner restores them with
        :meth:`initialize_count_status`.

    MMEngine parity:
        Without any message hub, none is created (MMEngine creates one named
        ``'mmengine'``). ``clip_grad`` keys and values are checked when the
        wrapper is built, not at the first step, and the caller's dict is not
        modified.

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
        >>> wrapper.update_params(model(torch.ones(1, 2)).sum())
        >>> wrapper.inner_count, wrapper.should_update()
        (1, False)
        >>> wrapper.get_lr()
        {'lr': [0.1]}
    """

    def __init__(
        self,
        optimizer: Optimizer,
        accumulative_counts: int = 1,
        clip_grad: Mapping[str, Any] | None = None,
    ) -> None:
        where = type(self).__name__
        if isinstance(accumulative_counts, bool) or not isinstance(accumulative_counts, int) or accumulative_counts < 1:
            raise ConfigError(
                "accumulative_counts", accumulative_counts, "an int >= 1",
                "set accumulative_counts=1 to step every iteration, or to the number of iterations per step.",
                where,
            )
        self.optimizer = optimizer
        self._accumulative_counts = accumulative_counts
        self.clip_grad_kwargs: dict[str, Any] | None = None
        self.clip_func: Callable[..., Any] | None = None
        self.grad_name = "grad_norm"
        if clip_grad is not None:
            self.clip_func, self.grad_name, self.clip_grad_kwargs = _parse_clip_grad(clip_grad, where)
        self.message_hub: ScalarSink | None = _current_message_hub()
        self.backward_fn: Callable[..., Any] | None = None
        self.sync_model: Any = None
        self._inner_count = 0
        self._max_counts = -1
        self._remainder_counts = -1
        self.base_param_settings: dict[str, Any] | None = None
        if len(optimizer.param_groups) > 1:
            # A pseudo group holding the optimizer defaults, so schedulers also move the logged base lr.
            self.base_param_settings = {"params": torch.tensor([0.0], dtype=torch.float), **optimizer.defaults}

    # ------------------------------------------------------------------ update protocol
    def update_params(
        self,
        loss: torch.Tensor,
        step_kwargs: dict[str, Any] | None = None,
        zero_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Scale ``loss``, run backward, and step then zero the gradients when a window is complete."""
        self.backward(self.scale_loss(loss))
        if self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Back-propagate ``loss`` (through ``backward_fn`` when set) and count the iteration."""
        self._run_backward(loss, **kwargs)
        self._inner_count += 1

    def _run_backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        if self.backward_fn is not None:
            self.backward_fn(loss, **kwargs)
        else:
            loss.backward(**kwargs)  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated

    def step(self, **kwargs: Any) -> None:
        """Clip the gradients if ``clip_grad`` is set, then step the optimizer."""
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.optimizer.step(**kwargs)

    def zero_grad(self, **kwargs: Any) -> None:
        """Zero the optimizer's gradients."""
        self.optimizer.zero_grad(**kwargs)

    def clip_gradients(self) -> float | None:
        """Clip the gradients as ``clip_grad`` says and report the norm (or ``None``) to the message hub.

        Public so that a backend whose precision plugin unscales gradients
        just before the step (Lightning AMP) can clip at that point.
        """
        if self.clip_func is None or self.clip_grad_kwargs is None:
            return None
        params = [
            p for group in self.optimizer.param_groups for p in group["params"]
            if p.requires_grad and p.grad is not None
        ]
        if not params:
            return None
        result = self.clip_func(params, **self.clip_grad_kwargs)
        if result is None:
            return None
        value = float(result)
        if self.message_hub is not None:
            self.message_hub.update_scalar(f"train/{self.grad_name}", value)
        return value

    def _clip_grad(self) -> None:
        """MMEngine's name for :meth:`clip_gradients` (subclasses written for MMEngine override it)."""
        self.clip_gradients()

    # ------------------------------------------------------------------ accumulation
    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """Set the iteration counter (``init_counts`` after a resume) and the total ``max_counts``.

        Knowing ``max_counts`` lets the final partial window step and divide
        its loss by its own length.
        """
        self._inner_count = init_counts
        self._max_counts = max_counts
        self._remainder_counts = max_counts % self._accumulative_counts
        if init_counts % self._accumulative_counts != 0:
            log.warning(
                "OptimWrapper: resumed at iteration %d, which is not a multiple of accumulative_counts=%d; "
                "the gradients of the interrupted window are lost.", init_counts, self._accumulative_counts,
            )
        if self._accumulative_counts > 1 and _has_batch_norm(model):
            log.warning(
                "OptimWrapper: gradient accumulation with BatchNorm layers: the batch statistics still see "
                "one batch at a time, which may lower accuracy slightly."
            )

    def should_update(self) -> bool:
        """Whether the iteration just counted completes a window (or is the last one)."""
        return self._inner_count % self._accumulative_counts == 0 or self._inner_count == self._max_counts

    def should_sync(self) -> bool:
        """Whether the coming backward (not yet counted) ends a window, so gradients must be all-reduced."""
        upcoming = self._inner_count + 1
        return upcoming % self._accumulative_counts == 0 or upcoming == self._max_counts

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss`` divided by the length of the current accumulation window."""
        if self._accumulative_counts == 1:
            return loss  # dividing by 1 changes no bit; skipping it saves an op and a backward node per step
        if self._max_counts == -1:
            factor = self._accumulative_counts
        elif self._inner_count < self._max_counts - self._remainder_counts:
            factor = self._accumulative_counts
        else:
            factor = self._remainder_counts
            if factor <= 0:
                raise RuntimeError(
                    f"OptimWrapper.scale_loss: iteration {self._inner_count} is past max_counts="
                    f"{self._max_counts}. Fix: call initialize_count_status with the real init and max counts."
                )
        return loss / factor

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Skip gradient all-reduce on accumulation-only iterations (``no_sync`` of ``sync_model``/``model``)."""
        target = self.sync_model if self.sync_model is not None else model
        no_sync = getattr(target, "no_sync", None)
        context = no_sync() if no_sync is not None and not self.should_sync() else nullcontext()
        with context:
            yield

    @property
    def inner_count(self) -> int:
        """Backward passes counted so far (MMEngine's ``runner.iter`` once initialised)."""
        return self._inner_count

    @property
    def max_counts(self) -> int:
        """The total number of iterations, or ``-1`` before :meth:`initialize_count_status`."""
        return self._max_counts

    @property
    def accumulative_counts(self) -> int:
        """Backward passes per optimizer step."""
        return self._accumulative_counts

    # ------------------------------------------------------------------ optimizer views
    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The optimizer's groups, plus ``base_param_settings`` when there are several."""
        groups = self.optimizer.param_groups
        return groups + [self.base_param_settings] if self.base_param_settings is not None else groups

    @property
    def defaults(self) -> dict[str, Any]:
        """The optimizer's defaults (schedulers read them)."""
        return self.optimizer.defaults

    def get_lr(self) -> dict[str, list[float]]:
        """``{'lr': [per group]}``, plus ``'base_lr'`` (the defaults' lr) with several groups."""
        result: dict[str, list[float]] = {}
        if self.base_param_settings is not None:
            result["base_lr"] = [self.base_param_settings["lr"]]
        result["lr"] = [group["lr"] for group in self.optimizer.param_groups]
        return result

    def get_momentum(self) -> dict[str, list[float]]:
        """``{'momentum': [per group]}`` from ``momentum``, else ``betas[0]``, else 0."""
        momentum: list[float] = []
        for group in self.optimizer.param_groups:
            if "momentum" in group:
                momentum.append(group["momentum"])
            elif "betas" in group:
                momentum.append(group["betas"][0])
            else:
                momentum.append(0)
        return {"momentum": momentum}

    def state_dict(self) -> dict[str, Any]:
        """The optimizer state, with ``base_param_settings`` when there are several groups."""
        state = self.optimizer.state_dict()
        if self.base_param_settings is not None:
            state["base_param_settings"] = self.base_param_settings
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load what :meth:`state_dict` returned (``state_dict`` itself is left unchanged)."""
        state = dict(state_dict)
        base_param_settings = state.pop("base_param_settings", None)
        if base_param_settings is not None:
            self.base_param_settings = base_param_settings
        self.optimizer.load_state_dict(state)

    def __repr__(self) -> str:
        return (
            f"Type: {type(self).__name__}\n_accumulative_counts: {self._accumulative_counts}\n"
            f"optimizer: \n{self.optimizer!r}\n"
        )
