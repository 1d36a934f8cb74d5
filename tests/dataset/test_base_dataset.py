"""mmhooks.dataset.BaseDataset and the dataset wrappers against MMEngine's on the same annotation file."""

from __future__ import annotations

import json

import pytest

mm_dataset = pytest.importorskip("mmengine.dataset")

from mmhooks import dataset  # noqa: E402
from mmhooks.registry import DATASETS, TRANSFORMS  # noqa: E402


def _annotations(tmp_path):
    path = tmp_path / "ann.json"
    data_list = [{"img_path": f"{i}.jpg", "height": 10 + i, "cat_ids": [i % 3, 0] if i % 4 else [2]}
                 for i in range(7)]
    path.write_text(json.dumps({"metainfo": {"classes": ["a", "b", "c"], "task": "det"}, "data_list": data_list}))
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    return path


def _classes(ns):
    class Toy(ns.BaseDataset):
        METAINFO = {"dataset": "toy"}

        def get_cat_ids(self, idx):
            return self.get_data_info(idx)["cat_ids"]

    class Odd(Toy):
        def filter_data(self):
            return [info for info in self.data_list if info["height"] % 2]

    return Toy, Odd


def _samples(ds):
    return [ds[i] for i in range(len(ds))]


@pytest.mark.parametrize("serialize_data", [True, False])
@pytest.mark.parametrize("indices", [None, 3, -2, [2, 0]])
def test_loading_filtering_and_subsets_match(tmp_path, serialize_data, indices):
    ann = _annotations(tmp_path)
    results = []
    for ns in (dataset, mm_dataset):
        Toy, Odd = _classes(ns)
        kwargs = dict(ann_file=ann.name, data_root=str(tmp_path), data_prefix={"img_path": "imgs"},
                      serialize_data=serialize_data, indices=indices,
                      metainfo={"classes": str(tmp_path / "classes.txt"), "note": "not/a/file"},
                      pipeline=[lambda info: {**info, "piped": True}])
        toy, odd = Toy(**kwargs), Odd(**kwargs)
        results.append((toy.metainfo, _samples(toy), _samples(odd), toy.get_data_info(-1) if len(toy) else None,
                        _samples(toy.get_subset([1, 0])) if len(toy) > 1 else None, toy.ann_file, toy.data_prefix))
    assert results[0] == results[1]


def test_an_empty_subset_is_an_empty_dataset(tmp_path):
    """MMEngine 0.10.7 cannot serialise an empty data list (numpy concatenates nothing); mmhooks can."""
    Toy, _ = _classes(dataset)
    for serialize_data in (True, False):
        empty = Toy(ann_file=str(_annotations(tmp_path)), data_prefix={}, indices=0, serialize_data=serialize_data)
        assert len(empty) == 0


def test_lazy_init_refetch_and_errors_match(tmp_path):
    ann = _annotations(tmp_path)
    for ns in (dataset, mm_dataset):
        Toy, _ = _classes(ns)
        lazy = Toy(ann_file=str(ann), data_prefix={}, lazy_init=True)
        assert not lazy._fully_initialized
        assert len(lazy) == 7 and lazy._fully_initialized  # force_full_init
        dropping = Toy(ann_file=str(ann), data_prefix={}, pipeline=[lambda info: info if info["height"] > 12 else None])
        assert dropping[0]["height"] > 12  # a dropped sample is replaced by a random other
        testing = Toy(ann_file=str(ann), data_prefix={}, test_mode=True, pipeline=[lambda info: None])
        with pytest.raises(Exception, match="should not get `None`"):
            testing[0]
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"data_list": []}))
        with pytest.raises(ValueError):
            Toy(ann_file=str(bad))
        with pytest.raises(TypeError):
            Toy(ann_file=str(ann), data_prefix={"img_path": 3})
        with pytest.raises(AssertionError):
            Toy(ann_file=str(ann), data_prefix={"missing_key": ""})
        with pytest.raises(TypeError):
            Toy(ann_file=str(ann), metainfo=["not", "a", "mapping"])


def test_wrappers_match(tmp_path):
    ann = _annotations(tmp_path)
    results = []
    for ns in (dataset, mm_dataset):
        Toy, Odd = _classes(ns)
        toy, odd = Toy(ann_file=str(ann), data_prefix={}), Odd(ann_file=str(ann), data_prefix={})
        concat = ns.ConcatDataset([toy, odd])
        repeat = ns.RepeatDataset(toy, times=3)
        balanced = ns.ClassBalancedDataset(toy, oversample_thr=0.5)
        results.append((len(concat), concat[-1], concat.get_data_info(8), concat.metainfo, len(repeat), repeat[9],
                        len(balanced), balanced.repeat_indices, balanced.get_cat_ids(3)))
        for wrapper in (concat, repeat, balanced):
            with pytest.raises(NotImplementedError):
                wrapper.get_subset(1)
        with pytest.raises(ValueError):
            concat[-100]
        other = Toy(ann_file=str(ann), data_prefix={}, metainfo={"dataset": "other"})
        with pytest.raises(ValueError):
            ns.ConcatDataset([toy, other])
        assert len(ns.ConcatDataset([toy, other], ignore_keys="dataset")) == 14
        with pytest.raises(TypeError):
            ns.RepeatDataset([1], times=2)
    assert results[0] == results[1]


def test_wrappers_and_compose_build_from_configs(tmp_path):
    ann = _annotations(tmp_path)
    Toy, _ = _classes(dataset)
    DATASETS.register_module(name="MMTestsToyDataset", module=Toy, force=True)

    @TRANSFORMS.register_module(name="MMTestsMark", force=True)
    class Mark:
        def __call__(self, info):
            return {**info, "marked": True}

    repeated = DATASETS.build(dict(type="RepeatDataset", times=2,
                                   dataset=dict(type="MMTestsToyDataset", ann_file=str(ann), data_prefix={},
                                                pipeline=[dict(type="MMTestsMark")])))
    assert len(repeated) == 14 and repeated[8]["marked"]
    assert repr(dataset.Compose([Mark()])).startswith("Compose(\n")
    assert dataset.COLLATE_FUNCTIONS.get("pseudo_collate") is dataset.pseudo_collate
    with pytest.raises(TypeError):
        dataset.Compose([3])


def test_metainfo_may_be_a_config(tmp_path):
    from mmengine.config import Config as MMConfig

    from mmhooks.config import Config

    ann = _annotations(tmp_path)
    Toy, _ = _classes(dataset)
    MMToy, _ = _classes(mm_dataset)
    for config_cls in (Config, MMConfig):
        mine = Toy(ann_file=str(ann), data_prefix={}, metainfo=config_cls(dict(classes=("x", "y"))))
        theirs = MMToy(ann_file=str(ann), data_prefix={}, metainfo=MMConfig(dict(classes=("x", "y"))))
        assert mine.metainfo == theirs.metainfo
