"""Where MMEngine raises a built-in exception for bad input, mmhooks' exception is an instance of that class too.

mmhooks raises :class:`~mmhooks.errors.ConfigError` (a ``ValueError``) with its
own message; where MMEngine uses ``assert``, the error is also an
``AssertionError``, so code catching MMEngine's class keeps working.
"""

from __future__ import annotations

from collections import OrderedDict
from unittest.mock import Mock

import pytest
import torch

mmengine = pytest.importorskip("mmengine")

import mmengine.hooks as mm_hooks  # noqa: E402
import mmengine.logging as mm_logging  # noqa: E402
import mmengine.optim.scheduler as mm_scheduler  # noqa: E402

import mmhooks.hooks as hooks  # noqa: E402
import mmhooks.logging as logging_  # noqa: E402
import mmhooks.optim.scheduler as scheduler  # noqa: E402
from mmhooks.errors import ConfigError  # noqa: E402


def _raised(call):
    with pytest.raises(Exception) as info:
        call()
    return info.value


def _optimizer():
    return torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)


CASES = {
    "cosine eta_min and eta_min_ratio": lambda ns: ns.CosineAnnealingLR(_optimizer(), T_max=3, eta_min=0,
                                                                         eta_min_ratio=0.1),
    "cosine restart weights": lambda ns: ns.CosineRestartLR(_optimizer(), periods=[4, 5], restart_weights=[1],
                                                            eta_min=0),
    "epoch_length < 0": lambda ns: ns.StepLR.build_iter_from_epoch(_optimizer(), step_size=2, epoch_length=-1),
    "plateau by_epoch=False": lambda ns: ns.ReduceOnPlateauLR(_optimizer(), by_epoch=False),
    "plateau last_step": lambda ns: ns.ReduceOnPlateauLR(_optimizer(), last_step=1.5),
    "history lengths": lambda ns: ns.HistoryBuffer([1, 2], [1]),
    "hub scalar type": lambda ns: ns.MessageHub("mmtests_bad_hub", log_scalars=OrderedDict(a=1)),
    "hub resumed key": lambda ns: ns.MessageHub("mmtests_bad_keys", runtime_info=OrderedDict(iter=1),
                                                resumed_keys=OrderedDict(iters=False)),
    "hub list value": lambda ns: ns.MessageHub("mmtests_list_hub").update_scalars({"error_type": []}),
    "hub count without value": lambda ns: ns.MessageHub("mmtests_count_hub").update_scalars(
        {"error_type": {"count": 1}}),
}
NAMESPACES = {"optim": (scheduler, mm_scheduler), "logging": (logging_, mm_logging)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_exception_is_an_instance_of_mmengines_class(case):
    mine_ns, theirs_ns = NAMESPACES["optim" if case.split()[0] in ("cosine", "epoch_length", "plateau")
                                    else "logging"]
    theirs = _raised(lambda: CASES[case](theirs_ns))
    mine = _raised(lambda: CASES[case](mine_ns))
    assert isinstance(mine, type(theirs)), (type(mine), type(theirs))


def test_scheduler_errors_stay_config_errors_with_a_key_path():
    error = _raised(lambda: CASES["epoch_length < 0"](scheduler))
    assert isinstance(error, ConfigError) and isinstance(error, AssertionError)
    relocated = error.under("param_scheduler[0]")
    assert isinstance(relocated, AssertionError) and str(relocated).startswith("param_scheduler[0]")


def test_early_stopping_without_a_stoppable_loop():
    runner = Mock()
    runner.train_loop = object()
    theirs = _raised(lambda: mm_hooks.EarlyStoppingHook(monitor="acc", rule="greater").before_run(runner))
    mine = _raised(lambda: hooks.EarlyStoppingHook(monitor="acc", rule="greater").before_run(runner))
    assert isinstance(mine, type(theirs))


def test_checkpoint_helpers_raise_mmengines_classes(tmp_path):
    import mmengine.runner.checkpoint as mm_checkpoint

    import mmhooks.runner.checkpoint as checkpoint

    path = tmp_path / "model.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(1, 1)).state_dict(), path)
    for call in (lambda ns: ns.load_from_pavi("MyPaviFolder/checkpoint.pth"),
                 lambda ns: ns._load_checkpoint_with_prefix("back", str(path))):
        theirs = _raised(lambda: call(mm_checkpoint))
        mine = _raised(lambda: call(checkpoint))
        assert isinstance(mine, type(theirs)) and isinstance(mine, ConfigError)


def test_vis_backend_and_visualizer_argument_errors_raise_mmengines_classes(tmp_path):
    import numpy as np
    from mmengine import visualization as mm_visualization

    from mmhooks import visualization

    image = np.zeros((4, 4, 3), dtype=np.int64)
    calls = [
        lambda ns: ns.LocalVisBackend(str(tmp_path / "a"), config_save_file="a.txt"),
        lambda ns: ns.LocalVisBackend(str(tmp_path / "b"), scalar_save_file="a.yaml"),
        lambda ns: ns.LocalVisBackend(str(tmp_path / "c")).add_image("img", image),
        lambda ns: ns.LocalVisBackend(str(tmp_path / "d")).add_scalars({"a": 1}, file_path="x.yaml"),
        lambda ns: ns.LocalVisBackend(str(tmp_path / "e")).add_scalars({"a": 1}, file_path="scalars.json"),
        lambda ns: ns.TensorboardVisBackend(str(tmp_path / "f")).add_scalars({"a": 1, "step": 1}),
        lambda ns: ns.Visualizer(f"mmtests_dup_{ns.__name__}", save_dir=str(tmp_path / "g"),
                                 vis_backends=[dict(type="LocalVisBackend", name="x"),
                                               dict(type="LocalVisBackend", name="x")]),
    ]
    for call in calls:
        theirs = _raised(lambda: call(mm_visualization))
        mine = _raised(lambda: call(visualization))
        assert isinstance(mine, type(theirs)), (type(mine), type(theirs))


def test_profiler_schedule_arguments_raise_mmengines_class():
    theirs = _raised(lambda: mm_hooks.ProfilerHook(schedule=dict()))
    mine = _raised(lambda: hooks.ProfilerHook(schedule=dict()))
    assert isinstance(mine, type(theirs)) and isinstance(mine, ConfigError)


def test_optimizer_builder_errors_raise_mmengines_classes():
    import mmengine.optim as mm_optim

    import mmhooks.optim as optim

    model = torch.nn.Linear(2, 2)
    base = {"optimizer": {"type": "SGD", "lr": 0.01}}
    calls = [
        lambda ns: ns.build_optim_wrapper(model, {**base, "constructor": "INVALID_CONSTRUCTOR"}),
        lambda ns: ns.DefaultOptimWrapperConstructor([]),
        lambda ns: ns.DefaultOptimWrapperConstructor(dict(base), paramwise_cfg=[1]),
        lambda ns: ns.DefaultOptimWrapperConstructor(dict(base), {"custom_keys": [0.1, 0.0001]})(model),
    ]
    for call in calls:
        theirs = _raised(lambda: call(mm_optim))
        mine = _raised(lambda: call(optim))
        assert isinstance(mine, type(theirs)) and isinstance(mine, ConfigError), (type(mine), type(theirs))


def test_zero_redundancy_optimizer_configs_pass_the_optimizer_check():
    """Its keyword arguments go to the inner optimizer (lr, momentum...), so the check must not reject them."""
    from mmhooks.optim import check_optimizer_cfg

    check_optimizer_cfg(dict(type="ZeroRedundancyOptimizer", optimizer_type="SGD", lr=0.01, momentum=0.9))
    with pytest.raises(TypeError):  # a missing required argument, as Python (and so MMEngine) reports it
        check_optimizer_cfg(dict(type="ZeroRedundancyOptimizer", lr=0.01))


def test_config_errors_raise_mmengines_classes(tmp_path, monkeypatch):
    import mmengine.config as mm_config

    import mmhooks.config as config

    bad = tmp_path / "cfg.xml"
    bad.write_text("a = 1")
    imports = tmp_path / "imports.py"
    imports.write_text("custom_imports = dict(imports=['mmtests_no_such_module'], allow_failed_imports=False)\n")
    calls = [
        lambda ns: ns.Config.fromstring("a = 1", ".xml"),
        lambda ns: ns.Config.fromfile(str(bad)),
        lambda ns: ns.Config.fromfile(str(tmp_path / "no_such_file.py")),
        lambda ns: ns.Config(dict(item=[dict(a=0), dict(b=0)])).merge_from_dict({"item.2.a": 1},
                                                                                 allow_list_keys=True),
        lambda ns: ns.Config.fromfile(str(imports), import_custom_modules=True),
    ]
    for call in calls:
        theirs = _raised(lambda: call(mm_config))
        mine = _raised(lambda: call(config))
        assert isinstance(mine, type(theirs)) and isinstance(mine, ConfigError), (type(mine), type(theirs))


def test_registry_parent_of_the_wrong_kind_raises_mmengines_class():
    import mmengine.registry as mm_registry

    import mmhooks.registry as registry

    for kwargs in ({"parent": "cat", "scope": "little_cat"}, {"scope": 1}):
        theirs = _raised(lambda: mm_registry.Registry("little_cat", **kwargs))
        mine = _raised(lambda: registry.Registry("little_cat", **kwargs))
        assert isinstance(mine, type(theirs)) and isinstance(mine, TypeError)


def test_offline_evaluate_with_mismatched_lengths_raises_mmengines_class():
    from mmengine.evaluator import BaseMetric as MMBaseMetric
    from mmengine.evaluator import Evaluator as MMEvaluator

    from mmhooks.evaluator import BaseMetric, Evaluator

    def metric(base):
        class Count(base):
            default_prefix = "mmtests"

            def process(self, data_batch, data_samples):
                self.results.extend(data_samples)

            def compute_metrics(self, results):
                return {"n": len(results)}

        return Count()

    theirs = _raised(lambda: MMEvaluator(metric(MMBaseMetric)).offline_evaluate([1, 2], [{}]))
    mine = _raised(lambda: Evaluator(metric(BaseMetric)).offline_evaluate([1, 2], [{}]))
    assert isinstance(mine, type(theirs)) and isinstance(mine, ValueError)
