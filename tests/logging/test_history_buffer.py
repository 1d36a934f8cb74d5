"""HistoryBuffer statistics, dtypes, trimming and pickling against MMEngine's HistoryBuffer."""

from __future__ import annotations

import copy
import io
import pickle

import numpy as np
import pytest
import torch

mmengine = pytest.importorskip("mmengine")
from mmengine.logging import HistoryBuffer as MMHistoryBuffer  # noqa: E402

from mmhooks.logging import HistoryBuffer  # noqa: E402

SEQUENCES = {
    "floats": [0.5, 1.25, 3.0, -2.0, 7.5, 0.125, 9.0, 4.0, 2.5, 1.0, 6.0, 3.5, 8.0],
    "ints": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5],
    "ints-then-float": [1, 2, 3, 4.5, 5, 6],
    "bools-then-int": [True, False, 3],
    "long": [float(np.sin(i)) for i in range(100)],
}


def _fill(cls, values, max_length=1000000, counts=None):
    buffer = cls([values[0]], [1 if counts is None else counts[0]], max_length=max_length)
    for i, value in enumerate(values[1:], start=1):
        buffer.update(value, 1 if counts is None else counts[i])
    return buffer


@pytest.mark.parametrize("name", list(SEQUENCES), ids=list(SEQUENCES))
@pytest.mark.parametrize("max_length", [1000000, 4], ids=["unbounded", "max_length=4"])
def test_statistics_match_mmengine(name, max_length):
    values = SEQUENCES[name]
    counts = [i % 3 + 1 for i in range(len(values))]
    ours, theirs = _fill(HistoryBuffer, values, max_length, counts), _fill(MMHistoryBuffer, values, max_length, counts)
    np.testing.assert_array_equal(ours.data[0], theirs.data[0])
    np.testing.assert_array_equal(ours.data[1], theirs.data[1])
    assert ours.data[0].dtype == theirs.data[0].dtype
    for window in (None, 0, 1, 3, 10, 1000):
        for method in ("mean", "max", "min"):
            got, want = getattr(ours, method)(window), getattr(theirs, method)(window)
            assert got == want and type(got) is type(want), (method, window)
    assert ours.current() == theirs.current() and type(ours.current()) is type(theirs.current())


def test_empty_buffer_starts_float_and_current_raises():
    buffer = HistoryBuffer()
    buffer.update(2)
    assert buffer.data[0].dtype == MMHistoryBuffer([], []).data[0].dtype == np.float64
    with pytest.raises(ValueError, match="the buffer is empty"):
        HistoryBuffer().current()


def test_update_rejects_non_numbers():
    with pytest.raises(TypeError, match=r"^HistoryBuffer.update: got log_val=tensor\(1.\)"):
        HistoryBuffer().update(torch.tensor(1.0))


def test_long_history_keeps_only_the_latest_max_length():
    buffer = HistoryBuffer(max_length=50)
    for i in range(1000):
        buffer.update(float(i))
    assert buffer.data[0].tolist() == [float(i) for i in range(950, 1000)]
    assert len(buffer._logs) <= 200  # storage stays bounded


def test_constructor_trims_with_a_warning():
    with pytest.warns(UserWarning, match="exceed max_length=2"):
        buffer = HistoryBuffer([1, 2, 3], [1, 1, 1], max_length=2)
    assert buffer.data[0].tolist() == [2, 3]


def test_register_statistics_and_call_by_name():
    def weighted_last_two_for_test(self, scale):
        return self.data[0][-2:].sum() * scale

    HistoryBuffer.register_statistics(weighted_last_two_for_test)
    try:
        assert HistoryBuffer([1.0, 2.0, 3.0], [1, 1, 1]).statistics("weighted_last_two_for_test", scale=2) == 10.0
        with pytest.raises(KeyError, match="already registered|expected a name not registered"):
            HistoryBuffer.register_statistics(weighted_last_two_for_test)
    finally:
        del HistoryBuffer._statistics_methods["weighted_last_two_for_test"]
    with pytest.raises(KeyError, match="'median'"):
        HistoryBuffer([1.0], [1]).statistics("median")


def test_deepcopy_is_independent_and_keeps_our_class():
    buffer = _fill(HistoryBuffer, [1.0, 2.0])
    copied = copy.deepcopy(buffer)
    buffer.update(10.0)
    assert type(copied) is HistoryBuffer
    assert copied.data[0].tolist() == [1.0, 2.0]


def test_pickle_in_mmengine_process_builds_mmengine_buffer():
    """Our pickles load as MMEngine's HistoryBuffer where MMEngine is imported, with the same values."""
    buffer = _fill(HistoryBuffer, [1, 2, 3.5], max_length=10)
    stream = io.BytesIO()
    torch.save({"b": buffer}, stream)
    stream.seek(0)
    loaded = torch.load(stream, weights_only=False)["b"]
    assert type(loaded) is MMHistoryBuffer
    np.testing.assert_array_equal(loaded.data[0], [1.0, 2.0, 3.5])
    assert loaded.max_length == 10
    assert HistoryBuffer.from_buffer(pickle.loads(pickle.dumps(buffer))).mean() == buffer.mean()


# ----------------------------------------------------------------------------- array-like (2-D) histories
ARRAY_LIKE = {
    "rows": ([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]], [1, 1, 2]),
    "int-rows": ([[1, 2], [3, 4]], [[1, 1], [1, 1]]),
    "one-long-row": ([[-1.0] + [1.0] * 7], [[-1] + [1] * 7]),  # MMEngine's own max_length test, scaled down
    "tensor-rows": (torch.tensor([[0.5, 1.5], [2.5, 3.5]]), torch.tensor([1, 3])),
}


def _same(ours, theirs):
    assert type(ours) is type(theirs), (ours, theirs)
    np.testing.assert_array_equal(ours, theirs)
    assert np.asarray(ours).dtype == np.asarray(theirs).dtype


@pytest.mark.parametrize("name", list(ARRAY_LIKE), ids=list(ARRAY_LIKE))
def test_array_like_history_matches_mmengine(name):
    logs, counts = ARRAY_LIKE[name]
    ours, theirs = HistoryBuffer(logs, counts, max_length=8), MMHistoryBuffer(logs, counts, max_length=8)
    for step in range(3):  # as built, then after updates (np.append flattens the history, as in MMEngine)
        for mine, reference in zip(ours.data, theirs.data):
            _same(mine, reference)
        assert len(ours) == len(theirs.data[0])
        for window in (None, 1, 2, 100):
            for method in ("mean", "max", "min"):
                _same(getattr(ours, method)(window), getattr(theirs, method)(window))
        _same(ours.current(), theirs.current())
        _same(ours.statistics("current"), theirs.statistics("current"))
        ours.update(9.0 + step, 2)
        theirs.update(9.0 + step, 2)


def test_array_like_history_copies_and_pickles():
    buffer = HistoryBuffer([[1.0, 2.0], [3.0, 4.0]], [1, 1])
    copied = copy.deepcopy(buffer)
    restored = pickle.loads(pickle.dumps(buffer))
    buffer.update(5.0)
    for other in (copied, HistoryBuffer.from_buffer(restored)):
        np.testing.assert_array_equal(other.data[0], [[1.0, 2.0], [3.0, 4.0]])
        np.testing.assert_array_equal(other.current(), [3.0, 4.0])
        assert other.mean() == 5.0
