"""An ordered set of hooks: MMEngine's priority insertion rule and a cheap per-stage dispatch.

Registration follows ``Runner.register_hook``: the list stays sorted by
priority value and equal priorities keep registration order. Dispatch skips
hooks that leave a mount point at the base-class no-op, so a run pays only
for the hooks that do something at each stage.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mmhooks.errors import ConfigError, closest, join_path
from mmhooks.hooks.hook import Hook
from mmhooks.runner.priority import Priority, get_priority, priority_name

__all__ = ["DEFAULT_HOOKS", "HookError", "HookList", "merge_default_hooks"]

log = logging.getLogger(__name__)

# MMEngine's default hook set, in registration order (Runner.register_default_hooks).
DEFAULT_HOOKS: dict[str, dict[str, Any]] = {
    "runtime_info": dict(type="RuntimeInfoHook"),
    "timer": dict(type="IterTimerHook"),
    "sampler_seed": dict(type="DistSamplerSeedHook"),
    "logger": dict(type="LoggerHook"),
    "param_scheduler": dict(type="ParamSchedulerHook"),
    "checkpoint": dict(type="CheckpointHook", interval=1),
}

# Mount points whose base implementation only routes to a shared helper.
_ROUTED = {
    "before_train_epoch": "_before_epoch",
    "before_val_epoch": "_before_epoch",
    "before_test_epoch": "_before_epoch",
    "after_train_epoch": "_after_epoch",
    "after_val_epoch": "_after_epoch",
    "after_test_epoch": "_after_epoch",
    "before_train_iter": "_before_iter",
    "before_val_iter": "_before_iter",
    "before_test_iter": "_before_iter",
    "after_train_iter": "_after_iter",
    "after_val_iter": "_after_iter",
    "after_test_iter": "_after_iter",
}


class HookError(RuntimeError):
    """A hook raised at a mount point; the message names the hook class and the mount point."""

    def __init__(self, hook: object, stage: str, error: BaseException) -> None:
        self.hook = hook
        self.stage = stage
        self.error = error
        super().__init__(f"{type(hook).__name__}.{stage} raised {type(error).__name__}: {error}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.hook, self.stage, self.error))


def _base_classes() -> tuple[type, ...]:
    """Hook base classes whose mount points are no-ops: mmhooks' and, if installed, MMEngine's."""
    bases: list[type] = [Hook]
    import sys

    mm_hooks = sys.modules.get("mmengine.hooks.hook")
    if mm_hooks is not None:
        bases.append(mm_hooks.Hook)
    return tuple(bases)


def is_noop(hook: object, stage: str) -> bool:
    """True when ``hook`` inherits ``stage`` (and its routing helper) unchanged from a base class."""
    if stage in vars(hook):  # an instance attribute always counts
        return False
    cls = type(hook)
    for base in _base_classes():
        if not isinstance(hook, base):
            continue
        if getattr(cls, stage, None) is not getattr(base, stage, None):
            return False
        helper = _ROUTED.get(stage)
        return helper is None or getattr(cls, helper, None) is getattr(base, helper, None)
    return not callable(getattr(hook, stage, None))


def build_hook(cfg: Any, path: str) -> Any:
    """Build one hook from a config dict (``type`` looked up in ``HOOKS``) or return an instance.

    An MMCV-style hook (mount points taking only ``runner``) comes back wrapped in
    :class:`~mmhooks.legacy.LegacyHookAdapter`, so it runs with MMCV's counters.
    """
    from mmhooks.registry import HOOKS

    if isinstance(cfg, Mapping):
        hook = HOOKS.build(cfg, path=path)
    elif callable(getattr(cfg, "before_run", None)) or hasattr(cfg, "priority"):
        hook = cfg
    else:
        raise ConfigError("", cfg, "a Hook instance or a dict with 'type'", "pass dict(type='SomeHook', ...)", path)
    if isinstance(hook, Hook):  # mmhooks' own hooks (adapters included) are never MMCV-style
        return hook
    legacy = importlib.import_module("mmhooks.legacy")
    return legacy.LegacyHookAdapter(hook) if legacy.is_legacy_hook(hook) else hook


class HookList:
    """Hooks sorted by priority, with MMEngine's stable insertion rule.

    Example:
        >>> hooks = HookList()
        >>> _ = hooks.register(Hook(), priority="LOW"); _ = hooks.register(Hook(), priority=10)
        >>> [h.priority for h in hooks]
        [10, 'LOW']
    """

    def __init__(self, hooks: Iterable[Any] = (), path: str = "hooks") -> None:
        self._hooks: list[Any] = []
        self._by_stage: dict[str, list[Any]] = {}
        for index, hook in enumerate(hooks):
            self.register(hook, path=f"{path}[{index}]")

    def __iter__(self) -> Iterator[Any]:
        return iter(self._hooks)

    def __len__(self) -> int:
        return len(self._hooks)

    def __getitem__(self, index: int) -> Any:
        return self._hooks[index]

    @property
    def hooks(self) -> list[Any]:
        return self._hooks

    def register(self, hook: Any, priority: int | str | Priority | None = None, path: str = "hook") -> Any:
        """Insert ``hook`` (an instance or a config dict) after every hook whose priority value is <= its own."""
        if isinstance(hook, Mapping):
            cfg = dict(hook)
            dict_priority = cfg.pop("priority", None)
            built = build_hook(cfg, path)
            if priority is None:
                priority = dict_priority
            hook = built
        else:
            hook = build_hook(hook, path)
        if priority is not None:
            hook.priority = priority
        try:
            value = get_priority(hook.priority)
        except (KeyError, ValueError, TypeError):
            raise ConfigError(
                "priority",
                hook.priority,
                f"an int in [0, 100] or one of {sorted(p.name for p in Priority)}",
                "use e.g. priority='NORMAL' (lower runs earlier).",
                path,
            ) from None
        index = 0
        for position in range(len(self._hooks) - 1, -1, -1):
            if get_priority(self._hooks[position].priority) <= value:
                index = position + 1
                break
        self._hooks.insert(index, hook)
        self._by_stage.clear()
        return hook

    def active(self, stage: str) -> list[Any]:
        """The hooks that do something at ``stage``, in order (cached until the list changes)."""
        found = self._by_stage.get(stage)
        if found is None:
            found = [hook for hook in self._hooks if not is_noop(hook, stage)]
            self._by_stage[stage] = found
        return found

    def call(self, stage: str, runner: Any, **kwargs: Any) -> None:
        """Call ``stage`` on every hook that implements it, with keyword arguments.

        An exception is re-raised as :class:`HookError` naming the hook and the
        stage; a ``TypeError`` from a mismatched signature is re-raised as
        ``TypeError`` with the hook appended, as MMEngine does.
        """
        for hook in self.active(stage):
            try:
                getattr(hook, stage)(runner, **kwargs)
            except TypeError as err:  # MMEngine re-raises these with the hook appended
                raise TypeError(f"{err} in {type(hook).__name__}.{stage}") from err
            except HookError:
                raise
            except Exception as err:
                raise HookError(hook, stage, err) from err

    def info(self) -> str:
        """MMEngine's "Hooks will be executed in the following order" table."""
        lines = []
        for stage in Hook.stages:
            names = []
            for hook in self._hooks:
                triggered = getattr(hook, "get_triggered_stages", None)
                stages = triggered() if triggered else [s for s in Hook.stages if not is_noop(hook, s)]
                if stage in stages:
                    names.append(f"({priority_name(hook.priority):<12}) {type(hook).__name__:<35}")
            if names:
                lines.append(stage + ":\n" + "\n".join(names) + "\n -------------------- ")
        return "\n".join(lines)


def merge_default_hooks(
    default_hooks: Mapping[str, Any] | None, path: str = "default_hooks"
) -> dict[str, Any]:
    """MMEngine's merge of a ``default_hooks`` dict into the default set (order kept, None removes)."""
    merged: dict[str, Any] = {name: dict(cfg) for name, cfg in DEFAULT_HOOKS.items()}
    if default_hooks is None:
        return merged
    if not isinstance(default_hooks, Mapping):
        raise ConfigError(path, default_hooks, "a dict of name -> hook config", "use dict(logger=dict(...)).")
    for name, cfg in default_hooks.items():
        if cfg is None:
            if name not in merged:
                near = closest(name, merged)
                fix = f"did you mean {near!r}?" if near else f"remove it; names are {sorted(merged)}."
                raise ConfigError(name, None, f"one of the default hook names {sorted(merged)}", fix, path)
            del merged[name]
        else:
            _check_not_a_misspelt_default(name, cfg, merged, path)
            merged[name] = cfg
    return merged


def _hook_type_name(cfg: Any) -> str | None:
    if isinstance(cfg, Mapping):
        type_ = cfg.get("type")
        return type_ if isinstance(type_, str) else getattr(type_, "__name__", None)
    return type(cfg).__name__


def _check_not_a_misspelt_default(name: str, cfg: Any, merged: Mapping[str, Any], path: str) -> None:
    """Reject a new name that looks like a default one and holds the same hook type.

    MMEngine accepts extra names (downstream projects add ``visualization``), so
    a new name alone is fine; but ``checkpiont=dict(type='CheckpointHook')``
    would run a second CheckpointHook beside the default one.
    """
    if name in merged:
        return
    near = closest(name, DEFAULT_HOOKS)
    if near is None or near not in merged:
        return
    hook_type = _hook_type_name(cfg)
    if hook_type is None or hook_type != _hook_type_name(merged[near]):
        return
    raise ConfigError(
        name, cfg, f"one of the default hook names {sorted(DEFAULT_HOOKS)} (as written, a second {hook_type} "
        f"would run beside {join_path(path, near)})", f"did you mean {near!r}?", path,
    )


def default_hook_paths(merged: Mapping[str, Any], path: str = "default_hooks") -> list[tuple[str, Any]]:
    """(key path, config) pairs for error messages, e.g. ``default_hooks.checkpoint``."""
    return [(join_path(path, name), cfg) for name, cfg in merged.items()]
