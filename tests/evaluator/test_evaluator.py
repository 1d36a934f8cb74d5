"""BaseMetric and Evaluator against MMEngine's: prefixes, truncation, merging, duplicates, gathering."""

from __future__ import annotations

from typing import Any

import pytest

import mmhooks.evaluator.metric as metric_module
from mmhooks.errors import ConfigError
from mmhooks.evaluator import BaseMetric, Evaluator, build_evaluator, collect_results
from mmhooks.registry import METRICS

mmengine = pytest.importorskip("mmengine")
from mmengine.evaluator import BaseMetric as MMBaseMetric  # noqa: E402
from mmengine.evaluator import Evaluator as MMEvaluator  # noqa: E402
from mmengine.structures import BaseDataElement  # noqa: E402

from mmhooks.registry import METRICS as _METRICS


def _registered() -> str:
    """The registered metric names as the message lists them (other tests may register more)."""
    return ", ".join(_METRICS.keys())



def _mean_metric(base: type, default_prefix: str | None) -> type:
    class MeanScore(base):  # type: ignore[misc, valid-type]
        def process(self, data_batch: Any, data_samples: Any) -> None:
            self.results.extend(sample["score"] for sample in data_samples)

        def compute_metrics(self, results: list[Any]) -> dict[str, Any]:
            return {"mean": sum(results) / len(results), "count": len(results)}

    MeanScore.default_prefix = default_prefix
    return MeanScore


SAMPLES = [{"score": 1.0}, {"score": 2.0}, {"score": 6.0}, {"score": 7.0}]


@pytest.mark.parametrize(
    ("default_prefix", "prefix", "size"),
    [("toy", None, 4), ("toy", "mine", 4), (None, None, 3), ("toy", None, 10)],
    ids=["default_prefix", "prefix_arg", "no_prefix_truncated", "size_past_end"],
)
def test_base_metric_evaluate_matches_mmengine(default_prefix: str | None, prefix: str | None, size: int) -> None:
    ours = _mean_metric(BaseMetric, default_prefix)(prefix=prefix)
    theirs = _mean_metric(MMBaseMetric, default_prefix)(prefix=prefix)
    for metric in (ours, theirs):
        metric.process(None, SAMPLES[:2])
        metric.process(None, SAMPLES[2:])
    assert ours.evaluate(size) == theirs.evaluate(size)
    assert ours.results == theirs.results == []


def test_collect_results_interleaves_ranks_and_drops_padding(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = [["a0", "a1", "a2"], ["b0", "b1", "b2"], ["c0", "c1"]]  # rank r holds samples r, r+3, ...

    def all_gather_object(out: list[Any], obj: Any) -> None:
        out[:] = parts

    monkeypatch.setattr(metric_module, "is_distributed", lambda: True)
    monkeypatch.setattr(metric_module, "get_world_size", lambda: 3)
    monkeypatch.setattr(metric_module.torch_dist, "all_gather_object", all_gather_object)
    monkeypatch.setattr(metric_module, "get_rank", lambda: 0)
    assert collect_results(parts[0], size=7) == ["a0", "b0", "c0", "a1", "b1", "c1", "a2"]
    monkeypatch.setattr(metric_module, "get_rank", lambda: 1)
    assert collect_results(parts[1], size=7) is None


def test_collect_dir_with_gpu_device_raises() -> None:
    with pytest.raises(ConfigError) as err:
        _mean_metric(BaseMetric, "toy")(collect_device="gpu", collect_dir="/tmp/x")
    assert str(err.value) == (
        "MeanScore.collect_dir: got '/tmp/x'; expected None unless collect_device='cpu'. "
        "Fix: delete collect_dir or set collect_device='cpu'."
    )


def test_evaluator_merges_metrics_like_mmengine() -> None:
    ours = Evaluator([_mean_metric(BaseMetric, "a")(), _mean_metric(BaseMetric, "b")()])
    theirs = MMEvaluator([_mean_metric(MMBaseMetric, "a")(), _mean_metric(MMBaseMetric, "b")()])
    for evaluator in (ours, theirs):
        evaluator.process([BaseDataElement(score=1.0), BaseDataElement(score=5.0)], data_batch=None)
    result = ours.evaluate(2)
    assert result == theirs.evaluate(2)
    assert list(result) == ["a/mean", "a/count", "b/mean", "b/count"]


def test_duplicate_metric_names_raise_mmengine_error() -> None:
    ours = Evaluator([_mean_metric(BaseMetric, "same")(), _mean_metric(BaseMetric, "same")()])
    theirs = MMEvaluator([_mean_metric(MMBaseMetric, "same")(), _mean_metric(MMBaseMetric, "same")()])
    for evaluator in (ours, theirs):
        evaluator.process(SAMPLES)
    with pytest.raises(ValueError) as expected:
        theirs.evaluate(4)
    with pytest.raises(ValueError) as err:
        ours.evaluate(4)
    assert str(err.value) == str(expected.value)


def test_dataset_meta_reaches_every_metric() -> None:
    evaluator = Evaluator([_mean_metric(BaseMetric, "a")(), _mean_metric(BaseMetric, "b")()])
    evaluator.dataset_meta = {"classes": ("cat", "dog")}
    assert [metric.dataset_meta for metric in evaluator.metrics] == [{"classes": ("cat", "dog")}] * 2


def test_metric_dicts_are_built_from_metrics_registry() -> None:
    cls = _mean_metric(BaseMetric, "reg")
    METRICS.register_module(name="MeanScoreForTest", module=cls, force=True)
    try:
        evaluator = build_evaluator(dict(type="MeanScoreForTest", prefix="p"))
        custom = build_evaluator(dict(type="Evaluator", metrics=[dict(type="MeanScoreForTest")]))
    finally:
        METRICS.module_dict.pop("MeanScoreForTest")
    assert [(type(m), m.prefix) for m in evaluator.metrics] == [(cls, "p")]
    assert [(type(m), m.prefix) for m in custom.metrics] == [(cls, "reg")]


def test_evaluator_object_is_returned_unchanged() -> None:
    evaluator = Evaluator([])
    assert build_evaluator(evaluator) is evaluator


def test_offline_evaluate_processes_chunks() -> None:
    evaluator = Evaluator(_mean_metric(BaseMetric, "off")())
    assert evaluator.offline_evaluate(SAMPLES, chunk_size=3) == {"off/mean": 4.0, "off/count": 4}


@pytest.mark.parametrize(
    ("cfg", "path", "message"),
    [
        (dict(type="DumpResult", out_file_path="x.pkl"), "val_evaluator",
         "val_evaluator.type: got 'DumpResult'; expected a registered metric ({registered}) or a "
         "torchmetrics class path such as 'torchmetrics.classification.MulticlassAccuracy'. "
         "Fix: did you mean 'DumpResults'?"),
        ([dict(type="DumpResults", out_file_path="x.pkl"), dict(prefix="p")], "test_evaluator",
         "test_evaluator[1].type: got None; expected a registered metric name or a torchmetrics class path. "
         "Fix: add type='MetricName'."),
        (dict(metrics=[3]), "val_evaluator",
         "val_evaluator.metrics[0]: got 3; expected a metric config dict, a BaseMetric or a torchmetrics Metric. "
         "Fix: write dict(type='MetricName', ...)."),
        (dict(type="DumpResults", out_file_path="x.txt"), "val_evaluator",
         "val_evaluator.out_file_path: got 'x.txt'; expected a path ending in .pkl or .pickle. "
         "Fix: rename the file to end in .pkl."),
    ],
    ids=["close_name", "missing_type_in_list", "not_a_metric", "constructor_error"],
)
def test_bad_metric_configs_are_located(cfg: Any, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_evaluator(cfg, path=path)
    assert str(err.value) == message.replace("{registered}", _registered())
