"""MMEngine's registry behaviour, run on mmhooks and on mmengine-lite side by side.

The scenarios are those of MMEngine's tests/test_registry (hierarchical
lookup, scoped builds, ``_scope_``, build functions); each is written once as
a function of an API namespace, and the observations from both libraries must
be equal. Classes are compared by name, since each library builds its own.
"""

from __future__ import annotations

import functools
import time
from types import SimpleNamespace

import pytest

pytest.importorskip("mmengine")


def mmhooks_api():
    import mmhooks.registry as registry
    from mmhooks.config import Config, ConfigDict
    from mmhooks.logging.manager import ManagerMixin

    return SimpleNamespace(Registry=registry.Registry, DefaultScope=registry.DefaultScope,
                           build_from_cfg=registry.build_from_cfg, build_model_from_cfg=registry.build_model_from_cfg,
                           PARAM_SCHEDULERS=registry.PARAM_SCHEDULERS, Config=Config, ConfigDict=ConfigDict,
                           ManagerMixin=ManagerMixin, traverse=registry.traverse_registry_tree)


def mmengine_api():
    import mmengine.optim  # noqa: F401 - registers MMEngine's schedulers
    import mmengine.registry as registry
    from mmengine.config import Config, ConfigDict
    from mmengine.utils import ManagerMixin

    return SimpleNamespace(Registry=registry.Registry, DefaultScope=registry.DefaultScope,
                           build_from_cfg=registry.build_from_cfg, build_model_from_cfg=registry.build_model_from_cfg,
                           PARAM_SCHEDULERS=registry.PARAM_SCHEDULERS, Config=Config, ConfigDict=ConfigDict,
                           ManagerMixin=ManagerMixin, traverse=registry.traverse_registry_tree)


def both(scenario, *args):
    """``(mmhooks' observations, MMEngine's observations)`` of ``scenario(api, *args)``."""
    return scenario(mmhooks_api(), *args), scenario(mmengine_api(), *args)


def name_of(obj):
    if isinstance(obj, functools.partial):
        return f"partial({name_of(obj.func)})"
    return None if obj is None else getattr(obj, "__name__", repr(obj))


def outcome(call):
    """The result's class name, or the MMEngine-relevant exception kinds it raised."""
    try:
        result = call()
    except Exception as err:  # noqa: BLE001 - the kind of error is the observation
        return "raises " + "+".join(kind.__name__ for kind in (KeyError, TypeError, AssertionError, RuntimeError)
                                    if isinstance(err, kind))
    return type(result).__name__ if not isinstance(result, (str, int)) else result


def tree(api):
    """MMEngine's test tree: DOGS > (HOUNDS > LITTLE_HOUNDS, MID_HOUNDS), (SAMOYEDS > LITTLE_SAMOYEDS)."""
    dogs = api.Registry("dogs", scope="dogs")
    hounds = api.Registry("hounds", parent=dogs, scope="hound")
    little = api.Registry("little hounds", parent=hounds, scope="little_hound")
    mid = api.Registry("mid hounds", parent=hounds, scope="mid_hound")
    samoyeds = api.Registry("samoyeds", parent=dogs, scope="samoyed")
    little_samoyeds = api.Registry("little samoyeds", parent=samoyeds, scope="little_samoyed")
    return dogs, hounds, little, mid, samoyeds, little_samoyeds


def populate(api, registries):
    dogs, hounds, little, mid, samoyeds, little_samoyeds = registries

    def bark(word, times):
        return " ".join([word] * times)

    dogs.register_module(module=bark)
    dogs.register_module("dog_bark", False, functools.partial(bark, word="woof"))
    for registry, names in ((dogs, ["GoldenRetriever"]), (hounds, ["BloodHound"]), (little, ["Dachshund"]),
                            (mid, ["Beagle"]), (samoyeds, ["PedigreeSamoyed", "YourSamoyed"]),
                            (little_samoyeds, ["LittlePedigreeSamoyed"])):
        for name in names:
            registry.register_module(module=type(name, (), {}))

    class MySamoyed:
        def __init__(self, friend):
            self.friend = dogs.build(friend)

    samoyeds.register_module(module=MySamoyed)


# -- Registry() and register_module -----------------------------------------------------------------


def init_scenario(api):
    cats = api.Registry("cat")

    def build_func(cfg, registry, default_args=None):
        return "built"

    custom = api.Registry("cat", build_func=build_func)
    little = api.Registry("little_cat", parent=cats, scope="little_cat")
    parent_is_str = outcome(lambda: api.Registry("little_cat", parent="cat", scope="little_cat"))
    scope_is_int = outcome(lambda: api.Registry("cat", scope=1))
    return dict(name=cats.name, empty=(cats.module_dict, len(cats)), default_build=cats.build_func is api.build_from_cfg,
                custom_build=custom.build_func is build_func, inherited=little.build_func is cats.build_func,
                parent=little.parent is cats, child=cats.children.get("little_cat") is little,
                inferred_scope=cats.scope, explicit_scope=api.Registry("cat", scope="cat").scope,
                parent_is_str=parent_is_str != "raises ", scope_is_int=scope_is_int != "raises ",
                custom_result=custom.build(dict(type="x")))


def test_init_matches_mmengine():
    ours, theirs = both(init_scenario)
    assert ours == theirs
    assert ours["inferred_scope"] == __name__.split(".")[0]


def test_split_scope_key_matches_mmengine():
    keys = ["BloodHound", "hound.BloodHound", "hound.little_hound.Dachshund", "", ".", "a."]
    ours, theirs = both(lambda api: [api.Registry.split_scope_key(key) for key in keys])
    assert ours == theirs
    assert ours[2] == ("hound", "little_hound.Dachshund")


def register_scenario(api):
    cats = api.Registry("cat", scope="cat")
    seen = []

    @cats.register_module()
    def muchkin(size):
        pass

    seen.append((len(cats), "muchkin" in cats, cats.get("muchkin") is muchkin))

    @cats.register_module(name="Munchkin")
    class Munchkin:
        pass

    @cats.register_module(name=["Siamese", "Siamese2"])
    class SiameseCat:
        pass

    seen.append((len(cats), cats.get("Siamese") is cats.get("Siamese2") is SiameseCat, "Munchkin" in cats))

    def register_again(**kwargs):
        @cats.register_module(**kwargs)
        class SiameseCat:  # a different class under a taken name
            pass

    seen.append(outcome(lambda: register_again(name=7474741)))
    seen.append(outcome(lambda: register_again(force=1)))
    seen.append(outcome(lambda: register_again(name="Siamese")))
    register_again(name="Siamese", force=True)
    seen.append((len(cats), name_of(cats.get("Siamese"))))
    seen.append(outcome(lambda: cats.register_module(module="string")))

    class SphynxCat:
        pass

    cats.register_module(module=SphynxCat)
    cats.register_module(name="Sphynx1", module=SphynxCat)
    cats.register_module(name=["Sphynx2", "Sphynx3"], module=SphynxCat)
    cats.register_module("muchkin0", False, functools.partial(muchkin, size=0))
    cats.register_module(name="unknown cat", module=lambda: "unknown")
    seen.append((len(cats), sorted(cats.module_dict), "unknown cat" in cats))
    seen.append(outcome(lambda: cats.get(None)))
    seen.append(("Registry of cat" in repr(cats), "SphynxCat" in repr(cats)))
    return seen


def test_register_module_matches_mmengine():
    ours, theirs = both(register_scenario)
    assert ours == theirs
    assert ours[2:5] == ["raises TypeError", "raises TypeError", "raises KeyError"]


def test_reregistering_the_same_object_is_allowed():
    """Deliberate difference: MMEngine raises KeyError even for the very same class (e.g. a reloaded module)."""
    api = mmhooks_api()
    cats = api.Registry("cat", scope="cat")

    class Cat:
        pass

    cats.register_module(module=Cat)
    cats.register_module(module=Cat)
    assert cats.get("Cat") is Cat
    with pytest.raises(KeyError):
        cats.register_module(name="Cat", module=type("Cat", (), {}))


# -- hierarchical get and _search_child ---------------------------------------------------------------

GET_KEYS = [
    ("dogs", "GoldenRetriever"), ("dogs", "bark"), ("dogs", "dog_bark"), ("hounds", "BloodHound"),
    ("dogs", "hound.BloodHound"), ("hounds", "hound.BloodHound"), ("hounds", "GoldenRetriever"),
    ("hounds", "dog_bark"), ("little", "Dachshund"), ("little", "hound.BloodHound"),
    ("hounds", "little_hound.Dachshund"), ("dogs", "hound.little_hound.Dachshund"), ("little", "BloodHound"),
    ("little", "GoldenRetriever"), ("little", "hound.mid_hound.Beagle"), ("little", "samoyed.PedigreeSamoyed"),
    ("little", "samoyed.little_samoyed.LittlePedigreeSamoyed"),
    ("hounds", "samoyed.little_samoyed.LittlePedigreeSamoyed"), ("little", "GoldenRetrieverererer"),
    ("dogs", "samoyedddd.PedigreeSamoyed"), ("dogs", "samoyed.LittlePedigreeSamoyed"),
    ("little", "mid_hound.PedigreeSamoyedddddd"), ("dogs", "little_hound.Dachshund"), ("mid", "Dachshund"),
    ("samoyeds", "dogs.GoldenRetriever"), ("little", "dogs.hound.BloodHound"), ("little", "collections.OrderedDict"),
    ("little", "mmengine.unknown"), ("dogs", "hound"),
]


def get_scenario(api):
    registries = tree(api)
    populate(api, registries)
    by_name = dict(zip(["dogs", "hounds", "little", "mid", "samoyeds", "little_samoyeds"], registries))
    found = {f"{where}:{key}": name_of(by_name[where].get(key)) for where, key in GET_KEYS}
    found["len"] = [len(registry) for registry in registries]
    found["root"] = [registry._get_root_registry().name for registry in registries]
    dogs, hounds, little = registries[:3]
    found["search"] = [name_of(r) if r is None else r.name for r in (
        dogs._search_child("hound"), dogs._search_child("not a child"), dogs._search_child("little_hound"),
        little._search_child("hound"), little._search_child("mid_hound"))]
    return found


def test_hierarchical_get_matches_mmengine():
    ours, theirs = both(get_scenario)
    assert ours == theirs
    assert ours["little:hound.mid_hound.Beagle"] == "Beagle"


def test_get_a_module_by_its_import_path():
    import mmengine.utils

    little = tree(mmhooks_api())[2]
    assert little.get("mmengine.utils") is mmengine.utils


# -- build ----------------------------------------------------------------------------------------------


def build_scenario(api, cfg_type):
    registries = tree(api)
    populate(api, registries)
    dogs, hounds, little, mid, samoyeds, _ = registries
    cfg = lambda **kw: cfg_type(dict(**kw))  # noqa: E731
    seen = [
        outcome(lambda: dogs.build(cfg(type="GoldenRetriever"))),
        dogs.build(cfg(type="bark", word="meow", times=3)),
        dogs.build(cfg(type="dog_bark", times=3)),
        outcome(lambda: hounds.build(cfg(type="BloodHound"))),
        outcome(lambda: hounds.build(cfg(type="GoldenRetriever"))),
        hounds.build(cfg(type="dog_bark", times=2)),
        outcome(lambda: little.build(cfg(type="Dachshund"))),
        outcome(lambda: mid.build(cfg(type="Beagle"))),
        outcome(lambda: little.build(cfg(type="Beagle"))),
    ]
    api.DefaultScope.get_instance(f"test-{time.time()}", scope_name="mid_hound")
    seen.append(outcome(lambda: little.build(cfg(type="Beagle"))))  # the default scope's registry is used
    api.DefaultScope.get_instance(f"test2-{time.time()}", scope_name="scope-not-found")
    seen.append(outcome(lambda: mid.build(cfg(type="Beagle"))))  # unknown scope: the registry itself
    dog = dogs.build(cfg(_scope_="samoyed", type="MySamoyed", friend=dict(type="hound.BloodHound")))
    seen.append((type(dog).__name__, type(dog.friend).__name__,
                 api.DefaultScope.get_current_instance().scope_name))
    dog = dogs.build(cfg(_scope_="samoyed", type="MySamoyed", friend=dict(type="YourSamoyed")))
    seen.append((type(dog).__name__, type(dog.friend).__name__,
                 api.DefaultScope.get_current_instance().scope_name))
    lambda_dog = lambda name: name  # noqa: E731
    dogs.register_module(name="lambda_dog", module=lambda_dog)
    dogs.register_module(name="partial dog", module=functools.partial(lambda_dog, name="partial"))
    seen.append((dogs.build(cfg(type="lambda_dog", name="unknown")), dogs.build(cfg(type="partial dog"))))
    return seen


@pytest.mark.parametrize("cfg_type", ["dict", "ConfigDict", "Config"])
def test_build_matches_mmengine(cfg_type):
    def scenario(api):
        return build_scenario(api, {"dict": dict, "ConfigDict": api.ConfigDict, "Config": api.Config}[cfg_type])

    ours, theirs = both(scenario)
    assert ours == theirs
    assert ours[1] == "meow meow meow" and ours[-3][1] == "BloodHound"


def switch_scenario(api):
    dogs = api.Registry("dogs", scope="dogs")
    hounds = api.Registry("hounds", scope="hound", parent=dogs)
    api.Registry("samoyeds", scope="samoyed", parent=dogs)
    chihuahua = api.Registry("chihuahuas", scope="chihuahua", parent=dogs)
    api.DefaultScope.get_instance(f"scope_{time.time()}", scope_name="chihuahua")
    seen = []
    with chihuahua.switch_scope_and_registry(scope="hound") as registry:
        seen.append((api.DefaultScope.get_current_instance().scope_name, registry.name, registry is hounds))
    with chihuahua.switch_scope_and_registry(scope="samoyed") as outer:
        with chihuahua.switch_scope_and_registry(scope="hound") as inner:
            seen.append((api.DefaultScope.get_current_instance().scope_name, outer.name, inner.name))
    seen.append(api.DefaultScope.get_current_instance().scope_name)
    with chihuahua.switch_scope_and_registry(scope="unknown") as registry:
        seen.append((registry.name, api.DefaultScope.get_current_instance().scope_name))
    with chihuahua.switch_scope_and_registry(scope=None) as registry:
        seen.append(registry.name)
    return seen


def test_switch_scope_and_registry_matches_mmengine():
    ours, theirs = both(switch_scenario)
    assert ours == theirs
    assert ours[0] == ("hound", "hounds", True)


# -- build functions --------------------------------------------------------------------------------------


def build_from_cfg_scenario(api, cfg_type):
    backbones = api.Registry("backbone", scope="backbone")

    @backbones.register_module()
    class ResNet:
        def __init__(self, depth, stages=4):
            self.depth, self.stages = depth, stages

    @backbones.register_module()
    class ResNeXt(ResNet):
        pass

    def build(cfg, registry=backbones, **kwargs):
        return lambda: api.build_from_cfg(cfg, registry, **kwargs)

    def shape(model):
        return (type(model).__name__, model.depth, model.stages)

    seen = [
        outcome(build("ResNet")),
        shape(build(cfg_type(dict(type="ResNet", depth=50)))()),
        outcome(build(cfg_type(dict(depth=50, stages=4)))),
        outcome(build(cfg_type(dict(type=1000)))),
        shape(build(cfg_type(dict(type="ResNeXt", depth=50, stages=3)))()),
        shape(build(cfg_type(dict(type=ResNet, depth=50)))()),
        outcome(build(cfg_type(dict(type="VGG")))),
        outcome(build(cfg_type(dict(type="ResNet", non_existing_arg=50)))),
        shape(api.build_from_cfg(cfg_type(dict(type="ResNet", depth=50)), backbones, cfg_type(dict(stages=3)))),
        outcome(build(cfg_type(dict(type="ResNet", depth=50)), default_args=1)),
        outcome(build(cfg_type(dict(depth=50)), default_args=cfg_type(dict(stages=4)))),
        shape(build(cfg_type(dict(depth=50)), default_args=cfg_type(dict(type="ResNet")))()),
        shape(build(cfg_type(dict(depth=50)), default_args=cfg_type(dict(type=ResNet)))()),
        outcome(build(cfg_type(dict(type="ResNet", depth=50)), registry="BACKBONES")),
        outcome(build(cfg_type(dict(type="ResNet")))),  # a required argument is missing
    ]
    visualizers = api.Registry("visualizer", scope="visualizer")

    @visualizers.register_module()
    class Visualizer(api.ManagerMixin):
        def __init__(self, name):
            super().__init__(name)

    seen.append(outcome(Visualizer.get_current_instance))
    built = api.build_from_cfg(dict(type="Visualizer", name="visualizer"), visualizers)
    seen.append(Visualizer.get_current_instance() is built)
    return seen


@pytest.mark.parametrize("cfg_type", ["dict", "ConfigDict", "Config"])
def test_build_from_cfg_matches_mmengine(cfg_type):
    def scenario(api):
        return build_from_cfg_scenario(api, {"dict": dict, "ConfigDict": api.ConfigDict, "Config": api.Config}[cfg_type])

    ours, theirs = both(scenario)
    assert ours == theirs
    assert ours[0] == "raises TypeError" and ours[6] == "raises KeyError"


def test_build_from_cfg_errors_name_the_key_path():
    """What mmhooks adds: the errors are ConfigErrors located by key path, with the closest name."""
    from mmhooks.errors import ConfigError

    api = mmhooks_api()
    backbones = api.Registry("backbone", scope="backbone")
    backbones.register_module(name="ResNet", module=lambda depth, stages=4: (depth, stages))
    with pytest.raises(ConfigError) as info:
        api.build_from_cfg(dict(type="ResNot"), backbones, path="model.backbone")
    assert str(info.value) == ("model.backbone.type: got 'ResNot'; expected a registered backbone (ResNet). "
                               "Fix: did you mean 'ResNet'?")
    with pytest.raises(ConfigError) as info:
        api.build_from_cfg("ResNet", backbones, path="model.backbone")
    assert str(info.value).startswith("model.backbone: got 'ResNet'; expected a dict, ConfigDict or Config")


def build_model_scenario(api):
    import torch.nn as nn

    backbones = api.Registry("backbone", build_func=api.build_model_from_cfg, scope="backbone")

    @backbones.register_module()
    class ResNet(nn.Module):
        def __init__(self, depth, stages=4):
            super().__init__()
            self.depth, self.stages = depth, stages

    seen = [type(backbones.build(dict(type="ResNet", depth=50))).__name__]
    model = backbones.build([dict(type="ResNet", depth=50), dict(type="ResNet", depth=18, stages=3)])
    seen.append((isinstance(model, nn.Sequential), [(m.depth, m.stages) for m in model]))
    seen.append(api.Registry("models", parent=backbones, scope="new").build_func is api.build_model_from_cfg)

    def pseudo_build(cfg):
        return cfg

    seen.append(api.Registry("models", parent=backbones, scope="new2", build_func=pseudo_build).build_func
                is pseudo_build)
    return seen


def test_build_model_from_cfg_matches_mmengine():
    ours, theirs = both(build_model_scenario)
    assert ours == theirs
    assert ours[1] == (True, [(50, 4), (18, 3)])


def scheduler_scenario(api):
    import torch

    optimizer = torch.optim.SGD(torch.nn.Conv2d(1, 1, 1).parameters(), lr=0.1)
    common = dict(type="LinearParamScheduler", optimizer=optimizer, param_name="lr", begin=0, end=100)
    plain = api.PARAM_SCHEDULERS.build(dict(common, epoch_length=7))
    converted = api.PARAM_SCHEDULERS.build(dict(common, convert_to_iter_based=True, epoch_length=10))
    by_default = api.PARAM_SCHEDULERS.build(dict(type="MultiStepLR", convert_to_iter_based=True, milestones=[2, 4]),
                                            default_args=dict(optimizer=optimizer, epoch_length=5))
    return [(type(s).__name__, s.begin, s.end, s.by_epoch) for s in (plain, converted, by_default)] + [
        sorted(by_default.milestones),
        outcome(lambda: api.PARAM_SCHEDULERS.build(dict(common, convert_to_iter_based=True))).startswith("raises"),
        outcome(lambda: api.PARAM_SCHEDULERS.build(dict(common, convert_to_iter_based=True, epoch_length=3,
                                                         by_epoch=False))).startswith("raises"),
    ]


def test_scheduler_build_converts_to_iter_based_as_mmengine():
    ours, theirs = both(scheduler_scenario)
    assert ours == theirs
    assert ours[:2] == [("LinearParamScheduler", 0, 100, True), ("LinearParamScheduler", 0, 1000, False)]
    assert ours[3:] == [[10, 20], True, True]


# -- registry utilities ------------------------------------------------------------------------------------


def traverse_scenario(api):
    dogs, hounds, little, mid, samoyeds, little_samoyeds = tree(api)

    @dogs.register_module()
    class GoldenRetriever:
        pass

    from_root = api.traverse(dogs, verbose=False)
    return [len(from_root), from_root[0]["num_modules"], [info["scope"] for info in from_root],
            from_root == api.traverse(mid, verbose=False)]


def test_traverse_registry_tree_matches_mmengine():
    ours, theirs = both(traverse_scenario)
    assert ours == theirs == [6, 1, ours[2], True]
