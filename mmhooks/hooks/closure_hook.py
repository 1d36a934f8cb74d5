"""``ClosureHook``: run plain functions at chosen mount points, without writing a Hook class."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Optional, Union, cast

from mmhooks.errors import ConfigError, closest
from mmhooks.hooks.hook import Hook
from mmhooks.registry import FUNCTIONS, HOOKS
from mmhooks.runner.priority import Priority, get_priority
from mmhooks.runner.protocol import RunnerLike

__all__ = ["ClosureHook"]

# Each mount point's parameters after ``runner`` (e.g. batch_idx, data_batch, outputs).
_PARAMETERS = {
    stage: tuple(inspect.signature(getattr(Hook, stage)).parameters)[2:] for stage in Hook.stages
}


def _resolve_function(key: str, fn: Any) -> Callable[..., Any]:
    """``fn`` itself, or the function a string names in ``FUNCTIONS`` (name or dotted import path)."""
    found = FUNCTIONS.get(fn) if isinstance(fn, str) else fn
    if not callable(found):
        raise ConfigError(
            key, fn, "a callable, or the name of a registered function or a dotted import path",
            "pass the function itself, or register it with @FUNCTIONS.register_module().", "ClosureHook",
        )
    return cast(Callable[..., Any], found)


def _check_stage(key: str, stage: str) -> None:
    """Raise :class:`ConfigError` unless ``stage`` is one of the 22 mount points."""
    if stage in Hook.stages:
        return
    near = closest(stage, Hook.stages)
    fix = f"did you mean {near!r}?" if near else "use one of those names."
    raise ConfigError(key, stage, f"a mount point, one of {sorted(Hook.stages)}", fix, "ClosureHook")


def _dispatcher(stage: str) -> Callable[..., None]:
    """The method that answers mount point ``stage``: call the closure if one is mounted there."""
    names = _PARAMETERS[stage]
    default = getattr(Hook, stage)

    def dispatch(self: ClosureHook, runner: RunnerLike, *args: Any, **kwargs: Any) -> None:
        fn = self.closures.get(stage)
        if fn is None:
            default(self, runner, *args, **kwargs)
            return
        kwargs.update(zip(names, args))  # a positional call still reaches fn as keywords
        fn(runner, **kwargs)

    dispatch.__name__ = dispatch.__qualname__ = stage
    dispatch.__doc__ = f"Call the function mounted at ``{stage}``, if any."
    return dispatch


@HOOKS.register_module()
class ClosureHook(Hook):
    """A hook made of functions: ``ClosureHook("after_train_iter", fn)`` or ``ClosureHook(after_train_iter=fn)``.

    Each function is called as the mount point is, with ``runner`` first and
    the mount point's other arguments as keywords, e.g.
    ``fn(runner, batch_idx=..., data_batch=..., outputs=...)`` for
    ``after_train_iter``. In a YAML or JSON config a function can be given by
    its ``FUNCTIONS`` name or dotted import path.

    Args:
        fn_name: Mount point of ``fn``.
        fn: The function for ``fn_name``.
        priority: Priority of the hook (a name, an int or a ``Priority``).
        **mount_points: More functions, keyed by mount point.

    Raises:
        ConfigError: An unknown mount point, a function that is not callable,
            ``fn_name`` without ``fn`` (or the reverse), the same mount point
            twice, or no function at all.

    MMEngine parity:
        MMEngine has no ``ClosureHook``; MMCV 1.x had ``ClosureHook(fn_name, fn)``
        whose functions received only the runner.

    Example:
        >>> seen = []
        >>> hook = ClosureHook(after_train_iter=lambda runner, **kw: seen.append(kw["batch_idx"]))
        >>> hook.after_train_iter(None, batch_idx=3)
        >>> seen, hook.get_triggered_stages()
        ([3], ['after_train_iter'])
    """

    def __init__(
        self,
        fn_name: Optional[str] = None,
        fn: Union[Callable[..., Any], str, None] = None,
        priority: Union[int, str, Priority] = "NORMAL",
        **mount_points: Union[Callable[..., Any], str],
    ) -> None:
        if (fn_name is None) != (fn is None):
            missing, given = ("fn", "fn_name") if fn is None else ("fn_name", "fn")
            raise ConfigError(
                missing, None, f"a value, because {given} is given",
                "pass both fn_name and fn, or mount functions by keyword (after_train_iter=fn).", "ClosureHook",
            )
        closures: dict[str, Callable[..., Any]] = {}
        if fn_name is not None:
            _check_stage("fn_name", fn_name)
            closures[fn_name] = _resolve_function("fn", fn)
        for stage, function in mount_points.items():
            _check_stage(stage, stage)
            if stage in closures:
                raise ConfigError(
                    stage, function, "one function per mount point",
                    f"drop fn_name={stage!r} or the {stage}= keyword.", "ClosureHook",
                )
            closures[stage] = _resolve_function(stage, function)
        if not closures:
            raise ConfigError(
                "fn_name", None, "at least one mount point with a function",
                "pass fn_name and fn, or mount functions by keyword (after_train_iter=fn).", "ClosureHook",
            )
        get_priority(priority)  # fail here, not at registration
        self.priority = priority
        self.closures = closures

    def get_triggered_stages(self) -> list[str]:
        """The mount points that have a function, in ``Hook.stages`` order."""
        return [stage for stage in Hook.stages if stage in self.closures]

    def __repr__(self) -> str:
        return f"ClosureHook({', '.join(self.get_triggered_stages())})"


for _stage in Hook.stages:
    setattr(ClosureHook, _stage, _dispatcher(_stage))
del _stage
