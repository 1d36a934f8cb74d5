"""``lr_config`` / ``momentum_config`` -> MMEngine ``param_scheduler`` entries, with the corrected recipes.

Corrections over MMEngine's migration guide (spec mmcv_legacy §5.1): warmup and poly/linear
schedules end at ``N + 1`` (not ``N``); exp warmup is ``LinearLR(r, r)`` + ``ExponentialLR(r**(-1/W))``
(not ``ExponentialLR(gamma=r)``); MMCV's exp policy takes ``gamma`` (not ``power``).
Every lossy item adds one warning naming the key and the size of the difference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mmhooks.legacy.anneal import annealing_cos
from mmhooks.legacy.lr_updater import build_lr_updater, policy_class_name, step_exponent
from mmhooks.legacy.momentum_updater import build_momentum_updater

__all__ = ["ScheduleContext", "convert_lr_config", "convert_momentum_config"]

_SIMULATION_LIMIT = 2_000_000


@dataclass
class ScheduleContext:
    """What the schedule conversion knows about the run.

    Args:
        by_epoch_runner: EpochBasedRunner (``True``) or IterBasedRunner.
        max_epochs: Epochs of an epoch-based run.
        max_iters: Iterations of an iter-based run.
        iters_per_epoch: Train batches per epoch, when the caller knows it (makes more recipes exact).
        base_lr: ``optimizer.lr`` (single optimizer), for sizes that depend on it.
        single_lr: False when paramwise settings give groups different LRs.
    """

    by_epoch_runner: bool
    max_epochs: int | None
    max_iters: int | None
    iters_per_epoch: int | None
    base_lr: float | None
    single_lr: bool = True
    warnings: list[str] = field(default_factory=list)

    @property
    def total_iters(self) -> int | None:
        if not self.by_epoch_runner:
            return self.max_iters
        if self.max_epochs is not None and self.iters_per_epoch:
            return self.max_epochs * self.iters_per_epoch
        return None

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{key}: {message}")


def _pct(x: float) -> str:
    """``x`` rounded *up* to 3 significant digits (the text is a bound), with a percentage when >= 1 %."""
    if x > 0:
        scale = 10 ** (math.floor(math.log10(x)) - 2)
        x = math.ceil(x / scale - 1e-9) * scale
    return f"{x:.3g}" if x < 0.01 else f"{x:.3g} ({x * 100:.3g} %)"


@dataclass
class _Units:
    """How progress ``p`` / ``P`` of the MMCV policy is expressed in MMEngine."""

    kwargs: dict[str, Any]
    total: int | None  # P in the scheduler's unit, when exactly expressible
    scaled: bool  # epoch units converted to iterations by MMEngine (convert_to_iter_based)
    epochs: int | None  # P in epochs when scaled


def _units(by_epoch: bool, ctx: ScheduleContext) -> _Units:
    if by_epoch:
        return _Units({"by_epoch": True}, ctx.max_epochs, False, None)
    if ctx.total_iters is not None:
        return _Units({"by_epoch": False}, ctx.total_iters, False, None)
    return _Units({"by_epoch": True, "convert_to_iter_based": True}, None, True, ctx.max_epochs)


def _composition_error(
    factors: Callable[[int], float], warmup_iters: int, regular: Callable[[int], float], eta_min: float,
    total_iters: int, epoch_len: int | None,
) -> float:
    """Max relative gap between MMCV's ``warmup(t) * regular(p)`` and MMEngine's chained warmup + affine main.

    MMEngine steps the warmup then the main scheduler; the main's chained form maps the current value
    ``x`` to ``eta_min + (x - eta_min) * (g(p) - eta_min) / (g(p-1) - eta_min)``.
    """
    steps = min(total_iters, _SIMULATION_LIMIT)
    x = factors(0) * regular(0)
    worst = 0.0
    for t in range(1, steps):
        if t <= warmup_iters:
            x *= factors(t) / factors(t - 1)
        p = t if epoch_len is None else t // epoch_len
        if epoch_len is None or t % epoch_len == 0:
            before = regular(p - 1) - eta_min
            x = eta_min + (x - eta_min) * ((regular(p) - eta_min) / before) if before else regular(p)
        y = (factors(t) if t < warmup_iters else 1.0) * regular(p)
        if y:
            worst = max(worst, abs(x - y) / abs(y))
    return worst


def _warmup_factors(kind: str, ratio: float, w: int) -> Callable[[int], float]:
    def factor(t: int) -> float:
        if t >= w:
            return 1.0
        if kind == "constant":
            return ratio
        if kind == "linear":
            return 1 - (1 - t / w) * (1 - ratio)
        return float(ratio ** (1 - t / w))

    return factor


def _warmup(cfg: dict[str, Any], ctx: ScheduleContext, key: str, kind_name: str) -> tuple[list[dict[str, Any]], int | None]:
    """The warmup schedulers and the warmup length in iterations (``None`` when unknown)."""
    kind = cfg.get("warmup")
    if kind is None:
        return [], 0
    ratio = float(cfg.get("warmup_ratio", 0.1 if kind_name == "LR" else 0.9))
    if kind_name == "Momentum":
        ctx.warn(
            f"{key}.warmup",
            f"MMCV divides momentum by the warmup factor (up to {1 / ratio:.4g}x the scheduled value at "
            f"iteration 0, relative difference {_pct(1 / ratio - 1)}); MMEngine's momentum schedulers reject "
            "factors > 1, so the warmup is dropped. Pass exact=True to keep it.",
        )
        return [], None
    w = int(cfg.get("warmup_iters", 0))
    by_epoch_warmup = bool(cfg.get("warmup_by_epoch", False))
    if by_epoch_warmup and ctx.iters_per_epoch:
        w, by_epoch_warmup = w * ctx.iters_per_epoch, False
    if not by_epoch_warmup:
        it = {"begin": 0, "end": w + 1, "by_epoch": False}
        if kind == "linear":
            return [dict(type="LinearLR", start_factor=ratio, end_factor=1.0, **it)], w
        if kind == "constant":
            return [dict(type="ConstantLR", factor=ratio, **it)], w
        return [dict(type="LinearLR", start_factor=ratio, end_factor=ratio, **it),
                dict(type="ExponentialLR", gamma=ratio ** (-1 / w), **it)], w
    epochs = {"begin": 0, "end": w, "by_epoch": True, "convert_to_iter_based": True}
    if kind == "linear":
        ctx.warn(
            f"{key}.warmup_by_epoch",
            f"warmup ends one iteration early without the epoch length (end = {w} epochs, not +1 iteration): "
            f"relative LR difference up to {_pct((1 - ratio) / w)}. Pass iters_per_epoch for an exact recipe.",
        )
        return [dict(type="LinearLR", start_factor=ratio, end_factor=1.0, **epochs)], None
    if kind == "constant":
        ctx.warn(
            f"{key}.warmup_by_epoch",
            f"the constant warmup ends one iteration early without the epoch length: at its last iteration "
            f"the LR is {1 / ratio:.4g}x MMCV's (relative difference {_pct(1 / ratio - 1)}). "
            "Pass iters_per_epoch for an exact recipe.",
        )
        return [dict(type="ConstantLR", factor=ratio, **epochs)], None
    ctx.warn(
        f"{key}.warmup",
        f"exp warmup over {w} epochs needs the epoch length to set its growth rate; dropped, so the LR starts "
        f"{1 / ratio:.4g}x higher than MMCV's (relative difference {_pct(1 / ratio - 1)}). "
        "Pass iters_per_epoch or exact=True.",
    )
    return [], None


def _target(cfg: dict[str, Any], prefix: str, kind: str) -> dict[str, Any]:
    """``eta_min`` or ``eta_min_ratio`` from MMCV's ``min_lr`` / ``min_lr_ratio``."""
    ratio = cfg.get(f"min_{prefix}_ratio")
    return {"eta_min_ratio": ratio} if ratio is not None else {"eta_min": cfg.get(f"min_{prefix}", 0.0)}


def _target_value(cfg: dict[str, Any], prefix: str, base: float | None) -> float | None:
    ratio = cfg.get(f"min_{prefix}_ratio")
    if ratio is not None:
        return None if base is None else base * ratio
    return float(cfg.get(f"min_{prefix}", 0.0))


def _convert(cfg: dict[str, Any], ctx: ScheduleContext, key: str, kind: str) -> list[dict[str, Any]]:
    """Schedulers for an LR (``kind='LR'``) or momentum (``'Momentum'``) config; warnings go to ``ctx``."""
    cfg = dict(cfg)
    policy = policy_class_name(str(cfg.get("policy")))
    prefix = "lr" if kind == "LR" else "momentum"
    base = ctx.base_lr if kind == "LR" else None
    iter_policy = policy in ("Cyclic", "OneCycle")
    by_epoch = bool(cfg.get("by_epoch", False if iter_policy else (ctx.by_epoch_runner or kind != "LR")))
    if not ctx.by_epoch_runner and by_epoch:
        ctx.warn(
            f"{key}.by_epoch",
            f"True under IterBasedRunner: MMCV never runs the epoch update, so the {policy} policy never "
            f"changes the {prefix} (relative difference 0 as converted: no main scheduler). "
            "Set by_epoch=False if the schedule was meant to run.",
        )
        warm, _ = _warmup(cfg, ctx, key, kind)
        return warm
    units = _units(by_epoch, ctx)
    warm, w = _warmup(cfg, ctx, key, kind)
    name: Callable[[str], str] = lambda stem: f"{stem}{kind}"  # noqa: E731 - "CosineAnnealing" + "LR"
    main: list[dict[str, Any]] = []
    affine: tuple[Callable[[int], float], float] | None = None  # (MMCV regular value per progress, eta_min)
    affine_target = False  # the main schedule anneals to a non-zero floor (chained form is not multiplicative)
    total = units.total
    size: float | None  # a relative difference; None when unknown

    if policy == "Fixed":
        pass
    elif policy == "Step":
        step = cfg["step"]
        gamma = cfg.get("gamma", 0.1 if kind == "LR" else 0.5)
        unit = {"by_epoch": by_epoch}
        if isinstance(step, int):
            main.append(dict(type=name("Step"), step_size=step, gamma=gamma, **unit))
        else:
            main.append(dict(type=name("MultiStep"), milestones=list(step), gamma=gamma, **unit))
        floor = cfg.get(f"min_{prefix}")
        if floor is not None:
            last = (total - 1) if total else None
            k = step_exponent(step, last) if last is not None else (len(step) if isinstance(step, list) else None)
            start = base if kind == "LR" else None
            if k is not None and start is not None:
                lowest = start * gamma**k
                if lowest < floor:
                    ctx.warn(f"{key}.min_{prefix}", f"the {floor} floor has no MMEngine counterpart; it binds, "
                             f"relative difference up to {_pct((floor - lowest) / floor)}.")
            else:
                ctx.warn(f"{key}.min_{prefix}", f"the {floor} floor has no MMEngine counterpart; where it binds the "
                         f"difference is (floor - value) / floor, up to {_pct(1.0)} as the value decays.")
    elif policy == "Exp" and kind == "LR":
        main.append(dict(type="ExponentialLR", gamma=cfg["gamma"], by_epoch=by_epoch))
    elif policy == "Inv" and kind == "LR":
        gamma, power = cfg["gamma"], cfg.get("power", 1.0)
        last = (total or units.epochs or 1) - 1
        size_text = _pct((1 + gamma * last) ** power - 1) if total else f"(1 + {gamma} * (P - 1))**{power} - 1"
        ctx.warn(f"{key}.policy", f"'inv' has no MMEngine scheduler; the LR is left at its base value, relative "
                 f"difference up to {size_text}. Pass exact=True to keep MMCV's formula.")
    elif policy == "Poly" and kind == "LR":
        power, eta_min = cfg.get("power", 1.0), cfg.get("min_lr", 0.0)
        affine_target = bool(eta_min)
        if total is not None:
            main.append(dict(type="PolyLR", eta_min=eta_min, power=power, begin=0, end=total + 1, **units.kwargs))
            affine = (lambda p: (base - eta_min) * (1 - p / total) ** power + eta_min, eta_min) if base else None
        else:
            epochs = units.epochs or 1
            main.append(dict(type="PolyLR", eta_min=eta_min, power=power, begin=0, end=epochs, **units.kwargs))
            tail = (1 / epochs) ** power
            size = 1.0 if not eta_min or base is None else (base - eta_min) * tail / (eta_min + (base - eta_min) * tail)
            ctx.warn(f"{key}.by_epoch", f"poly by iteration needs the epoch length for end = P + 1; with end = "
                     f"{epochs} epochs MMEngine reaches min_lr one iteration early, relative difference up to "
                     f"{_pct(size)} at the last iteration. Pass iters_per_epoch for an exact recipe.")
    elif policy in ("CosineAnnealing", "FlatCosineAnnealing"):
        affine_target = bool(cfg.get(f"min_{prefix}") or cfg.get(f"min_{prefix}_ratio"))
        if total is not None:
            start = round(total * cfg.get("start_percent", 0.75)) if policy == "FlatCosineAnnealing" else 0
            main.append(dict(type=name("CosineAnnealing"), T_max=total - start, begin=start, end=total,
                             **_target(cfg, prefix, kind), **units.kwargs))
            target = _target_value(cfg, prefix, base)
            if target and base:
                affine = (lambda p: base if p < start else annealing_cos(base, target, (p - start) / (total - start)),
                          target)
        else:
            epochs = units.epochs or 1
            start_e = epochs * cfg.get("start_percent", 0.75) if policy == "FlatCosineAnnealing" else 0
            main.append(dict(type=name("CosineAnnealing"), T_max=epochs - start_e, begin=start_e, end=epochs,
                             **_target(cfg, prefix, kind), **units.kwargs))
            if policy == "FlatCosineAnnealing" and start_e != int(start_e):
                ctx.warn(f"{key}.start_percent", "without the epoch length MMEngine truncates the flat phase's end "
                         "(int) where MMCV rounds it: the cosine may start one iteration earlier, a relative "
                         "difference of at most one iteration's cosine step.")
    elif policy == "LinearAnnealing":
        ratio = cfg.get(f"min_{prefix}_ratio")
        if ratio is None:
            if kind == "LR" and base and ctx.single_lr:
                ratio = cfg[f"min_{prefix}"] / base
            else:
                ctx.warn(f"{key}.min_{prefix}", "an absolute target is expressed as end_factor = min / base and is "
                         "exact only for a single base value; groups with other bases differ by their ratio.")
                ratio = cfg[f"min_{prefix}"] / (base or 1.0)
        end = (total + 1) if total is not None else (units.epochs or 1)
        main.append(dict(type=name("Linear"), start_factor=1.0, end_factor=ratio, begin=0, end=end, **units.kwargs))
        if total is None:
            p = units.epochs or 1
            size = (1 - ratio) / (ratio * p + 1 - ratio) if ratio < 1 else 0.0
            ctx.warn(f"{key}.by_epoch", f"linear annealing by iteration needs the epoch length for end = P + 1; "
                     f"MMEngine reaches the target one iteration early, relative difference up to {_pct(size)}. "
                     "Pass iters_per_epoch for an exact recipe.")
    elif policy == "CosineRestart" and kind == "LR":
        periods, weights = list(cfg["periods"]), list(cfg.get("restart_weights", [1]))
        unit = {"by_epoch": by_epoch}
        main.append(dict(type="CosineRestartLR", periods=periods, restart_weights=weights,
                         **_target(cfg, prefix, kind), begin=0, end=sum(periods), **unit))
        bad = [w_ for w_ in weights if w_ != 1]
        q = cfg.get("min_lr_ratio")
        if bad and (q or cfg.get("min_lr")):
            if q is not None:
                size = max(q * (1 - w_) / (q + w_ * (1 - q)) for w_ in bad)
            elif base:
                m = cfg["min_lr"]
                size = max(m * (1 - w_) / (m + w_ * (base - m)) for w_ in bad)
            else:
                size = 1.0
            ctx.warn(f"{key}.restart_weights", f"MMEngine restarts at w * base, MMCV at min + w * (base - min): "
                     f"relative difference {_pct(size)} at a restart.")
    elif policy == "Cyclic":
        ratios = cfg.get("target_ratio", (10, 1e-4) if kind == "LR" else (0.85 / 0.95, 1))
        ratios = (ratios, ratios / 1e5) if isinstance(ratios, (int, float)) else tuple(ratios)
        peak, low = (ratios[0], ratios[0] / 1e5) if len(ratios) == 1 else ratios
        times, up_ratio = cfg.get("cyclic_times", 1), cfg.get("step_ratio_up", 0.4)
        if times != 1 or cfg.get("gamma", 1) != 1:
            ctx.warn(f"{key}.cyclic_times", f"several or shrinking cycles have no MMEngine recipe (the chained "
                     f"schedulers cannot jump back to the base at a cycle start); no scheduler emitted, relative "
                     f"difference up to {_pct(max(abs(1 - 1 / peak), abs(1 / low - 1)))}. Pass exact=True.")
        else:
            n = ctx.total_iters
            if n is not None:
                up = int(up_ratio * n)
                main += [dict(type=name("CosineAnnealing"), T_max=up, eta_min_ratio=peak, begin=0, end=up,
                              by_epoch=False),
                         dict(type=name("CosineAnnealing"), T_max=n - up, eta_min_ratio=low, begin=up, end=n,
                              by_epoch=False)]
                u_min = up
            else:
                e = ctx.max_epochs or 1
                conv = {"by_epoch": True, "convert_to_iter_based": True}
                main += [dict(type=name("CosineAnnealing"), T_max=up_ratio * e, eta_min_ratio=peak, begin=0,
                              end=up_ratio * e, **conv),
                         dict(type=name("CosineAnnealing"), T_max=e - up_ratio * e, eta_min_ratio=low,
                              begin=up_ratio * e, end=e, **conv)]
                u_min = max(int(up_ratio * e), 1)
            size = (1 - math.cos(math.pi / max(u_min, 1))) / 2 * abs(1 - 1 / peak)
            bound = "" if n is not None else " (bound for 1 iteration per epoch; pass iters_per_epoch)"
            ctx.warn(f"{key}.policy", f"Cyclic as two cosine phases starts the down phase from the up phase's "
                     f"value one step before the peak: relative difference {_pct(size)} over the down phase{bound}.")
    elif policy == "OneCycle":
        if kind == "Momentum":
            ctx.warn(f"{key}.policy", "OneCycle momentum has no MMEngine scheduler (OneCycleParamScheduler only "
                     f"drives lr); momentum left at its base value, relative difference up to "
                     f"{_pct(abs(cfg.get('max_momentum', 0.95) / cfg.get('base_momentum', 0.85) - 1))}. "
                     "Pass exact=True.")
        else:
            steps = cfg.get("total_steps") or ctx.total_iters
            common = dict(eta_max=cfg["max_lr"], pct_start=cfg.get("pct_start", 0.3),
                          anneal_strategy=cfg.get("anneal_strategy", "cos"), div_factor=cfg.get("div_factor", 25),
                          final_div_factor=cfg.get("final_div_factor", 1e4), three_phase=cfg.get("three_phase", False))
            if steps is not None:
                main.append(dict(type="OneCycleLR", total_steps=steps, by_epoch=False, **common))
            else:
                main.append(dict(type="OneCycleLR", total_steps=ctx.max_epochs, by_epoch=True,
                                 convert_to_iter_based=True, **common))
            if warm:
                ctx.warn(f"{key}.warmup", "MMEngine's OneCycleLR sets the LR from its own closed form, so a "
                         f"warmup before it is lost: relative difference up to {_pct(1 - cfg.get('warmup_ratio', 0.1))}.")
                warm = []
    else:
        ctx.warn(f"{key}.policy", f"{policy!r} has no MMEngine {kind} scheduler; left unscheduled (relative "
                 "difference up to 100 %). Pass exact=True.")

    if warm and affine_target:
        size = None
        epoch_len = ctx.iters_per_epoch if by_epoch else None
        iters = ctx.total_iters if by_epoch else total
        if affine is not None and w and iters is not None and (not by_epoch or epoch_len):
            factors = _warmup_factors(str(cfg["warmup"]), float(cfg.get("warmup_ratio", 0.1)), w)
            size = _composition_error(factors, w, affine[0], affine[1], iters, epoch_len)
        if size is None:
            when = f"0 when the warmup ({w} iterations) ends inside the first epoch, else " if by_epoch and w else ""
            ctx.warn(f"{key}.warmup", f"warmup x {policy} with a non-zero target composes differently in MMEngine's "
                     f"chained schedulers; relative difference {when}unknown without the epoch length (measured "
                     "6e-5 to 2e-2). Pass iters_per_epoch for the figure, or exact=True.")
        elif size > 0:
            ctx.warn(f"{key}.warmup", f"warmup x {policy} with a non-zero target composes differently in "
                     f"MMEngine's chained schedulers: relative difference {_pct(size)}.")
    return warm + main


def convert_lr_config(
    lr_config: dict[str, Any], ctx: ScheduleContext, exact: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(param_scheduler entries, custom_hooks entries)`` for an MMCV ``lr_config``.

    With ``exact=True`` a lossy conversion is replaced by ``LegacyLrUpdaterHook`` (MMCV's formulas).

    Raises:
        ConfigError: unknown ``lr_config.policy`` or bad policy arguments (checked by building the hook).
    """
    build_lr_updater(lr_config, "lr_config", by_epoch_default=ctx.by_epoch_runner)
    return _finish(lr_config, ctx, "lr_config", "LR", exact)


def convert_momentum_config(
    momentum_config: dict[str, Any], ctx: ScheduleContext, exact: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(param_scheduler entries, custom_hooks entries)`` for an MMCV ``momentum_config``."""
    build_momentum_updater(momentum_config, "momentum_config")
    return _finish(momentum_config, ctx, "momentum_config", "Momentum", exact)


def _finish(
    cfg: dict[str, Any], ctx: ScheduleContext, key: str, kind: str, exact: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    scratch = ScheduleContext(ctx.by_epoch_runner, ctx.max_epochs, ctx.max_iters, ctx.iters_per_epoch,
                              ctx.base_lr, ctx.single_lr)
    schedulers = _convert(cfg, scratch, key, kind)
    if exact and scratch.warnings:
        hook = {"type": f"Legacy{'Lr' if kind == 'LR' else 'Momentum'}UpdaterHook", **cfg,
                "priority": "VERY_HIGH" if kind == "LR" else "HIGH"}
        if kind == "LR" and not ctx.by_epoch_runner:
            hook.setdefault("by_epoch", False)
        return [], [hook]
    ctx.warnings.extend(scratch.warnings)
    return schedulers, []

