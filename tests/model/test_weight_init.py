"""Weight initialisers against MMEngine's: the same seed gives the same tensors, bit for bit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.model import weight_init as ours
from mmhooks.registry import WEIGHT_INITIALIZERS

mmengine = pytest.importorskip("mmengine")
from mmengine.model import weight_init as theirs  # noqa: E402


def _layers() -> nn.ModuleDict:
    return nn.ModuleDict(dict(conv=nn.Conv2d(3, 8, 3), fc=nn.Linear(16, 5), fc_nobias=nn.Linear(4, 3, bias=False),
                              bn=nn.BatchNorm2d(8), conv1d=nn.Conv1d(2, 4, 2)))


class FooNet(nn.Module):
    """Nested modules, two with the same class, one BatchNorm (base class ``_BatchNorm``)."""

    def __init__(self) -> None:
        super().__init__()
        self.feat = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 1))
        self.reg = nn.Conv2d(8, 4, 1)
        self.cls = nn.Linear(8, 5)
        self.norm = nn.GroupNorm(2, 8)


def _assert_same_tensors(ours_module: nn.Module, theirs_module: nn.Module) -> None:
    ours_state, theirs_state = ours_module.state_dict(), theirs_module.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        torch.testing.assert_close(ours_state[key], value, rtol=0, atol=0, msg=key)


def _both(build: Callable[[], nn.Module], apply_ours: Callable[[nn.Module], Any],
          apply_theirs: Callable[[nn.Module], Any], seed: int = 3) -> tuple[nn.Module, nn.Module, bool]:
    """``build()`` twice under one seed, each copy initialised under a second seed; and whether ours changed."""
    results = []
    for apply in (apply_ours, apply_theirs):
        torch.manual_seed(seed)
        module = build()
        torch.manual_seed(seed + 100)
        apply(module)
        results.append(module)
    torch.manual_seed(seed)
    before = build().state_dict()
    changed = any(not torch.equal(before[key], value) for key, value in results[0].state_dict().items())
    return results[0], results[1], changed


FUNCTIONS = {
    "constant": ("constant_init", dict(val=0.3, bias=0.1)),
    "xavier_normal": ("xavier_init", dict(gain=2, bias=0.2)),
    "xavier_uniform": ("xavier_init", dict(distribution="uniform")),
    "normal": ("normal_init", dict(mean=0.5, std=0.01, bias=-1)),
    "trunc_normal": ("trunc_normal_init", dict(mean=0.1, std=0.5, a=-0.3, b=0.9, bias=0.4)),
    "uniform": ("uniform_init", dict(a=-0.2, b=0.7, bias=0.3)),
    "kaiming_normal": ("kaiming_init", dict()),
    "kaiming_uniform_fan_in": ("kaiming_init", dict(a=0.1, mode="fan_in", nonlinearity="leaky_relu",
                                                    distribution="uniform", bias=0.5)),
    "caffe2_xavier": ("caffe2_xavier_init", dict(bias=0.25)),
}


@pytest.mark.parametrize(("name", "kwargs"), FUNCTIONS.values(), ids=FUNCTIONS.keys())
def test_functional_initialisers_match_mmengine(name: str, kwargs: dict[str, Any]) -> None:
    def apply(module_fn: Callable[..., None]) -> Callable[[nn.Module], None]:
        return lambda layers: [module_fn(layer, **kwargs) for layer in layers.values() if layer.weight.dim() > 1]

    mine, expected, changed = _both(_layers, apply(getattr(ours, name)), apply(getattr(theirs, name)))
    assert changed
    _assert_same_tensors(mine, expected)


@pytest.mark.parametrize("shape", [(5,), (40, 7), (3, 4, 5)], ids=str)
@pytest.mark.parametrize(("mean", "std", "a", "b"), [(0, 1, -2, 2), (0.2, 0.02, -0.5, 0.5), (0, 3, -1, 1)],
                         ids=["default", "narrow", "tight"])
def test_trunc_normal_matches_mmengine(shape: tuple[int, ...], mean: float, std: float, a: float, b: float) -> None:
    torch.manual_seed(0)
    mine = ours.trunc_normal_(torch.empty(shape), mean, std, a, b)
    torch.manual_seed(0)
    expected = theirs.trunc_normal_(torch.empty(shape), mean, std, a, b)
    torch.testing.assert_close(mine, expected, rtol=0, atol=0)


@pytest.mark.parametrize("prob", [0.01, 0.5, 0.9])
def test_bias_init_with_prob_matches_mmengine(prob: float) -> None:
    assert ours.bias_init_with_prob(prob) == theirs.bias_init_with_prob(prob)


INIT_CFGS = {
    "layer_str": dict(type="Kaiming", layer="Conv2d"),
    "layer_base_class": [dict(type="Constant", val=1, bias=0.5, layer=["_BatchNorm", "GroupNorm"]),
                         dict(type="Normal", std=0.01, layer="Linear")],
    "no_layer_touches_nothing": dict(type="Normal", std=0.01),
    "grandparent_class_touches_nothing": dict(type="Constant", val=2, layer="_NormBase"),
    "xavier_uniform_bias_prob": dict(type="Xavier", distribution="uniform", layer=["Conv2d", "Linear"],
                                     bias_prob=0.01),
    "trunc_normal_and_uniform": [dict(type="TruncNormal", std=0.02, a=-0.03, b=0.03, layer="Linear"),
                                 dict(type="Uniform", a=-1, b=1, layer="Conv2d")],
    "caffe2_xavier": dict(type="Caffe2Xavier", layer="Conv2d", bias=0.1),
    "override_own_type": dict(type="Kaiming", layer="Conv2d",
                              override=dict(type="Normal", name="cls", std=0.01, bias=0.3)),
    "override_name_only": dict(type="Constant", val=2, bias=1, layer="Linear", override=dict(name="reg")),
    "override_list": dict(type="Normal", std=0.1, layer="Conv2d",
                          override=[dict(name="norm"), dict(type="Xavier", name="cls", gain=3)]),
    "class_type": dict(type="placeholder", layer="Conv2d", mode="fan_in"),
}


def _with_class_type(cfg: Any, module: Any) -> Any:
    """The ``class_type`` case names the initialiser class itself, each library its own."""
    return dict(cfg, type=module.KaimingInit) if isinstance(cfg, dict) and cfg["type"] == "placeholder" else cfg


@pytest.mark.parametrize("init_cfg", INIT_CFGS.values(), ids=INIT_CFGS.keys())
def test_initialize_matches_mmengine(init_cfg: Any, request: pytest.FixtureRequest) -> None:
    mine, expected, changed = _both(FooNet, lambda m: ours.initialize(m, _with_class_type(init_cfg, ours)),
                                    lambda m: theirs.initialize(m, _with_class_type(init_cfg, theirs)))
    assert changed != request.node.callspec.id.endswith("touches_nothing")
    _assert_same_tensors(mine, expected)


def test_initialize_leaves_a_shared_config_unchanged() -> None:
    cfg = dict(type="Constant", val=1, layer="Linear", override=dict(name="reg"))
    ours.initialize(FooNet(), cfg)
    assert cfg == dict(type="Constant", val=1, layer="Linear", override=dict(name="reg"))


def test_registry_names_match_mmengine() -> None:
    from mmengine.registry import WEIGHT_INITIALIZERS as MM_WEIGHT_INITIALIZERS

    ours.initialize(FooNet(), [])  # registration happens when the module is imported
    assert sorted(WEIGHT_INITIALIZERS.module_dict) == sorted(MM_WEIGHT_INITIALIZERS.module_dict)


def test_custom_initialiser_registered_like_mmengine() -> None:
    @WEIGHT_INITIALIZERS.register_module(name="HalfTest", force=True)
    class HalfInit(ours.BaseInit):
        def init_module(self, module: nn.Module) -> None:
            ours.constant_init(module, 0.5, self.bias)

    try:
        net = FooNet()
        ours.initialize(net, dict(type="HalfTest", layer="Linear", bias=2))
        assert (net.cls.weight.unique().tolist(), net.cls.bias.unique().tolist()) == ([0.5], [2.0])
    finally:
        WEIGHT_INITIALIZERS.module_dict.pop("HalfTest")


BAD_TYPES = {
    "bias_not_number": dict(type="Constant", val=1, bias="1", layer="Linear"),
    "bias_prob_not_float": dict(type="Constant", val=1, bias_prob=1, layer="Linear"),
    "layer_not_str_or_list": dict(type="Constant", val=1, layer=1),
    "override_not_dict": dict(type="Constant", val=1, layer="Linear", override="reg"),
}


@pytest.mark.parametrize("cfg", BAD_TYPES.values(), ids=BAD_TYPES.keys())
def test_bad_types_raise_type_error_like_mmengine(cfg: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        theirs.initialize(FooNet(), cfg)
    with pytest.raises(TypeError) as info:
        ours.initialize(FooNet(), cfg)
    assert isinstance(info.value, ConfigError)


BAD_OVERRIDES = {
    "no_name": (dict(type="Normal", std=2), ValueError),
    "args_without_type": (dict(name="reg", std=2), ValueError),
    "missing_attribute": (dict(name="nope", type="Normal"), RuntimeError),
}


@pytest.mark.parametrize(("override", "mmengine_error"), BAD_OVERRIDES.values(), ids=BAD_OVERRIDES.keys())
def test_bad_override_is_rejected_like_mmengine(override: dict[str, Any], mmengine_error: type) -> None:
    cfg = dict(type="Constant", val=1, layer="Linear", override=override)
    with pytest.raises(mmengine_error):
        theirs.initialize(FooNet(), cfg)
    with pytest.raises(ConfigError):
        ours.initialize(FooNet(), cfg)


def test_missing_override_attribute_message() -> None:
    cfg = [dict(type="Kaiming", layer="Conv2d"), dict(type="Constant", val=1, override=[dict(name="head")])]
    with pytest.raises(ConfigError) as info:
        ours.initialize(FooNet(), cfg)
    assert str(info.value) == (
        "init_cfg[1].override[0].name: got 'head'; expected an attribute of FooNet. "
        "Fix: name a submodule attribute of the module whose init_cfg this is."
    )


def test_unknown_initialiser_type_message() -> None:
    with pytest.raises(ConfigError, match=r"^init_cfg\.type: got 'Kaiminng'; expected a registered "
                                          r"weight initializer \(.*\)\. Fix: did you mean 'Kaiming'\?$"):
        ours.initialize(FooNet(), dict(type="Kaiminng", layer="Conv2d"))


def test_update_init_info_outside_init_weights() -> None:
    with pytest.raises(RuntimeError, match="has no _params_init_info"):
        ours.update_init_info(nn.Linear(1, 1), "x")


def test_misspelt_initialiser_argument_message() -> None:
    with pytest.raises(TypeError):  # MMEngine: an unexpected keyword argument
        theirs.initialize(FooNet(), dict(type="Normal", stdd=0.01, layer="Linear"))
    with pytest.raises(ConfigError) as info:
        ours.initialize(FooNet(), [dict(type="Kaiming", layer="Conv2d"), dict(type="Normal", stdd=0.01)])
    assert str(info.value) == ("init_cfg[1].stdd: got 0.01; expected an argument of NormalInit (bias, bias_prob, "
                               "layer, mean, std). Fix: rename it to 'std'.")
