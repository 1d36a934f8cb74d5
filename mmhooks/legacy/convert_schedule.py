"""``lr_config`` / ``momentum_config`` -> MMEngine ``param_scheduler`` entries, with the corrected recipes.

Corrections over MMEngine's migration guide (spec mmcv_legacy §5.1): warmup and poly/linear
schedules end at ``N + 1`` (not ``N``); exp warmup is ``LinearLR(r, r)`` + ``ExponentialLR(r**(-1/W))``
(not ``ExponentialLR(gamma=r)``); MMCV's exp policy takes ``gamma`` (not ``power``).

Each policy has its own converter in :data:`POLICY_CONVERTERS`. Every lossy item adds one warning
naming the key and the size of the difference, computed for the epoch length when it is given and
otherwise for the worst case (1 iteration per epoch), said so in the text. A policy that is not MMCV's
(a project's own ``LrUpdaterHook`` subclass) is kept as a custom hook with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mmhooks.errors import ConfigError
from mmhooks.legacy.anneal import annealing_cos
from mmhooks.legacy.lr_updater import LR_POLICIES, build_lr_updater, policy_class_name, step_exponent
from mmhooks.legacy.momentum_updater import MOMENTUM_POLICIES, build_momentum_updater

__all__ = ["POLICY_CONVERTERS", "ScheduleContext", "convert_lr_config", "convert_momentum_config"]

_SIMULATION_LIMIT = 2_000_000
GIVE_LENGTH = "give the epoch length (--iters-per-epoch N) for an exact recipe"
USE_EXACT = "keep MMCV's formula with --exact"
WORST_CASE = "worst case, at 1 iteration per epoch; --iters-per-epoch N gives your run's figure"


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

    def copy(self) -> ScheduleContext:
        return ScheduleContext(self.by_epoch_runner, self.max_epochs, self.max_iters, self.iters_per_epoch,
                               self.base_lr, self.single_lr)


def _pct(x: float) -> str:
    """``x`` rounded *up* to 3 significant digits (the text is a bound), with a percentage when >= 1 %."""
    if x > 0:
        scale = 10 ** (math.floor(math.log10(x)) - 2)
        x = math.ceil(x / scale - 1e-9) * scale
    return f"{x:.3g}" if x < 0.01 else f"{x:.3g} ({x * 100:.3g} %)"


def _num(x: float) -> int | float:
    """An integral value as an ``int`` (``16.0`` -> ``16``): epochs and iterations stay integers."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


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
            f"factors > 1, so the warmup is dropped; {USE_EXACT}.",
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
            f"without the epoch length the warmup ends one iteration early (end = {w} epochs, not + 1 "
            f"iteration): relative LR difference up to {_pct((1 - ratio) / w)} ({WORST_CASE}; with L "
            f"iterations per epoch it is {_pct(1 - ratio)} / ({w} * L)). Or {GIVE_LENGTH}.",
        )
        return [dict(type="LinearLR", start_factor=ratio, end_factor=1.0, **epochs)], None
    if kind == "constant":
        ctx.warn(
            f"{key}.warmup_by_epoch",
            f"without the epoch length the constant warmup ends one iteration early: at its last iteration "
            f"the LR is {1 / ratio:.4g}x MMCV's (relative difference {_pct(1 / ratio - 1)}, at one iteration "
            f"whatever the epoch length); {GIVE_LENGTH}.",
        )
        return [dict(type="ConstantLR", factor=ratio, **epochs)], None
    ctx.warn(
        f"{key}.warmup",
        f"exp warmup over {w} epochs needs the epoch length to set its growth rate; dropped, so the LR starts "
        f"{1 / ratio:.4g}x higher than MMCV's (relative difference {_pct(1 / ratio - 1)}); {GIVE_LENGTH}, "
        f"or {USE_EXACT}.",
    )
    return [], None


def _target(cfg: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``eta_min`` or ``eta_min_ratio`` from MMCV's ``min_lr`` / ``min_lr_ratio``."""
    ratio = cfg.get(f"min_{prefix}_ratio")
    return {"eta_min_ratio": ratio} if ratio is not None else {"eta_min": cfg.get(f"min_{prefix}", 0.0)}


def _target_value(cfg: dict[str, Any], prefix: str, base: float | None) -> float | None:
    ratio = cfg.get(f"min_{prefix}_ratio")
    if ratio is not None:
        return None if base is None else base * ratio
    return float(cfg.get(f"min_{prefix}", 0.0))


@dataclass
class _Policy:
    """One policy conversion: the inputs every converter reads and the outputs it fills in."""

    cfg: dict[str, Any]
    ctx: ScheduleContext
    key: str  # "lr_config" / "momentum_config"
    kind: str  # "LR" / "Momentum"
    policy: str
    by_epoch: bool
    units: _Units
    warm: list[dict[str, Any]]
    main: list[dict[str, Any]] = field(default_factory=list)
    # MMCV's regular value per progress and eta_min, for the warmup composition size
    affine: tuple[Callable[[int], float], float] | None = None
    affine_target: bool = False  # the main schedule anneals to a non-zero floor (not multiplicative)

    @property
    def prefix(self) -> str:
        return "lr" if self.kind == "LR" else "momentum"

    @property
    def base(self) -> float | None:
        return self.ctx.base_lr if self.kind == "LR" else None

    @property
    def total(self) -> int | None:
        return self.units.total

    def name(self, stem: str) -> str:
        return f"{stem}{self.kind}"

    def warn(self, sub_key: str, message: str) -> None:
        self.ctx.warn(f"{self.key}.{sub_key}", message)


def _fixed(p: _Policy) -> None:
    """No scheduler: the base value (warmup still applies)."""


def _step(p: _Policy) -> None:
    cfg, step = p.cfg, p.cfg["step"]
    gamma = cfg.get("gamma", 0.1 if p.kind == "LR" else 0.5)
    if isinstance(step, int):
        p.main.append(dict(type=p.name("Step"), step_size=step, gamma=gamma, by_epoch=p.by_epoch))
    else:
        p.main.append(dict(type=p.name("MultiStep"), milestones=list(step), gamma=gamma, by_epoch=p.by_epoch))
    floor = cfg.get(f"min_{p.prefix}")
    if floor is None:
        return
    last = (p.total - 1) if p.total else None
    k = step_exponent(step, last) if last is not None else (len(step) if isinstance(step, list) else None)
    if k is not None and p.base is not None:
        lowest = p.base * gamma**k
        if lowest < floor:
            p.warn(f"min_{p.prefix}", f"the {floor} floor has no MMEngine counterpart; it binds, relative "
                   f"difference up to {_pct((floor - lowest) / floor)}.")
    else:
        p.warn(f"min_{p.prefix}", f"the {floor} floor has no MMEngine counterpart; where it binds the difference "
               f"is (floor - value) / floor, up to {_pct(1.0)} (worst case, as the value decays).")


def _exp(p: _Policy) -> None:
    p.main.append(dict(type="ExponentialLR", gamma=p.cfg["gamma"], by_epoch=p.by_epoch))


def _inv(p: _Policy) -> None:
    gamma, power = p.cfg["gamma"], p.cfg.get("power", 1.0)
    if p.total:
        size = _pct((1 + gamma * (p.total - 1)) ** power - 1)
    else:
        size = (f"(1 + {gamma} * (P - 1))**{power} - 1 at the last of the P iterations (it grows with the "
                "run; --iters-per-epoch N gives the figure)")
    p.warn("policy", f"'inv' has no MMEngine scheduler; the LR is left at its base value, relative difference up "
           f"to {size}; {USE_EXACT}.")


def _poly(p: _Policy) -> None:
    power, eta_min, base = p.cfg.get("power", 1.0), p.cfg.get("min_lr", 0.0), p.base
    p.affine_target = bool(eta_min)
    total = p.total
    if total is not None:
        p.main.append(dict(type="PolyLR", eta_min=eta_min, power=power, begin=0, end=total + 1, **p.units.kwargs))
        if base:
            p.affine = (lambda q: (base - eta_min) * (1 - q / total) ** power + eta_min, eta_min)
        return
    epochs = p.units.epochs or 1
    p.main.append(dict(type="PolyLR", eta_min=eta_min, power=power, begin=0, end=epochs, **p.units.kwargs))
    tail = (1 / epochs) ** power
    if not eta_min:
        size = f"{_pct(1.0)} at the last iteration, whatever the epoch length"
    elif base is None:
        size = f"{_pct(1.0)} ({WORST_CASE})"
    else:
        size = f"{_pct((base - eta_min) * tail / (eta_min + (base - eta_min) * tail))} ({WORST_CASE})"
    p.warn("by_epoch", f"poly by iteration needs the epoch length for end = P + 1; with end = {epochs} epochs "
           f"MMEngine reaches min_lr one iteration early, relative difference up to {size} at the last "
           f"iteration; {GIVE_LENGTH}.")


def _cosine(p: _Policy) -> None:
    cfg, prefix, base = p.cfg, p.prefix, p.base
    p.affine_target = bool(cfg.get(f"min_{prefix}") or cfg.get(f"min_{prefix}_ratio"))
    flat = p.policy == "FlatCosineAnnealing"
    total = p.total
    if total is not None:
        start = round(total * cfg.get("start_percent", 0.75)) if flat else 0
        p.main.append(dict(type=p.name("CosineAnnealing"), T_max=total - start, begin=start, end=total,
                           **_target(cfg, prefix), **p.units.kwargs))
        # a ratio target gives the same relative sizes for any base: size it at base 1
        if base is None and cfg.get(f"min_{prefix}_ratio") is not None:
            base = 1.0
        target = _target_value(cfg, prefix, base)
        if target and base:
            p.affine = (lambda q: base if q < start else annealing_cos(base, target, (q - start) / (total - start)),
                        target)
        return
    epochs = p.units.epochs or 1
    start_e = epochs * cfg.get("start_percent", 0.75) if flat else 0
    p.main.append(dict(type=p.name("CosineAnnealing"), T_max=_num(epochs - start_e), begin=_num(start_e),
                       end=epochs, **_target(cfg, prefix), **p.units.kwargs))
    if flat and start_e != int(start_e):
        p.warn("start_percent", "without the epoch length MMEngine truncates the flat phase's end (int) where MMCV "
               "rounds it: the cosine may start one iteration earlier, a relative difference of at most one "
               f"iteration's cosine step; {GIVE_LENGTH}.")


def _linear_annealing(p: _Policy) -> None:
    cfg, prefix, base = p.cfg, p.prefix, p.base
    ratio = cfg.get(f"min_{prefix}_ratio")
    if ratio is None:
        if p.kind == "LR" and base and p.ctx.single_lr:
            ratio = cfg[f"min_{prefix}"] / base
        else:
            p.warn(f"min_{prefix}", "an absolute target is expressed as end_factor = min / base and is exact only "
                   "for a single base value; groups with other bases differ by their ratio.")
            ratio = cfg[f"min_{prefix}"] / (base or 1.0)
    total = p.total
    end = (total + 1) if total is not None else (p.units.epochs or 1)
    p.main.append(dict(type=p.name("Linear"), start_factor=1.0, end_factor=ratio, begin=0, end=end,
                       **p.units.kwargs))
    if total is None:
        epochs = p.units.epochs or 1
        size = (1 - ratio) / (ratio * epochs + 1 - ratio) if ratio < 1 else 0.0
        p.warn("by_epoch", f"linear annealing by iteration needs the epoch length for end = P + 1; MMEngine reaches "
               f"the target one iteration early, relative difference up to {_pct(size)} ({WORST_CASE}); "
               f"{GIVE_LENGTH}.")


def _cosine_restart(p: _Policy) -> None:
    cfg = p.cfg
    periods, weights = list(cfg["periods"]), list(cfg.get("restart_weights", [1]))
    p.main.append(dict(type="CosineRestartLR", periods=periods, restart_weights=weights, **_target(cfg, p.prefix),
                       begin=0, end=sum(periods), by_epoch=p.by_epoch))
    bad = [w for w in weights if w != 1]
    q = cfg.get("min_lr_ratio")
    if not bad or not (q or cfg.get("min_lr")):
        return
    if q is not None:
        size = _pct(max(q * (1 - w) / (q + w * (1 - q)) for w in bad))
    elif p.base:
        m = cfg["min_lr"]
        size = _pct(max(m * (1 - w) / (m + w * (p.base - m)) for w in bad))
    else:
        size = f"{_pct(1.0)} (worst case: the base LR is unknown)"
    p.warn("restart_weights", f"MMEngine restarts at w * base, MMCV at min + w * (base - min): relative "
           f"difference {size} at a restart; {USE_EXACT}.")


def _cyclic(p: _Policy) -> None:
    cfg, ctx = p.cfg, p.ctx
    ratios = cfg.get("target_ratio", (10, 1e-4) if p.kind == "LR" else (0.85 / 0.95, 1))
    ratios = (ratios, ratios / 1e5) if isinstance(ratios, (int, float)) else tuple(ratios)
    peak, low = (ratios[0], ratios[0] / 1e5) if len(ratios) == 1 else ratios
    times, up_ratio = cfg.get("cyclic_times", 1), cfg.get("step_ratio_up", 0.4)
    if times != 1 or cfg.get("gamma", 1) != 1:
        p.warn("cyclic_times", f"several or shrinking cycles have no MMEngine recipe (the chained schedulers cannot "
               f"jump back to the base at a cycle start); no scheduler emitted, relative difference up to "
               f"{_pct(max(abs(1 - 1 / peak), abs(1 / low - 1)))}; {USE_EXACT}.")
        return
    n = ctx.total_iters
    if n is not None:
        up = int(up_ratio * n)
        p.main += [dict(type=p.name("CosineAnnealing"), T_max=up, eta_min_ratio=peak, begin=0, end=up,
                        by_epoch=False),
                   dict(type=p.name("CosineAnnealing"), T_max=n - up, eta_min_ratio=low, begin=up, end=n,
                        by_epoch=False)]
        u_min = up
        bound = ""
    else:
        e = ctx.max_epochs or 1
        conv = {"by_epoch": True, "convert_to_iter_based": True}
        up_e = _num(up_ratio * e)
        p.main += [dict(type=p.name("CosineAnnealing"), T_max=up_e, eta_min_ratio=peak, begin=0, end=up_e, **conv),
                   dict(type=p.name("CosineAnnealing"), T_max=_num(e - up_e), eta_min_ratio=low, begin=up_e,
                        end=e, **conv)]
        u_min = max(int(up_ratio * e), 1)
        bound = f" ({WORST_CASE})"
    size = (1 - math.cos(math.pi / max(u_min, 1))) / 2 * abs(1 - 1 / peak)
    p.warn("policy", f"Cyclic as two cosine phases starts the down phase from the up phase's value one step before "
           f"the peak: relative difference {_pct(size)} over the down phase{bound}; {USE_EXACT}.")


def _one_cycle(p: _Policy) -> None:
    cfg, ctx = p.cfg, p.ctx
    if p.kind == "Momentum":
        size = _pct(abs(cfg.get("max_momentum", 0.95) / cfg.get("base_momentum", 0.85) - 1))
        p.warn("policy", "OneCycle momentum has no MMEngine scheduler (OneCycleParamScheduler only drives lr); "
               f"momentum left at its base value, relative difference up to {size}; {USE_EXACT}.")
        return
    steps = cfg.get("total_steps") or ctx.total_iters
    common = dict(eta_max=cfg["max_lr"], pct_start=cfg.get("pct_start", 0.3),
                  anneal_strategy=cfg.get("anneal_strategy", "cos"), div_factor=cfg.get("div_factor", 25),
                  final_div_factor=cfg.get("final_div_factor", 1e4), three_phase=cfg.get("three_phase", False))
    if steps is not None:
        p.main.append(dict(type="OneCycleLR", total_steps=steps, by_epoch=False, **common))
    else:
        p.main.append(dict(type="OneCycleLR", total_steps=ctx.max_epochs, by_epoch=True, convert_to_iter_based=True,
                           **common))
    if p.warm:
        p.warn("warmup", "MMEngine's OneCycleLR sets the LR from its own closed form, so a warmup before it is "
               f"lost: relative difference up to {_pct(1 - cfg.get('warmup_ratio', 0.1))}; {USE_EXACT}.")
        p.warm = []


# policy -> (converter, kinds it has an MMEngine scheduler for)
POLICY_CONVERTERS: dict[str, tuple[Callable[[_Policy], None], tuple[str, ...]]] = {
    "Fixed": (_fixed, ("LR", "Momentum")),
    "Step": (_step, ("LR", "Momentum")),
    "Exp": (_exp, ("LR",)),
    "Inv": (_inv, ("LR",)),
    "Poly": (_poly, ("LR",)),
    "CosineAnnealing": (_cosine, ("LR", "Momentum")),
    "FlatCosineAnnealing": (_cosine, ("LR", "Momentum")),
    "LinearAnnealing": (_linear_annealing, ("LR", "Momentum")),
    "CosineRestart": (_cosine_restart, ("LR",)),
    "Cyclic": (_cyclic, ("LR", "Momentum")),
    "OneCycle": (_one_cycle, ("LR", "Momentum")),
}


def _composition_warning(p: _Policy, w: int | None) -> None:
    """Warmup x a main schedule with a non-zero target: MMEngine's chained composition differs slightly.

    Without the epoch length the size is computed at 1 iteration per epoch, the worst case (the main
    schedule moves most per iteration while the warmup runs), and labelled so.
    """
    cfg, ctx = p.cfg, p.ctx
    state, worst = p, not ctx.iters_per_epoch and ctx.by_epoch_runner
    if p.affine is None and not p.by_epoch and p.total is None and ctx.max_epochs:
        scratch = ctx.copy()
        scratch.iters_per_epoch = 1
        state = _Policy(cfg, scratch, p.key, p.kind, p.policy, p.by_epoch, _units(p.by_epoch, scratch), [])
        POLICY_CONVERTERS[p.policy][0](state)
    epoch_len = (ctx.iters_per_epoch or 1) if p.by_epoch else None
    iters = (ctx.max_epochs or 0) * (epoch_len or 1) if p.by_epoch else state.total
    if w is None:  # a warmup counted in epochs
        w = int(cfg.get("warmup_iters", 0)) * (ctx.iters_per_epoch or 1)
    size: float | None = None
    if state.affine is not None and w and iters:
        factors = _warmup_factors(str(cfg["warmup"]), float(cfg.get("warmup_ratio", 0.1)), w)
        size = _composition_error(factors, w, state.affine[0], state.affine[1], iters, epoch_len)
    if size is None:
        p.warn("warmup", f"warmup x {p.policy} with a non-zero target composes differently in MMEngine's chained "
               "schedulers; its size needs the optimizer's lr and the run length, which this config does not "
               f"give (measured 6e-5 to 2e-2 on OpenMMLab configs); {USE_EXACT}.")
    elif size > 0:
        label = f" ({WORST_CASE})" if worst else ""
        p.warn("warmup", f"warmup x {p.policy} with a non-zero target composes differently in MMEngine's chained "
               f"schedulers: relative difference {_pct(size)}{label}; {USE_EXACT}.")


def _convert(cfg: dict[str, Any], ctx: ScheduleContext, key: str, kind: str) -> list[dict[str, Any]]:
    """Schedulers for an LR (``kind='LR'``) or momentum (``'Momentum'``) config; warnings go to ``ctx``."""
    cfg = dict(cfg)
    policy = policy_class_name(str(cfg.get("policy")))
    prefix = "lr" if kind == "LR" else "momentum"
    iter_policy = policy in ("Cyclic", "OneCycle")
    by_epoch = bool(cfg.get("by_epoch", False if iter_policy else (ctx.by_epoch_runner or kind != "LR")))
    if not ctx.by_epoch_runner and by_epoch:
        ctx.warn(f"{key}.by_epoch", f"True under IterBasedRunner: MMCV never runs the epoch update, so the {policy} "
                 f"policy never changes the {prefix} (relative difference 0 as converted: no main scheduler). "
                 "Set by_epoch=False if the schedule was meant to run.")
        warm, _ = _warmup(cfg, ctx, key, kind)
        return warm
    units = _units(by_epoch, ctx)
    warm, w = _warmup(cfg, ctx, key, kind)
    state = _Policy(cfg, ctx, key, kind, policy, by_epoch, units, warm)
    converter, kinds = POLICY_CONVERTERS[policy]
    if kind not in kinds:
        ctx.warn(f"{key}.policy", f"{policy!r} has no MMEngine {kind} scheduler; left unscheduled (relative "
                 f"difference up to 100 %); {USE_EXACT}.")
    else:
        converter(state)
    if state.warm and state.affine_target:
        _composition_warning(state, w)
    return state.warm + state.main


def _custom_policy(cfg: dict[str, Any], ctx: ScheduleContext, key: str, kind: str) -> list[dict[str, Any]]:
    """A policy MMCV does not ship (a project's own updater): kept as the hook MMCV would build, with a warning."""
    policy = policy_class_name(str(cfg["policy"]))
    suffix = "LrUpdaterHook" if kind == "LR" else "MomentumUpdaterHook"
    known = sorted(LR_POLICIES if kind == "LR" else MOMENTUM_POLICIES)
    hook = {"type": f"{policy}{suffix}", **{k: v for k, v in cfg.items() if k != "policy"},
            "priority": "VERY_HIGH" if kind == "LR" else "HIGH"}
    ctx.warn(f"{key}.policy", f"{cfg['policy']!r} is not one of MMCV's policies ({', '.join(known)}); kept as "
             f"custom_hooks entry {hook['type']!r}, which MMEngine cannot build: port that class by hand (to an "
             f"MMEngine ParamScheduler, or register it in HOOKS through custom_imports). If it is a typo, fix the "
             "policy name.")
    return [hook]


def _is_custom_policy(cfg: dict[str, Any], kind: str) -> bool:
    policy = cfg.get("policy")
    names = LR_POLICIES if kind == "LR" else MOMENTUM_POLICIES
    return isinstance(policy, str) and policy_class_name(policy) not in names


def convert_lr_config(
    lr_config: dict[str, Any], ctx: ScheduleContext, exact: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(param_scheduler entries, custom_hooks entries)`` for an MMCV ``lr_config``.

    With ``exact=True`` a lossy conversion is replaced by ``LegacyLrUpdaterHook`` (MMCV's formulas).

    Raises:
        ConfigError: bad policy arguments (checked by building the hook) or a missing ``policy``.
    """
    if _is_custom_policy(lr_config, "LR"):
        return [], _custom_policy(lr_config, ctx, "lr_config", "LR")
    build_lr_updater(lr_config, "lr_config", by_epoch_default=ctx.by_epoch_runner)
    return _finish(lr_config, ctx, "lr_config", "LR", exact)


def convert_momentum_config(
    momentum_config: dict[str, Any], ctx: ScheduleContext, exact: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(param_scheduler entries, custom_hooks entries)`` for an MMCV ``momentum_config``."""
    if _is_custom_policy(momentum_config, "Momentum"):
        return [], _custom_policy(momentum_config, ctx, "momentum_config", "Momentum")
    build_momentum_updater(momentum_config, "momentum_config")
    return _finish(momentum_config, ctx, "momentum_config", "Momentum", exact)


def _finish(
    cfg: dict[str, Any], ctx: ScheduleContext, key: str, kind: str, exact: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    scratch = ctx.copy()
    if "policy" not in cfg:
        raise ConfigError("policy", None, "a policy name such as 'step'", "add policy=... to the config.", key)
    schedulers = _convert(cfg, scratch, key, kind)
    if exact and scratch.warnings:
        hook = {"type": f"Legacy{'Lr' if kind == 'LR' else 'Momentum'}UpdaterHook", **cfg,
                "priority": "VERY_HIGH" if kind == "LR" else "HIGH"}
        if kind == "LR" and not ctx.by_epoch_runner:
            hook.setdefault("by_epoch", False)
        return [], [hook]
    ctx.warnings.extend(scratch.warnings)
    return schedulers, []
