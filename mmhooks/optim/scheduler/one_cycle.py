"""The 1cycle policy: warm up to ``eta_max``, then anneal far below the start (absolute, not chainable)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

from mmhooks.errors import check_choice
from mmhooks.optim.scheduler.param_scheduler import INF, OptimizerLike, _ParamScheduler, scheduler_error
from mmhooks.registry import PARAM_SCHEDULERS

__all__ = ["OneCycleLR", "OneCycleParamScheduler", "anneal_cos", "anneal_linear"]


def anneal_cos(start: float, end: float, pct: float) -> float:
    """Half-cosine interpolation from ``start`` (``pct=0``) to ``end`` (``pct=1``)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def anneal_linear(start: float, end: float, pct: float) -> float:
    """Straight-line interpolation from ``start`` (``pct=0``) to ``end`` (``pct=1``)."""
    return (end - start) * pct + start


_ANNEALERS = {"cos": anneal_cos, "linear": anneal_linear}
# MMEngine's OneCycle saves its annealing function; its name gives the strategy back.
_MMENGINE_ANNEALERS = {"_annealing_cos": "cos", "_annealing_linear": "linear"}


@PARAM_SCHEDULERS.register_module()
class OneCycleParamScheduler(_ParamScheduler):
    """Rise from ``eta_max / div_factor`` to ``eta_max``, then fall to ``initial / final_div_factor``.

    The values live in each group as ``initial_lr``, ``max_lr`` and ``min_lr``;
    ``initial_lr`` is overwritten, so the optimizer's own ``lr`` is ignored.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an object with ``param_groups``.
        param_name: Must be ``"lr"``.
        eta_max: Peak value, a number or one per group.
        total_steps: Length of the cycle; ``None`` means ``end - begin``.
        pct_start: Fraction of the cycle spent rising, in ``[0, 1]``.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: ``initial = eta_max / div_factor``.
        final_div_factor: ``minimum = initial / final_div_factor``.
        three_phase: Fall back to ``initial`` first, then to the minimum.
        begin: First step (inclusive) of the window.
        end: Last step (exclusive) of the window.
        last_step: Index of the last step taken; ``-1`` for a fresh start.
        by_epoch: Whether one step is an epoch.
        verbose: Log every update.

    Raises:
        ValueError: stepping past ``total_steps``.

    State:
        Every attribute but the optimizer, as MMEngine (``eta_max``,
        ``total_steps``, ``_schedule_phases``...), except that the annealing
        is saved by name (``anneal_strategy``) instead of MMEngine's
        ``anneal_func`` function object, so ``torch.load(weights_only=True)``
        reads it; an MMEngine state's ``anneal_func`` is translated on load.

    MMEngine parity:
        ``pct_start`` may be any real number in ``[0, 1]`` (MMEngine rejects an int).
        There is no momentum variant and momentum is never cycled, as in MMEngine.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = OneCycleLR(opt, eta_max=0.1, total_steps=10, by_epoch=False)
        >>> round(opt.param_groups[0]["lr"], 12)
        0.004
    """

    EPOCH_SCALED_ARGS = ("total_steps",)

    def __init__(
        self,
        optimizer: OptimizerLike,
        param_name: str,
        eta_max: float | Sequence[float] = 0,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        owner = type(self).__name__
        if param_name != "lr":
            raise scheduler_error(owner, "param_name", param_name, "'lr'", "schedule momentum with another scheduler.")
        if total_steps is not None and (
            isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0
        ):
            raise scheduler_error(owner, "total_steps", total_steps, "a positive int or None",
                                  "leave it None to use end - begin.")
        if isinstance(pct_start, bool) or not isinstance(pct_start, (int, float)) or not 0 <= pct_start <= 1:
            raise scheduler_error(owner, "pct_start", pct_start, "a number in [0, 1]", "use e.g. pct_start=0.3.")
        check_choice("anneal_strategy", anneal_strategy, _ANNEALERS, where=owner)
        self.eta_max = eta_max
        self.total_steps = total_steps if total_steps is not None else end - begin
        self.pct_start = pct_start
        self.anneal_strategy = anneal_strategy
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self._schedule_phases = self._make_phases(param_name)
        peaks = self._per_group(owner, optimizer, eta_max)
        if last_step == -1:
            for group, peak in zip(optimizer.param_groups, peaks):
                group[f"initial_{param_name}"] = peak / div_factor
                group[f"max_{param_name}"] = peak
                group[f"min_{param_name}"] = group[f"initial_{param_name}"] / final_div_factor
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _make_phases(self, name: str) -> list[dict[str, Any]]:
        """MMEngine's phase records: the last step of each phase and the group keys it anneals between."""

        def phase(end_step: float, start: str, end: str) -> dict[str, Any]:
            return {"end_step": end_step, f"start_{name}": f"{start}_{name}", f"end_{name}": f"{end}_{name}"}

        rise_end = float(self.pct_start * self.total_steps) - 1
        last = self.total_steps - 1
        if self.three_phase:
            fall_end = float(2 * self.pct_start * self.total_steps) - 2
            return [phase(rise_end, "initial", "max"), phase(fall_end, "max", "initial"), phase(last, "initial", "min")]
        return [phase(rise_end, "initial", "max"), phase(last, "max", "min")]

    @staticmethod
    def _per_group(owner: str, optimizer: OptimizerLike, value: float | Sequence[float]) -> list[float]:
        count = len(optimizer.param_groups)
        if isinstance(value, (list, tuple)):
            if len(value) != count:
                raise scheduler_error(owner, "eta_max", value, f"a number or a list of {count} (one per group)",
                                      "give one value per param group.")
            return list(value)
        return [cast(float, value)] * count

    def _get_value(self) -> list[Any]:
        t = self.last_step
        if t > self.total_steps:
            raise ValueError(
                f"{type(self).__name__}: tried to step {t + 1} times; total_steps is {self.total_steps}. "
                "Fix: raise total_steps or end so that the cycle covers the whole run."
            )
        anneal = _ANNEALERS[self.anneal_strategy]
        start_step = 0.0
        for phase in self._schedule_phases[:-1]:
            if t <= phase["end_step"]:
                break
            start_step = phase["end_step"]
        else:
            phase = self._schedule_phases[-1]  # the last phase also takes t == total_steps (extrapolated)
        pct = (t - start_step) / (phase["end_step"] - start_step)
        start_key, end_key = phase[f"start_{self.param_name}"], phase[f"end_{self.param_name}"]
        return [anneal(group[start_key], group[end_key], pct) for group in self.optimizer.param_groups]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore every saved attribute; MMEngine's ``anneal_func`` becomes ``anneal_strategy``."""
        state = dict(state_dict)
        anneal_func = state.pop("anneal_func", None)
        if anneal_func is not None and "anneal_strategy" not in state:
            name = getattr(anneal_func, "__name__", "")
            state["anneal_strategy"] = _MMENGINE_ANNEALERS.get(name, self.anneal_strategy)
        super().load_state_dict(state)


@PARAM_SCHEDULERS.register_module()
class OneCycleLR(OneCycleParamScheduler):
    """:class:`OneCycleParamScheduler` on ``lr``."""

    def __init__(
        self,
        optimizer: OptimizerLike,
        eta_max: float | Sequence[float] = 0,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__(optimizer, param_name="lr", eta_max=eta_max, total_steps=total_steps, pct_start=pct_start,
                         anneal_strategy=anneal_strategy, div_factor=div_factor, final_div_factor=final_div_factor,
                         three_phase=three_phase, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch,
                         verbose=verbose)
