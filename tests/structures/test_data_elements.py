"""mmhooks.structures against mmengine.structures: the same operations give the same fields and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

mm_structures = pytest.importorskip("mmengine.structures")

from mmhooks import structures  # noqa: E402

BOTH = pytest.mark.parametrize("ns", [structures, mm_structures], ids=["mmhooks", "mmengine"])


def _fields(element):
    """Comparable view of an element: class name, sorted meta and data items (tensors as lists)."""
    def plain(value):
        if isinstance(value, (torch.Tensor, np.ndarray)):
            return (type(value).__name__, str(value.dtype), value.tolist())
        if isinstance(value, (structures.BaseDataElement, mm_structures.BaseDataElement)):
            return _fields(value)
        return value
    return (type(element).__name__, sorted((k, plain(v)) for k, v in element.metainfo_items()),
            sorted((k, plain(v)) for k, v in element.items()))


def _sample(ns):
    gt = ns.LabelData(metainfo={"num_classes": 3}, label=torch.tensor([1]))
    return ns.BaseDataElement(metainfo={"img_shape": (4, 5), "id": 7}, score=torch.tensor([0.5, 0.25]),
                              boxes=np.zeros((2, 4), dtype=np.float32), gt=gt, name="x")


def test_base_data_element_operations_match():
    mine, theirs = _sample(structures), _sample(mm_structures)
    assert _fields(mine) == _fields(theirs)
    for op in ("clone", "cpu", "detach", "numpy", "to_tensor"):
        assert _fields(getattr(mine, op)()) == _fields(getattr(theirs, op)()), op
    assert _fields(mine.to("cpu", torch.float64)) == _fields(theirs.to("cpu", torch.float64))
    assert _fields(mine.new(metainfo={"a": 1}, extra=torch.ones(1))) == \
        _fields(theirs.new(metainfo={"a": 1}, extra=torch.ones(1)))
    assert sorted(mine.all_keys()) == sorted(theirs.all_keys())
    assert mine.get("missing", 3) == theirs.get("missing", 3) == 3
    assert ("score" in mine, "id" in mine, "nope" in mine) == ("score" in theirs, "id" in theirs, "nope" in theirs)
    assert sorted(mine.to_dict()) == sorted(theirs.to_dict())
    assert mine.pop("name") == theirs.pop("name") == "x"
    assert mine.pop("name", None) is None and theirs.pop("name", None) is None
    del mine.boxes, theirs.boxes
    assert _fields(mine) == _fields(theirs)
    repr_mine, repr_theirs = repr(mine), repr(theirs)
    assert repr_mine.split(" at 0x")[0].replace("mmhooks", "") == repr_theirs.split(" at 0x")[0].replace("mmengine", "")


@BOTH
def test_data_and_meta_fields_are_exclusive(ns):
    element = ns.BaseDataElement(metainfo={"img_shape": (1, 1)})
    with pytest.raises(AttributeError):
        element.img_shape = (2, 2)  # a meta field cannot become data
    element.pred = 1
    with pytest.raises(AttributeError):
        element.set_metainfo({"pred": 2})
    with pytest.raises(AttributeError):
        element._data_fields = set()
    with pytest.raises(KeyError):
        element.pop("absent")
    with pytest.raises(AssertionError):
        element.set_field(1, "x", dtype=str)


def _instances(ns):
    instances = ns.InstanceData(metainfo={"img_shape": (8, 8)})
    instances.bboxes = torch.arange(12.0).reshape(3, 4)
    instances.scores = np.array([0.9, 0.2, 0.7])
    instances.labels = [3, 1, 2]
    instances.names = "abc"
    return instances


@pytest.mark.parametrize("index", [1, -1, slice(0, 2), [2, 0], np.array([2, 0], dtype=np.int32),
                                   torch.tensor([True, False, True]), torch.tensor([1]), torch.tensor([], dtype=torch.long)],
                         ids=["int", "negative", "slice", "list", "int32-array", "mask", "long", "empty"])
def test_instance_data_indexing_matches(index):
    assert _fields(_instances(structures)[index]) == _fields(_instances(mm_structures)[index])


def test_instance_data_cat_len_and_errors_match():
    for ns in (structures, mm_structures):
        joined = ns.InstanceData.cat([_instances(ns), _instances(ns)[0]])
        assert len(joined) == 4
        with pytest.raises(AssertionError):
            _instances(ns).scores = np.zeros(2)  # another length
        with pytest.raises(AssertionError):
            _instances(ns).value = 1  # no len()
        with pytest.raises(IndexError):
            _instances(ns)[3]
    assert _fields(structures.InstanceData.cat([_instances(structures), _instances(structures)[0]])) == \
        _fields(mm_structures.InstanceData.cat([_instances(mm_structures), _instances(mm_structures)[0]]))
    assert _instances(structures)["labels"] == _instances(mm_structures)["labels"]


def test_pixel_and_label_data_match():
    for ns in (structures, mm_structures):
        with pytest.warns(UserWarning):
            pixels = ns.PixelData(metainfo={"scale": 2}, mask=torch.ones(4, 6))
        pixels.heat = np.zeros((2, 4, 6))
        with pytest.raises(AssertionError):
            pixels.other = torch.ones(1, 3, 3)
        with pytest.raises(TypeError):
            pixels[0]
    mine = structures.PixelData(mask=torch.arange(24.0).reshape(1, 4, 6))
    theirs = mm_structures.PixelData(mask=torch.arange(24.0).reshape(1, 4, 6))
    for index in [(1, slice(2, 5)), (slice(None), 0), (slice(1, 3), slice(0, 6, 2))]:
        assert _fields(mine[index]) == _fields(theirs[index]) and mine[index].shape == theirs[index].shape
    label = torch.tensor([0, 2])
    assert torch.equal(structures.LabelData.label_to_onehot(label, 4), mm_structures.LabelData.label_to_onehot(label, 4))
    onehot = torch.tensor([0, 1, 1, 0])
    assert torch.equal(structures.LabelData.onehot_to_label(onehot), mm_structures.LabelData.onehot_to_label(onehot))
    with pytest.raises(ValueError):
        structures.LabelData.onehot_to_label(torch.tensor([2, 0]))


def _det_sample_class(ns):
    class DetSample(ns.BaseDataElement):
        @property
        def gt_instances(self):
            return self._gt_instances

        @gt_instances.setter
        def gt_instances(self, value):
            self.set_field(value, "_gt_instances", dtype=ns.InstanceData)

        @gt_instances.deleter
        def gt_instances(self):
            del self._gt_instances

    return DetSample


@BOTH
def test_a_subclass_with_property_fields_works_like_a_downstream_data_sample(ns):
    sample = _det_sample_class(ns)(metainfo={"img_id": 1})
    sample.gt_instances = _instances(ns)
    assert sample.keys() == ["gt_instances"]  # the storage behind the property is not listed
    with pytest.raises(AssertionError):
        sample.gt_instances = torch.ones(1)
    assert len(sample.cpu().gt_instances) == 3
    del sample.gt_instances
    assert "_gt_instances" not in sample


@BOTH
def test_instance_data_rejects_float_index_tensors(ns):
    with pytest.raises(AssertionError):
        _instances(ns)[torch.Tensor([0, 1])]
