"""MMCV 1.x ``LrUpdaterHook`` policies with MMCV's exact formulas, as mmhooks hooks.

``lr_config=dict(policy='step', step=[8, 11])`` becomes :class:`StepLrUpdaterHook` through
:func:`build_lr_updater`. Each hook writes ``param_group['lr']`` in ``before_train_epoch`` (by epoch)
and ``before_train_iter`` like MMCV's runner does; ``b`` below is the group's ``initial_lr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from mmhooks.errors import ConfigError, check_choice, check_keys, closest
from mmhooks.hooks.hook import Hook
from mmhooks.legacy.anneal import annealing_cos, annealing_linear, per_group
from mmhooks.legacy.runner_access import optimizers_of
from mmhooks.legacy.updater_base import ValueUpdaterHook
from mmhooks.registry import HOOKS

__all__ = [
    "CosineAnnealingLrUpdaterHook",
    "CosineRestartLrUpdaterHook",
    "CyclicLrUpdaterHook",
    "ExpLrUpdaterHook",
    "FixedLrUpdaterHook",
    "FlatCosineAnnealingLrUpdaterHook",
    "InvLrUpdaterHook",
    "LegacyLrUpdaterHook",
    "LinearAnnealingLrUpdaterHook",
    "LrUpdaterHook",
    "OneCycleLrUpdaterHook",
    "PolyLrUpdaterHook",
    "StepLrUpdaterHook",
    "build_lr_updater",
    "policy_class_name",
]


class LrUpdaterHook(ValueUpdaterHook):
    """Base of the MMCV LR policies: multiplicative warmup on top of :meth:`get_lr`.

    MMEngine parity:
        Registered at MMCV's ``VERY_HIGH`` priority, so the LR is written before other hooks read it.
    """

    priority = "VERY_HIGH"

    def get_lr(self, runner: Any, base_lr: float) -> float:
        """The policy LR for a group whose base LR is ``base_lr``."""
        raise NotImplementedError

    def policy_value(self, runner: Any, base: float) -> float:
        return self.get_lr(runner, base)

    def read_base(self, group: dict[str, Any]) -> float:
        return float(group.setdefault("initial_lr", group["lr"]))

    def write(self, group: dict[str, Any], value: float) -> None:
        group["lr"] = value

    def apply_warmup(self, value: float, factor: float) -> float:
        return value * factor


def _target(where: str, min_value: float | None, min_ratio: float | None, names: tuple[str, str]) -> None:
    if (min_value is None) == (min_ratio is None):
        raise ConfigError(
            names[0], (min_value, min_ratio), f"exactly one of {names[0]} and {names[1]}",
            f"set only {names[1]} (relative) or only {names[0]} (absolute).", where,
        )


def _check_steps(where: str, step: Any) -> None:
    ints = isinstance(step, int) and not isinstance(step, bool)
    listed = isinstance(step, (list, tuple)) and all(isinstance(s, int) and not isinstance(s, bool) for s in step)
    if not (ints or listed) or (ints and step <= 0) or (listed and any(s <= 0 for s in step)):
        raise ConfigError("step", step, "a positive int or a list of positive ints", "use e.g. step=[8, 11].", where)


def step_exponent(step: int | list[int], progress: int) -> int:
    """How many decays have happened at ``progress``: ``progress // step`` or milestones ``<= progress``."""
    if isinstance(step, int):
        return progress // step
    return sum(1 for s in step if s <= progress)


@HOOKS.register_module()
class FixedLrUpdaterHook(LrUpdaterHook):
    """``policy='fixed'``: the base LR (warmup still applies)."""

    def get_lr(self, runner: Any, base_lr: float) -> float:
        return base_lr


@HOOKS.register_module()
class StepLrUpdaterHook(LrUpdaterHook):
    """``policy='step'``: ``b * gamma**k`` (k decays so far), floored at ``min_lr`` when given.

    Args:
        step: Decay every ``step`` epochs/iters (int) or at these milestones (list).
        gamma: Decay factor.
        min_lr: Lower clip of the LR.
    """

    def __init__(self, step: int | list[int], gamma: float = 0.1, min_lr: float | None = None, **kwargs: Any) -> None:
        _check_steps(type(self).__name__, step)
        self.step = step if isinstance(step, int) else list(step)
        self.gamma = gamma
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        lr = base_lr * self.gamma ** step_exponent(self.step, self.progress(runner)[0])
        return max(lr, self.min_lr) if self.min_lr is not None else lr


@HOOKS.register_module()
class ExpLrUpdaterHook(LrUpdaterHook):
    """``policy='exp'``: ``b * gamma**p``."""

    def __init__(self, gamma: float, **kwargs: Any) -> None:
        self.gamma = gamma
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        return base_lr * self.gamma ** self.progress(runner)[0]


@HOOKS.register_module()
class PolyLrUpdaterHook(LrUpdaterHook):
    """``policy='poly'``: ``(b - min_lr) * (1 - p/P)**power + min_lr``."""

    def __init__(self, power: float = 1.0, min_lr: float = 0.0, **kwargs: Any) -> None:
        self.power = power
        self.min_lr = min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        p, total = self.progress(runner)
        lr = (base_lr - self.min_lr) * (1 - p / total) ** self.power + self.min_lr
        return cast(float, lr)  # typeshed: float ** float -> Any


@HOOKS.register_module()
class InvLrUpdaterHook(LrUpdaterHook):
    """``policy='inv'``: ``b * (1 + gamma * p)**(-power)``."""

    def __init__(self, gamma: float, power: float = 1.0, **kwargs: Any) -> None:
        self.gamma = gamma
        self.power = power
        super().__init__(**kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        lr = base_lr * (1 + self.gamma * self.progress(runner)[0]) ** (-self.power)
        return cast(float, lr)  # typeshed: float ** float -> Any


class _TargetLrUpdaterHook(LrUpdaterHook):
    """A policy that anneals towards ``min_lr`` or ``base * min_lr_ratio`` (exactly one is given)."""

    def __init__(self, min_lr: float | None = None, min_lr_ratio: float | None = None, **kwargs: Any) -> None:
        _target(type(self).__name__, min_lr, min_lr_ratio, ("min_lr", "min_lr_ratio"))
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio
        super().__init__(**kwargs)

    def target(self, base_lr: float) -> float:
        return base_lr * self.min_lr_ratio if self.min_lr_ratio is not None else float(self.min_lr)  # type: ignore[arg-type]


@HOOKS.register_module()
class CosineAnnealingLrUpdaterHook(_TargetLrUpdaterHook):
    """``policy='CosineAnnealing'``: ``cos_anneal(b, target, p/P)``."""

    def get_lr(self, runner: Any, base_lr: float) -> float:
        p, total = self.progress(runner)
        return annealing_cos(base_lr, self.target(base_lr), p / total)


@HOOKS.register_module()
class LinearAnnealingLrUpdaterHook(_TargetLrUpdaterHook):
    """``policy='LinearAnnealing'``: ``b + (target - b) * p/P``."""

    def get_lr(self, runner: Any, base_lr: float) -> float:
        p, total = self.progress(runner)
        return annealing_linear(base_lr, self.target(base_lr), p / total)


@HOOKS.register_module()
class FlatCosineAnnealingLrUpdaterHook(_TargetLrUpdaterHook):
    """``policy='FlatCosineAnnealing'``: ``b`` until ``s = round(P * start_percent)``, then cosine to the target."""

    def __init__(
        self, start_percent: float = 0.75, min_lr: float | None = None, min_lr_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(start_percent, float) or not 0 <= start_percent <= 1:
            raise ConfigError(
                "start_percent", start_percent, "a float in [0, 1]", "use e.g. 0.75.", type(self).__name__
            )
        self.start_percent = start_percent
        super().__init__(min_lr=min_lr, min_lr_ratio=min_lr_ratio, **kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        p, total = self.progress(runner)
        start = round(total * self.start_percent)
        if p < start:
            return base_lr
        return annealing_cos(base_lr, self.target(base_lr), (p - start) / (total - start))


@HOOKS.register_module()
class CosineRestartLrUpdaterHook(_TargetLrUpdaterHook):
    """``policy='CosineRestart'``: cosine over each period, restarting at ``target + w * (b - target)``."""

    def __init__(
        self, periods: list[int], restart_weights: list[float] | None = None, min_lr: float | None = None,
        min_lr_ratio: float | None = None, **kwargs: Any,
    ) -> None:
        weights = [1.0] if restart_weights is None else list(restart_weights)
        if len(weights) != len(periods):
            raise ConfigError(
                "restart_weights", weights, f"one weight per period ({len(periods)})",
                "give restart_weights the same length as periods.", type(self).__name__,
            )
        self.periods = list(periods)
        self.restart_weights = weights
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(min_lr=min_lr, min_lr_ratio=min_lr_ratio, **kwargs)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        p = self.progress(runner)[0]
        for idx, end in enumerate(self.cumulative_periods):
            if p < end:
                break
        else:
            raise ValueError(
                f"{type(self).__name__}.periods: progress {p} is past the last period end "
                f"{self.cumulative_periods[-1]}. Fix: make sum(periods) cover the whole run."
            )
        start = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        alpha = min((p - start) / self.periods[idx], 1)
        return annealing_cos(base_lr, self.target(base_lr), alpha, self.restart_weights[idx])


def _target_ratio(where: str, value: Any) -> tuple[float, float]:
    """MMCV's ``target_ratio`` forms: ``r`` or ``(r,)`` -> ``(r, r / 1e5)``; a pair as is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), float(value) / 1e5
    if isinstance(value, (tuple, list)) and len(value) in (1, 2):
        return (float(value[0]), float(value[0]) / 1e5) if len(value) == 1 else (float(value[0]), float(value[1]))
    raise ConfigError("target_ratio", value, "a float or a tuple of one or two floats", "use e.g. (10, 1e-4).", where)


class CyclicSchedule:
    """MMCV's cyclic phase arithmetic, shared by the LR and momentum versions.

    Phase length ``C = max_iters // cyclic_times``, up length ``int(step_ratio_up * C)``; in cycle ``c``
    the peak ratio ``r0`` is pulled towards 1 by ``s = gamma**c``: ``1 - s + r0 * s``.
    """

    def __init__(
        self, where: str, target_ratio: Any, cyclic_times: int, step_ratio_up: float, anneal_strategy: str,
        gamma: float,
    ) -> None:
        self.target_ratio = _target_ratio(where, target_ratio)
        if not 0 <= step_ratio_up < 1:
            raise ConfigError("step_ratio_up", step_ratio_up, "a value in [0, 1)", "use e.g. 0.4.", where)
        if not 0 < gamma <= 1:
            raise ConfigError("gamma", gamma, "a value in (0, 1]", "use 1 for equal cycles.", where)
        check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"), where)
        self.cyclic_times = cyclic_times
        self.step_ratio_up = step_ratio_up
        self.gamma = gamma
        self.anneal = annealing_cos if anneal_strategy == "cos" else annealing_linear
        self.iters_per_cycle = 0
        self.up_iters = 0

    def setup(self, max_iters: int) -> None:
        self.iters_per_cycle = max_iters // self.cyclic_times
        self.up_iters = int(self.step_ratio_up * self.iters_per_cycle)

    def value(self, base: float, it: int) -> float:
        t = it % self.iters_per_cycle
        scale = self.gamma ** (it // self.iters_per_cycle)
        peak = 1 - scale + self.target_ratio[0] * scale
        if t < self.up_iters:
            return self.anneal(base, base * peak, t / self.up_iters)
        down = self.iters_per_cycle - self.up_iters
        return self.anneal(base * peak, base * self.target_ratio[1], (t - self.up_iters) / down)


@HOOKS.register_module()
class CyclicLrUpdaterHook(LrUpdaterHook):
    """``policy='Cyclic'``: up to ``b * target_ratio[0]`` then down to ``b * target_ratio[1]``, per cycle.

    Args:
        by_epoch: Must be ``False`` (as in MMCV).
        target_ratio: ``(peak, end)`` relative to the base LR; a single ``r`` means ``(r, r / 1e5)``.
        cyclic_times: Number of cycles over ``max_iters``.
        step_ratio_up: Fraction of a cycle spent going up.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        gamma: Per-cycle shrink of the peak, in ``(0, 1]``.
    """

    def __init__(
        self, by_epoch: bool = False, target_ratio: Any = (10, 1e-4), cyclic_times: int = 1,
        step_ratio_up: float = 0.4, anneal_strategy: str = "cos", gamma: float = 1, **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        if by_epoch:
            raise ConfigError("by_epoch", by_epoch, "False", "remove by_epoch (Cyclic updates per iteration).", where)
        self.cycle = CyclicSchedule(where, target_ratio, cyclic_times, step_ratio_up, anneal_strategy, gamma)
        super().__init__(by_epoch=False, **kwargs)

    def before_run(self, runner: Any) -> None:
        super().before_run(runner)
        self.cycle.setup(runner.max_iters)

    def get_lr(self, runner: Any, base_lr: float) -> float:
        return self.cycle.value(base_lr, runner.iter)


@HOOKS.register_module()
class OneCycleLrUpdaterHook(LrUpdaterHook):
    """``policy='OneCycle'``: base ``max_lr / div_factor`` -> ``max_lr`` -> ``base / final_div_factor``.

    Phases end at ``pct_start * T - 1`` (and ``2 * pct_start * T - 2`` with ``three_phase``) and
    ``T - 1``, ``T = total_steps`` (default ``max_iters``). The LR is first written at iteration 0.
    """

    def __init__(
        self, max_lr: Any, total_steps: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
        div_factor: float = 25, final_div_factor: float = 1e4, three_phase: bool = False, **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        if kwargs.setdefault("by_epoch", False):
            raise ConfigError("by_epoch", True, "False", "remove by_epoch (OneCycle updates per iteration).", where)
        if total_steps is not None and (not isinstance(total_steps, int) or isinstance(total_steps, bool)):
            raise ConfigError("total_steps", total_steps, "an int or None", "use an int number of iterations.", where)
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ConfigError("pct_start", pct_start, "a float in [0, 1]", "use e.g. 0.3.", where)
        check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"), where)
        self.max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.anneal = annealing_cos if anneal_strategy == "cos" else annealing_linear
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self.phases: list[tuple[float, float, float]] = []
        super().__init__(**kwargs)

    def before_run(self, runner: Any) -> None:
        where = type(self).__name__
        total = self.total_steps if self.total_steps is not None else runner.max_iters
        if total < runner.max_iters:
            raise ConfigError(
                "total_steps", total, f"at least max_iters ({runner.max_iters})", "raise total_steps or drop it.", where
            )
        self.base_values = {}
        for key, optimizer in optimizers_of(runner).items():
            name = key if key is not None else type(optimizer).__name__
            bases = [lr / self.div_factor for lr in per_group(f"{where}.max_lr", name, optimizer, self.max_lr)]
            for group, base in zip(optimizer.param_groups, bases):
                group.setdefault("initial_lr", base)
            self.base_values[key] = bases
        pct = float(self.pct_start * total)
        if self.three_phase:
            self.phases = [(pct - 1, 1, self.div_factor), (2 * pct - 2, self.div_factor, 1),
                           (total - 1, 1, 1 / self.final_div_factor)]
        else:
            self.phases = [(pct - 1, 1, self.div_factor), (total - 1, self.div_factor, 1 / self.final_div_factor)]

    def get_lr(self, runner: Any, base_lr: float) -> float:
        it = runner.iter
        start = 0.0
        for i, (end, first, last) in enumerate(self.phases):
            if it <= end or i == len(self.phases) - 1:
                return self.anneal(base_lr * first, base_lr * last, (it - start) / (end - start))
            start = end
        raise AssertionError("unreachable: the last phase always matches")


LR_POLICIES: dict[str, type[LrUpdaterHook]] = {
    cls.__name__[: -len("LrUpdaterHook")]: cls
    for cls in (
        FixedLrUpdaterHook, StepLrUpdaterHook, ExpLrUpdaterHook, PolyLrUpdaterHook, InvLrUpdaterHook,
        CosineAnnealingLrUpdaterHook, FlatCosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook,
        CyclicLrUpdaterHook, OneCycleLrUpdaterHook, LinearAnnealingLrUpdaterHook,
    )
}


def policy_class_name(policy: str) -> str:
    """MMCV's spelling rule: an all-lowercase policy is title-cased (``'step'`` -> ``'Step'``)."""
    return policy.title() if policy == policy.lower() else policy


def build_from_policy(
    config: Mapping[str, Any], policies: Mapping[str, type[Hook]], path: str, defaults: Mapping[str, Any]
) -> Hook:
    """Build an updater from an MMCV ``*_config`` dict: ``policy`` picks the class, the rest are its arguments."""
    kwargs = {**defaults, **dict(config)}
    kwargs.pop("type", None)
    policy = kwargs.pop("policy", None)
    if not isinstance(policy, str) or policy_class_name(policy) not in policies:
        names = sorted(policies)
        near = closest(policy_class_name(policy) if isinstance(policy, str) else policy, names)
        fix = f"did you mean {near!r}? (camel-case names must be written as such)" if near else f"pick one of {names}."
        raise ConfigError("policy", policy, f"one of {names}", fix, path)
    cls = policies[policy_class_name(policy)]
    check_keys(path, kwargs, accepted_arguments(cls), f"an argument of {cls.__name__}")
    try:
        return cls(**kwargs)
    except ConfigError as err:
        raise ConfigError(err.key, err.value, err.expected, err.fix, path) from None
    except TypeError as err:  # a required argument is missing
        raise ConfigError(
            "policy", policy, f"the arguments {cls.__name__} requires", f"check the keys of {path}: {err}", path
        ) from err


def accepted_arguments(cls: type) -> set[str]:
    """Keyword arguments of ``cls``: its ``__init__`` and, through ``**kwargs``, its bases' (MMCV's pattern)."""
    import inspect

    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def build_lr_updater(lr_config: Mapping[str, Any], path: str = "lr_config", by_epoch_default: bool = True) -> Hook:
    """The LR updater an MMCV ``lr_config`` describes; ``by_epoch_default=False`` mirrors IterBasedRunner.

    Raises:
        ConfigError: unknown ``policy`` (key ``lr_config.policy``) or bad policy arguments.
    """
    return build_from_policy(lr_config, LR_POLICIES, path, {} if by_epoch_default else {"by_epoch": False})


def LegacyLrUpdaterHook(policy: str, **kwargs: Any) -> Hook:  # noqa: N802 - a config ``type`` name
    """Config entry point (``custom_hooks=[dict(type='LegacyLrUpdaterHook', policy=..., ...)]``) for MMCV's formulas."""
    return build_lr_updater({"policy": policy, **kwargs}, path="LegacyLrUpdaterHook")


HOOKS.register_module(module=LegacyLrUpdaterHook)  # not as a decorator: register_module() is untyped
