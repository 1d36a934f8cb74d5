"""Notice a scheduler stepped before its optimizer, or an optimizer whose ``step`` was replaced (as MMEngine).

PyTorch 1.1 swapped the order of ``optimizer.step()`` and ``scheduler.step()``;
code written for the old order silently skips the first value of every
schedule. MMEngine (after PyTorch) counts optimizer steps by wrapping
``optimizer.step`` when a scheduler is built, and warns at the scheduler's
first ``step()`` if the optimizer has not stepped since, or if the wrapped
``step`` was replaced. The counter lives on the scheduled object under
MMEngine's names (``step._with_counter``, ``_global_step``), so mmhooks' and
MMEngine's schedulers share one counter on the same optimizer.

An optimizer wrapper is often stepped underneath rather than through its own
``step``: Lightning's automatic optimization steps the wrapped
``torch.optim.Optimizer`` directly. A step of that inner optimizer therefore
counts too (a torch step post-hook), so mmhooks' own runs never warn falsely.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from typing import Any

__all__ = ["attach_step_counter", "has_stepped", "mark_stepped", "warn_if_misordered"]

_MARK = "_with_counter"  # MMEngine's attribute on a counting ``step``
_COUNT = "_global_step"  # MMEngine's counter on the scheduled object: -1 until its first step
_HOOKED = "_mmhooks_inner_step_hook"  # handle of the post-hook on a wrapper's inner optimizer


def _counting(method: Any, owner: Any) -> Any:
    """``method`` (the owner's ``step``) wrapped to count calls on ``owner``, without keeping ``owner`` alive."""
    owner_ref = weakref.ref(owner)
    func = getattr(method, "__func__", None)
    if func is not None and getattr(method, "__self__", None) is owner:
        target = func  # re-bind at each call: the bound method would hold a strong reference

        @functools.wraps(func)
        def counted(*args: Any, **kwargs: Any) -> Any:
            instance = owner_ref()
            if instance is not None:
                instance._global_step = getattr(instance, _COUNT, -1) + 1
            return target.__get__(instance, type(instance))(*args, **kwargs)
    else:  # a plain function or callable object stored on the instance

        @functools.wraps(method)
        def counted(*args: Any, **kwargs: Any) -> Any:
            instance = owner_ref()
            if instance is not None:
                instance._global_step = getattr(instance, _COUNT, -1) + 1
            return method(*args, **kwargs)

    setattr(counted, _MARK, True)
    return counted


def _hook_inner_optimizer(owner: Any) -> None:
    """Count a step of a wrapper's inner ``torch.optim.Optimizer`` as a step of the wrapper."""
    inner = getattr(owner, "optimizer", None)
    register = getattr(inner, "register_step_post_hook", None)
    if inner is owner or register is None or getattr(owner, _HOOKED, None) is not None:
        return
    owner_ref = weakref.ref(owner)

    def after_inner_step(optimizer: Any, args: Any, kwargs: Any) -> None:
        wrapper = owner_ref()
        if wrapper is not None:
            mark_stepped(wrapper)

    try:
        setattr(owner, _HOOKED, register(after_inner_step))
    except (AttributeError, TypeError):  # an object that refuses new attributes: count its own step only
        return


def attach_step_counter(optimizer: Any) -> None:
    """Wrap ``optimizer.step`` with a counter (once) and reset the counter to -1, as each MMEngine scheduler does.

    Objects without a callable ``step`` (a bare ``param_groups`` holder) are
    left alone; :func:`warn_if_misordered` then never warns about them.
    """
    step = getattr(optimizer, "step", None)
    if not callable(step):
        return
    try:
        if not getattr(step, _MARK, False):
            optimizer.step = _counting(step, optimizer)
        optimizer._global_step = -1
    except (AttributeError, TypeError):  # read-only ``step``: nothing can be counted
        return
    _hook_inner_optimizer(optimizer)


def mark_stepped(optimizer: Any) -> None:
    """Record that ``optimizer`` stepped, for a backend that steps it some other way (a skipped AMP step)."""
    try:
        optimizer._global_step = max(getattr(optimizer, _COUNT, -1), 0)
    except (AttributeError, TypeError):
        return


def has_stepped(optimizer: Any) -> bool:
    """Whether ``optimizer`` stepped since the last scheduler was built on it."""
    return getattr(optimizer, _COUNT, -1) >= 0


def warn_if_misordered(scheduler: str, optimizer: Any) -> None:
    """At a scheduler's first ``step()``: warn as MMEngine does about a replaced or not yet called ``optimizer.step``."""
    step = getattr(optimizer, "step", None)
    if not callable(step):
        return
    if not getattr(step, _MARK, False):
        warnings.warn(
            f"{scheduler}: optimizer.step was replaced after the scheduler was built, so the scheduler cannot tell "
            "whether optimizer.step() runs before scheduler.step(). Replace optimizer.step before building the "
            "schedulers, and call optimizer.step() before scheduler.step() in each iteration.",
            UserWarning,
            stacklevel=3,
        )
    elif not has_stepped(optimizer):
        warnings.warn(
            f"{scheduler}: scheduler.step() was called before optimizer.step(). Since PyTorch 1.1 the order is "
            "optimizer.step() first, then scheduler.step(); in the other order the first value of the schedule "
            "is skipped.",
            UserWarning,
            stacklevel=3,
        )
