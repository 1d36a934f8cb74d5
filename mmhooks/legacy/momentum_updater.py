"""MMCV 1.x ``MomentumUpdaterHook`` policies with MMCV's exact formulas, as mmhooks hooks.

The value written is ``momentum`` (SGD-like) or ``betas[0]`` (Adam-like). Warmup *divides* the
regular momentum by the warmup factor, so momentum starts above its scheduled value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmhooks.errors import ConfigError, check_choice
from mmhooks.hooks.hook import Hook
from mmhooks.legacy.anneal import annealing_cos, annealing_linear, per_group
from mmhooks.legacy.lr_updater import CyclicSchedule, _check_steps, _target, build_from_policy, step_exponent
from mmhooks.legacy.runner_access import optimizers_of
from mmhooks.legacy.updater_base import Groups, ValueUpdaterHook
from mmhooks.registry import HOOKS

__all__ = [
    "CosineAnnealingMomentumUpdaterHook",
    "CyclicMomentumUpdaterHook",
    "LegacyMomentumUpdaterHook",
    "LinearAnnealingMomentumUpdaterHook",
    "MomentumUpdaterHook",
    "OneCycleMomentumUpdaterHook",
    "StepMomentumUpdaterHook",
    "build_momentum_updater",
]


def read_momentum(group: Mapping[str, Any]) -> float:
    """``momentum`` if the group has it, else ``betas[0]``."""
    return float(group["momentum"]) if "momentum" in group else float(group["betas"][0])


def write_momentum(group: dict[str, Any], value: float) -> None:
    if "momentum" in group:
        group["momentum"] = value
    elif "betas" in group:
        group["betas"] = (value, group["betas"][1])


class MomentumUpdaterHook(ValueUpdaterHook):
    """Base of the MMCV momentum policies (``warmup_ratio`` defaults to 0.9; no ``warmup_by_epoch``).

    MMEngine parity:
        Registered at MMCV's ``HIGH`` priority (after the LR updater).
    """

    priority = "HIGH"

    def __init__(
        self, by_epoch: bool = True, warmup: str | None = None, warmup_iters: int = 0, warmup_ratio: float = 0.9
    ) -> None:
        super().__init__(by_epoch=by_epoch, warmup=warmup, warmup_iters=warmup_iters, warmup_ratio=warmup_ratio)

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        raise NotImplementedError

    def policy_value(self, runner: Any, base: float) -> float:
        return self.get_momentum(runner, base)

    def read_base(self, group: dict[str, Any]) -> float:
        return float(group.setdefault("initial_momentum", read_momentum(group)))

    def write(self, group: dict[str, Any], value: float) -> None:
        write_momentum(group, value)

    def apply_warmup(self, value: float, factor: float) -> float:
        return value / factor


@HOOKS.register_module()
class StepMomentumUpdaterHook(MomentumUpdaterHook):
    """``policy='step'``: ``m * gamma**k``, floored at ``min_momentum`` when given."""

    def __init__(
        self, step: int | list[int], gamma: float = 0.5, min_momentum: float | None = None, **kwargs: Any
    ) -> None:
        _check_steps(type(self).__name__, step)
        self.step = step if isinstance(step, int) else list(step)
        self.gamma = gamma
        self.min_momentum = min_momentum
        super().__init__(**kwargs)

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        value = base_momentum * self.gamma ** step_exponent(self.step, self.progress(runner)[0])
        return max(value, self.min_momentum) if self.min_momentum is not None else value


class _TargetMomentumUpdaterHook(MomentumUpdaterHook):
    def __init__(
        self, min_momentum: float | None = None, min_momentum_ratio: float | None = None, **kwargs: Any
    ) -> None:
        _target(type(self).__name__, min_momentum, min_momentum_ratio, ("min_momentum", "min_momentum_ratio"))
        self.min_momentum = min_momentum
        self.min_momentum_ratio = min_momentum_ratio
        super().__init__(**kwargs)

    def target(self, base: float) -> float:
        if self.min_momentum_ratio is not None:
            return base * self.min_momentum_ratio
        return float(self.min_momentum)  # type: ignore[arg-type]


@HOOKS.register_module()
class CosineAnnealingMomentumUpdaterHook(_TargetMomentumUpdaterHook):
    """``policy='CosineAnnealing'``: ``cos_anneal(m, target, p/P)``."""

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        p, total = self.progress(runner)
        return annealing_cos(base_momentum, self.target(base_momentum), p / total)


@HOOKS.register_module()
class LinearAnnealingMomentumUpdaterHook(_TargetMomentumUpdaterHook):
    """``policy='LinearAnnealing'``: ``m + (target - m) * p/P``."""

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        p, total = self.progress(runner)
        return annealing_linear(base_momentum, self.target(base_momentum), p / total)


@HOOKS.register_module()
class CyclicMomentumUpdaterHook(MomentumUpdaterHook):
    """``policy='Cyclic'``: the LR version's phases with ratios relative to the base momentum."""

    def __init__(
        self, by_epoch: bool = False, target_ratio: Any = (0.85 / 0.95, 1), cyclic_times: int = 1,
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

    def get_momentum(self, runner: Any, base_momentum: float) -> float:
        return self.cycle.value(base_momentum, runner.iter)


@HOOKS.register_module()
class OneCycleMomentumUpdaterHook(MomentumUpdaterHook):
    """``policy='OneCycle'``: ``max -> base -> max`` (``max -> base -> max -> max`` with ``three_phase``).

    ``before_run`` overwrites every group's momentum with ``max_momentum``; phases end at
    ``pct_start * max_iters - 1`` (``2 * pct_start * max_iters - 2``) and ``max_iters - 1``.
    """

    def __init__(
        self, base_momentum: Any = 0.85, max_momentum: Any = 0.95, pct_start: float = 0.3,
        anneal_strategy: str = "cos", three_phase: bool = False, **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        if kwargs.setdefault("by_epoch", False):
            raise ConfigError("by_epoch", True, "False", "remove by_epoch (OneCycle updates per iteration).", where)
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ConfigError("pct_start", pct_start, "a float in [0, 1]", "use e.g. 0.3.", where)
        check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"), where)
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.pct_start = pct_start
        self.anneal = annealing_cos if anneal_strategy == "cos" else annealing_linear
        self.three_phase = three_phase
        self.phases: list[tuple[float, str, str]] = []
        super().__init__(**kwargs)

    def before_run(self, runner: Any) -> None:
        where = type(self).__name__
        for key, optimizer in optimizers_of(runner).items():
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ConfigError(
                    "optimizer", type(optimizer).__name__, "an optimizer with momentum or betas",
                    "use SGD(momentum=...) or an Adam-type optimizer.", where,
                )
            name = key if key is not None else type(optimizer).__name__
            lows = per_group(f"{where}.base_momentum", name, optimizer, self.base_momentum)
            highs = per_group(f"{where}.max_momentum", name, optimizer, self.max_momentum)
            for group, low, high in zip(optimizer.param_groups, lows, highs):
                if "betas" in optimizer.defaults:
                    group["betas"] = (high, group["betas"][1])
                else:
                    group["momentum"] = high
                group["base_momentum"] = low
                group["max_momentum"] = high
        pct = float(self.pct_start * runner.max_iters)
        if self.three_phase:
            self.phases = [(pct - 1, "max_momentum", "base_momentum"), (2 * pct - 2, "base_momentum", "max_momentum"),
                           (runner.max_iters - 1, "max_momentum", "max_momentum")]
        else:
            self.phases = [(pct - 1, "max_momentum", "base_momentum"),
                           (runner.max_iters - 1, "base_momentum", "max_momentum")]

    def regular(self, runner: Any) -> Groups:
        return {
            key: [self.group_momentum(runner.iter, group) for group in optimizer.param_groups]
            for key, optimizer in optimizers_of(runner).items()
        }

    def group_momentum(self, it: int, group: Mapping[str, Any]) -> float:
        start = 0.0
        for i, (end, first, last) in enumerate(self.phases):
            if it <= end or i == len(self.phases) - 1:
                return self.anneal(group[first], group[last], (it - start) / (end - start))
            start = end
        raise AssertionError("unreachable: the last phase always matches")


MOMENTUM_POLICIES: dict[str, type[MomentumUpdaterHook]] = {
    cls.__name__[: -len("MomentumUpdaterHook")]: cls
    for cls in (
        StepMomentumUpdaterHook, CosineAnnealingMomentumUpdaterHook, LinearAnnealingMomentumUpdaterHook,
        CyclicMomentumUpdaterHook, OneCycleMomentumUpdaterHook,
    )
}


def build_momentum_updater(momentum_config: Mapping[str, Any], path: str = "momentum_config") -> Hook:
    """The momentum updater an MMCV ``momentum_config`` describes.

    MMCV's IterBasedRunner does not default ``by_epoch`` to False here (unlike the LR hook); neither do we.

    Raises:
        ConfigError: unknown ``policy`` (key ``momentum_config.policy``) or bad policy arguments.
    """
    return build_from_policy(momentum_config, MOMENTUM_POLICIES, path, {})


def LegacyMomentumUpdaterHook(policy: str, **kwargs: Any) -> Hook:  # noqa: N802 - a config ``type`` name
    """Config entry point (``custom_hooks=[dict(type='LegacyMomentumUpdaterHook', ...)]``) for MMCV's formulas."""
    return build_momentum_updater({"policy": policy, **kwargs}, path="LegacyMomentumUpdaterHook")


HOOKS.register_module(module=LegacyMomentumUpdaterHook)  # not as a decorator: register_module() is untyped
