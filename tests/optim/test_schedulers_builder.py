"""build_param_schedulers: MMEngine's Runner rules (default end, conversion, several optimizers) and errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from mmhooks.errors import ConfigError
from mmhooks.optim.scheduler import LinearLR, build_param_schedulers

EPOCH_LENGTH, MAX_EPOCHS = 4, 3


def sgd() -> torch.optim.SGD:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)


def epoch_loop(optimizer: torch.optim.Optimizer, schedulers: list[Any]) -> list[float]:
    lrs = []
    for _ in range(MAX_EPOCHS):
        for _ in range(EPOCH_LENGTH):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()
    return lrs


def mmengine_build(cfgs: list[dict[str, Any]], optimizer: torch.optim.Optimizer, max_iters: int) -> list[Any]:
    """What MMEngine's Runner builds: default end filled first, then PARAM_SCHEDULERS.build."""
    registry = pytest.importorskip("mmengine.registry").PARAM_SCHEDULERS
    pytest.importorskip("mmengine.optim")
    built = []
    for cfg in copy.deepcopy(cfgs):
        cfg.setdefault("end", MAX_EPOCHS if cfg.get("by_epoch", True) else max_iters)
        built.append(registry.build(cfg, default_args=dict(optimizer=optimizer, epoch_length=EPOCH_LENGTH)))
    return built


CONFIGS = {
    "default-ends": [dict(type="LinearLR", start_factor=0.1, by_epoch=False, end=5),
                     dict(type="CosineAnnealingLR", begin=1, eta_min=1e-3)],
    "converted-default-end": [dict(type="CosineAnnealingLR", begin=1, eta_min_ratio=0.05,
                                   convert_to_iter_based=True)],
    "converted-iter-default-end": [dict(type="PolyLR", by_epoch=False, power=2.0),
                                   dict(type="MultiStepLR", milestones=[1, 2], convert_to_iter_based=True)],
}


@pytest.mark.parametrize("name", sorted(CONFIGS), ids=str)
def test_runner_rules_match_mmengine(name: str) -> None:
    cfgs = CONFIGS[name]
    mm_opt, our_opt = sgd(), sgd()
    expected = epoch_loop(mm_opt, mmengine_build(cfgs, mm_opt, MAX_EPOCHS * EPOCH_LENGTH))
    built = build_param_schedulers(cfgs, our_opt, epoch_length=EPOCH_LENGTH, max_epochs=MAX_EPOCHS)
    assert isinstance(built, list)
    torch.testing.assert_close(epoch_loop(our_opt, built), expected, rtol=0, atol=1e-12)
    assert cfgs == CONFIGS[name]  # the config is left unchanged


def test_iteration_based_run_gives_epoch_schedulers_a_one_epoch_window() -> None:
    built = build_param_schedulers(dict(type="MultiStepLR", milestones=[1]), sgd(), max_iters=8)
    assert isinstance(built, list)
    assert (built[0].begin, built[0].end, built[0].by_epoch) == (0, 1, True)


def test_built_schedulers_pass_through_and_none_stays_none() -> None:
    optimizer = sgd()
    scheduler = LinearLR(optimizer, end=3)
    assert build_param_schedulers([scheduler], optimizer, max_epochs=2) == [scheduler]
    assert build_param_schedulers(None, optimizer) is None


class WrapperDict:
    """An OptimWrapperDict-like object: name -> optimizer through ``items()``."""

    def __init__(self, **optimizers: torch.optim.Optimizer) -> None:
        self.optimizers = optimizers

    def items(self) -> Any:
        return self.optimizers.items()


def test_several_optimizers_get_their_own_or_a_shared_config() -> None:
    wrappers = WrapperDict(gen=sgd(), disc=sgd())
    keyed = build_param_schedulers(
        dict(gen=dict(type="StepLR", step_size=1, by_epoch=False), disc=[dict(type="ExponentialLR", gamma=0.5)]),
        wrappers, max_epochs=2, epoch_length=2)
    assert isinstance(keyed, dict)
    assert [type(s).__name__ for s in keyed["gen"]] + [type(s).__name__ for s in keyed["disc"]] == [
        "StepLR", "ExponentialLR"]
    assert keyed["gen"][0].optimizer is wrappers.optimizers["gen"]
    assert keyed["gen"][0].end == 4
    shared = build_param_schedulers([dict(type="LinearLR")], wrappers, max_epochs=2)
    assert isinstance(shared, dict)
    assert shared["gen"][0] is not shared["disc"][0]
    assert shared["disc"][0].optimizer is wrappers.optimizers["disc"]


def test_begin_not_before_end_is_located_by_key_path() -> None:
    cfg = [dict(type="LinearLR", by_epoch=False, end=5), dict(type="StepLR", step_size=1, begin=2, end=2)]
    with pytest.raises(ConfigError) as info:
        build_param_schedulers(cfg, sgd(), max_epochs=3)
    assert str(info.value) == (
        "param_scheduler[1].end: got 2; expected a step greater than begin (2). Fix: raise end or lower begin."
    )


def test_direct_call_names_the_class() -> None:
    with pytest.raises(ConfigError, match=r"^LinearLR\.end: got 0; expected a step greater than begin \(0\)"):
        LinearLR(sgd(), end=0)


BAD = {
    "unknown-type": (dict(type="LinerLR"), "param_scheduler.type: got 'LinerLR'", "did you mean 'LinearLR'?"),
    "unknown-arg": (dict(type="LinearLR", start_factr=0.1), "param_scheduler.start_factr: got 0.1",
                    "rename it to 'start_factor'."),
    "missing-required": (dict(type="StepLR"), "param_scheduler.step_size: got nothing; expected a value "
                         "(StepLR requires step_size). Fix: add step_size=... to param_scheduler.", ""),
    "restart-without-eta-min": (dict(type="CosineRestartLR", periods=[2]), "param_scheduler.eta_min: got None; "
                                "expected exactly one of eta_min and eta_min_ratio", "set eta_min"),
    "plateau-converted": (dict(type="ReduceOnPlateauLR", convert_to_iter_based=True),
                          "param_scheduler.convert_to_iter_based: got True", "remove convert_to_iter_based."),
    "iter-converted": (dict(type="LinearLR", by_epoch=False, convert_to_iter_based=True),
                       "param_scheduler.convert_to_iter_based: got True; expected by_epoch=True", ""),
    "bad-factor": (dict(type="ConstantLR", factor=2), "param_scheduler.factor: got 2; expected a number in [0, 1]",
                   ""),
    "bad-strategy": (dict(type="OneCycleLR", eta_max=0.1, anneal_strategy="cosine"),
                     "param_scheduler.anneal_strategy: got 'cosine'", "did you mean 'cos'?"),
    "bad-rule": (dict(type="ReduceOnPlateauLR", rule="lower"), "param_scheduler.rule: got 'lower'", ""),
    "not-a-config": (5, "param_scheduler: got 5; expected a scheduler config dict", ""),
}


@pytest.mark.parametrize("case", sorted(BAD), ids=str)
def test_bad_config_raises_config_error_with_key_path(case: str) -> None:
    cfg, start, fix = BAD[case]
    with pytest.raises(ConfigError) as info:
        build_param_schedulers(cfg, sgd(), epoch_length=2, max_epochs=2)
    assert str(info.value).startswith(start)
    assert fix in str(info.value)


def test_conversion_needs_an_epoch_length() -> None:
    with pytest.raises(ConfigError, match=r"^param_scheduler\[0\]\.convert_to_iter_based: got True; expected a "
                                          r"known epoch length"):
        build_param_schedulers([dict(type="LinearLR", convert_to_iter_based=True)], sgd(), max_epochs=2)


def test_keyed_config_names_unknown_and_missing_optimizers() -> None:
    wrappers = WrapperDict(gen=sgd(), disc=sgd())
    with pytest.raises(ConfigError, match=r"^param_scheduler\.gne: got .*; expected an optimizer name \(disc, gen\)"
                                          r"\. Fix: rename it to 'gen'\.$"):
        build_param_schedulers(dict(gne=dict(type="LinearLR")), wrappers)
    with pytest.raises(ConfigError, match=r"^param_scheduler\.disc: got nothing"):
        build_param_schedulers(dict(gen=dict(type="LinearLR")), wrappers)


def test_momentum_on_an_optimizer_without_momentum_is_refused() -> None:
    adagrad = torch.optim.Adagrad([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ConfigError, match=r"^param_scheduler\.optimizer: got 'Adagrad'; expected an optimizer with "
                                          r"a 'momentum' or 'betas' setting"):
        build_param_schedulers(dict(type="LinearMomentum"), adagrad, max_epochs=2)
