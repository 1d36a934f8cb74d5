"""BaseTTAModel and build_runner_with_tta against MMEngine's, on the same toy model and augmented batches."""

from __future__ import annotations

import types
import uuid
from typing import Any

import pytest
import torch
from torch import nn

import mmhooks.model as ours
from mmhooks.errors import ConfigError
from mmhooks.hooks import PrepareTTAHook

mmengine = pytest.importorskip("mmengine")
import mmengine.model as theirs  # noqa: E402


def scale_model(lib: types.ModuleType) -> nn.Module:
    """``test_step`` returns ``weight * input`` per sample, with the sample's tag, after the preprocessor."""

    class Scale(lib.BaseModel):
        def __init__(self, data_preprocessor: Any = None) -> None:
            super().__init__(data_preprocessor=data_preprocessor)
            self.weight = nn.Parameter(torch.tensor([2.0, -1.0]))

        def forward(self, inputs: Any, data_samples: Any = None, mode: str = "tensor") -> Any:
            outputs = [self.weight * x for x in inputs]
            if mode == "predict":
                return [dict(pred=o, tag=s) for o, s in zip(outputs, data_samples)]
            return outputs

    return Scale()


def mean_tta(lib: types.ModuleType) -> type:
    class MeanTTA(lib.BaseTTAModel):
        def merge_preds(self, data_samples_list):
            return [dict(pred=torch.stack([v["pred"] for v in views]).mean(0), tags=[v["tag"] for v in views])
                    for views in data_samples_list]

    return MeanTTA


def views_batch() -> dict[str, Any]:
    """Two samples, three views each, in the layout pseudo_collate gives a TTA pipeline's output."""
    g = torch.Generator().manual_seed(0)
    return dict(inputs=[[torch.randn(2, generator=g) for _ in range(2)] for _ in range(3)],
                data_samples=[[f"s{s}v{v}" for s in range(2)] for v in range(3)])


def _run(lib: types.ModuleType, data: Any) -> Any:
    return mean_tta(lib)(scale_model(lib)).test_step(data)


def _assert_same_predictions(mine: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [p["tags"] for p in mine] == [p["tags"] for p in expected]
    for a, b in zip(mine, expected):
        torch.testing.assert_close(a["pred"], b["pred"], rtol=0, atol=0)


def test_dict_batch_matches_mmengine() -> None:
    mine, expected = _run(ours, views_batch()), _run(theirs, views_batch())
    assert expected[1]["tags"] == ["s1v0", "s1v1", "s1v2"]
    _assert_same_predictions(mine, expected)


@pytest.mark.parametrize("container", [tuple, list])
def test_sequence_batch_matches_mmengine(container: type) -> None:
    """A tuple/list batch: each field is a list over views (here: inputs, data_samples)."""

    def run(lib: types.ModuleType) -> Any:
        class Echo(nn.Module):
            def test_step(self, data: Any) -> Any:
                inputs, samples = data
                return [dict(pred=x * 3, tag=s) for x, s in zip(inputs, samples)]

        batch = views_batch()
        return mean_tta(lib)(Echo()).test_step(container([batch["inputs"], batch["data_samples"]]))

    _assert_same_predictions(run(ours), run(theirs))


def test_module_from_config_with_data_preprocessor_like_mmengine() -> None:
    from mmengine.registry import MODELS as MM_MODELS

    from mmhooks.registry import MODELS

    name = f"TTAScale{uuid.uuid4().hex[:8]}"
    built = {}
    for lib, registry in ((ours, MODELS), (theirs, MM_MODELS)):
        registry.register_module(name=name, module=type(scale_model(lib)), force=True)
        try:
            cfg = dict(type=name)
            preprocessor = dict(type="BaseDataPreprocessor", non_blocking=True)
            built[lib.__name__] = mean_tta(lib)(cfg, data_preprocessor=preprocessor)
        finally:
            registry.module_dict.pop(name)
    mine, expected = built["mmhooks.model"], built["mmengine.model"]
    assert (type(mine.module).__name__, mine.module.data_preprocessor._non_blocking) == \
        (type(expected.module).__name__, expected.module.data_preprocessor._non_blocking) == ("Scale", True)
    _assert_same_predictions(mine.test_step(views_batch()), expected.test_step(views_batch()))


def test_bad_module_type_is_a_type_error_like_mmengine() -> None:
    with pytest.raises(TypeError):
        mean_tta(theirs)(module=3)
    with pytest.raises(TypeError) as info:
        mean_tta(ours)(module=3)
    assert str(info.value) == ("MeanTTA.module: got 3; expected an nn.Module or a model config dict. "
                               "Fix: pass the model to test, or its config with a 'type'.")


def test_module_without_test_step() -> None:
    with pytest.raises(AssertionError):
        mean_tta(theirs)(nn.Linear(1, 1))
    with pytest.raises(ConfigError, match=r"^MeanTTA\.module: got 'Linear'; expected a model with a test_step"):
        mean_tta(ours)(nn.Linear(1, 1))


def test_forward_is_not_used_like_mmengine() -> None:
    with pytest.raises(NotImplementedError):
        mean_tta(theirs)(scale_model(theirs))(torch.ones(2))
    with pytest.raises(NotImplementedError, match=r"^MeanTTA\.forward: a TTA model is run through test_step"):
        mean_tta(ours)(scale_model(ours))(torch.ones(2))


def test_prepare_tta_hook_builds_mmhooks_tta_model_by_name() -> None:
    from mmhooks.registry import MODELS

    name = f"MeanTTA{uuid.uuid4().hex[:8]}"
    MODELS.register_module(name=name, module=mean_tta(ours))
    try:
        model = scale_model(ours)
        runner = types.SimpleNamespace(model=model)
        PrepareTTAHook(dict(type=name)).before_test(runner)
    finally:
        MODELS.module_dict.pop(name)
    assert isinstance(runner.model, ours.BaseTTAModel) and runner.model.module is model
    _assert_same_predictions(runner.model.test_step(views_batch()), _run(theirs, views_batch()))


# ----------------------------------------------------------------------------- build_runner_with_tta, end to end
class ViewsDataset:
    """Six vectors; with a ``TestTimeViews`` pipeline each sample becomes one view per scale."""

    def __init__(self, pipeline: list[dict[str, Any]] | None = None) -> None:
        self.scales = next((t["scales"] for t in pipeline or [] if t["type"] == "TestTimeViews"), None)
        self.data = torch.randn(6, 2, generator=torch.Generator().manual_seed(4))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.scales is None:
            return dict(inputs=self.data[index], data_samples=f"i{index}")
        return dict(inputs=[self.data[index] * s for s in self.scales],
                    data_samples=[f"i{index}x{s}" for s in self.scales])


def recording_metric(base_metric: type) -> type:
    class Record(base_metric):
        default_prefix = "tta"

        def process(self, data_batch: Any, data_samples: Any) -> None:
            self.results.extend((s["tags"], s["pred"].tolist()) for s in data_samples)

        def compute_metrics(self, results: list[Any]) -> dict[str, Any]:
            RECORDED.append(list(results))
            return {"total": float(sum(sum(pred) for _, pred in results))}

    return Record


RECORDED: list[Any] = []


def tta_config(work_dir: Any, names: dict[str, str]) -> dict[str, Any]:
    return dict(
        model=dict(type=names["model"]),
        work_dir=str(work_dir),
        test_dataloader=dict(dataset=dict(type=names["dataset"], pipeline=[]), batch_size=4,
                             sampler=dict(type="DefaultSampler", shuffle=False)),
        test_cfg=dict(),
        test_evaluator=dict(type=names["metric"]),
        tta_model=dict(type=names["tta"]),
        tta_pipeline=[dict(type="TestTimeViews", scales=[1.0, -0.5, 2.0])],
        experiment_name=f"tta_{uuid.uuid4().hex}",
    )


@pytest.fixture
def registered_names():
    """The toy model, dataset and TTA model registered under one name each in both libraries."""
    from mmengine.evaluator import BaseMetric as MMBaseMetric
    from mmengine.registry import DATASETS as MM_DATASETS
    from mmengine.registry import METRICS as MM_METRICS
    from mmengine.registry import MODELS as MM_MODELS

    from mmhooks.evaluator import BaseMetric
    from mmhooks.registry import DATASETS, METRICS, MODELS

    suffix = uuid.uuid4().hex[:8]
    names = dict(model=f"Scale{suffix}", dataset=f"Views{suffix}", tta=f"MeanTTA{suffix}", metric=f"Record{suffix}")
    entries = [(MODELS, names["model"], type(scale_model(ours))), (MM_MODELS, names["model"], type(scale_model(theirs))),
               (MODELS, names["tta"], mean_tta(ours)), (MM_MODELS, names["tta"], mean_tta(theirs)),
               (DATASETS, names["dataset"], ViewsDataset), (MM_DATASETS, names["dataset"], ViewsDataset),
               (METRICS, names["metric"], recording_metric(BaseMetric)),
               (MM_METRICS, names["metric"], recording_metric(MMBaseMetric))]
    for registry, name, cls in entries:
        registry.register_module(name=name, module=cls, force=True)
    yield names
    for registry, name, _ in entries:
        registry.module_dict.pop(name, None)


def test_build_runner_with_tta_sets_pipeline_and_hook_like_mmengine(tmp_path: Any, registered_names: Any) -> None:
    from mmengine.config import Config as MMConfig
    from mmengine.hooks.test_time_aug_hook import build_runner_with_tta as mm_build

    from mmhooks.config import Config
    from mmhooks.hooks.test_time_aug_hook import build_runner_with_tta

    mine_cfg = Config(tta_config(tmp_path / "ours", registered_names))
    theirs_cfg = MMConfig(tta_config(tmp_path / "theirs", registered_names))
    mine, expected = build_runner_with_tta(mine_cfg), mm_build(theirs_cfg)
    assert mine_cfg.test_dataloader.dataset.pipeline == theirs_cfg.test_dataloader.dataset.pipeline == \
        [dict(type="TestTimeViews", scales=[1.0, -0.5, 2.0])]
    tta_hooks = [h for h in mine.hooks if isinstance(h, PrepareTTAHook)]
    assert [h.tta_cfg for h in tta_hooks] == [dict(type=registered_names["tta"])]
    assert [type(h).__name__ for h in expected.hooks if type(h).__name__ == "PrepareTTAHook"] == ["PrepareTTAHook"]


def test_tta_runner_test_merges_views_like_mmengine(tmp_path: Any, registered_names: Any) -> None:
    from mmengine.config import Config as MMConfig
    from mmengine.hooks.test_time_aug_hook import build_runner_with_tta as mm_build

    from mmhooks.config import Config
    from mmhooks.hooks.test_time_aug_hook import build_runner_with_tta

    RECORDED.clear()
    expected_metrics = mm_build(MMConfig(tta_config(tmp_path / "theirs", registered_names))).test()
    mine_cfg = Config(tta_config(tmp_path / "ours", registered_names))
    mine_cfg.trainer = dict(enable_progress_bar=False)
    metrics = build_runner_with_tta(mine_cfg).test()
    expected_records, records = RECORDED
    assert records[0][0] == ["i0x1.0", "i0x-0.5", "i0x2.0"]
    assert records == expected_records
    assert metrics == pytest.approx(expected_metrics)
