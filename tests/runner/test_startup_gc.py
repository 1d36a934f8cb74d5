"""The cyclic collector is off while a run starts, on from the first iteration, and the caller's again after."""

from __future__ import annotations

import gc

import pytest
import torch
from torch.utils.data import DataLoader

from backends import backend  # noqa: F401  (fixture: each test runs on both backends)
from trace_utils import regression_data

from mmhooks.runner.startup_gc import collection_paused, training_starts

NO_DEFAULTS = dict(logger=None, checkpoint=None, timer=None, runtime_info=None, sampler_seed=None,
                   param_scheduler=None)


@pytest.fixture(autouse=True)
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_the_block_and_restored_after_it_and_after_an_error():
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():  # nested: the outer block owns the pause
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collection_paused():
        raise ValueError("a failing start-up")
    assert gc.isenabled()


def test_training_starts_turns_it_on_and_freezes_only_in_a_train_block():
    with collection_paused():  # a constructor: nothing is frozen
        training_starts()
        assert gc.isenabled() and gc.get_freeze_count() == 0
    with collection_paused(until_training=True):
        assert not gc.isenabled()
        training_starts()
        assert gc.isenabled() and gc.get_freeze_count() > 0  # start-up's objects stay out of the walks
        training_starts()  # twice is harmless
    assert gc.isenabled() and gc.get_freeze_count() == 0  # collectable again once the block ends


def test_a_users_disabled_collector_and_frozen_objects_are_left_alone():
    gc.disable()
    with collection_paused(until_training=True):
        training_starts()  # not ours to turn on
        assert not gc.isenabled()
    assert not gc.isenabled()
    gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collection_paused(until_training=True):
            training_starts()
        assert gc.isenabled() and gc.get_freeze_count() == frozen  # the user's freeze is not undone
    finally:
        gc.unfreeze()


def test_a_frozen_cycle_is_collected_after_the_block():
    import weakref

    class Node:
        pass

    with collection_paused(until_training=True):
        node = Node()
        node.self = node  # a cycle only the collector frees
        ref = weakref.ref(node)
        training_starts()
        del node
        gc.collect()
        assert ref() is not None  # frozen while training
    gc.collect()
    assert ref() is None


def _runner(tmp_path, backend, states, **extra):
    from mmhooks.hooks import Hook
    from mmhooks.model import BaseModel
    from mmhooks.runner import Runner

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 2)
            states.append(("model built", gc.isenabled()))

        def forward(self, inputs, targets=None, mode="tensor"):
            out = self.layer(inputs)
            return {"loss": ((out - targets) ** 2).mean()} if mode == "loss" else out

    class Probe(Hook):
        def before_run(self, runner):
            states.append(("before_run", gc.isenabled()))

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            states.append(("before_train_iter", gc.isenabled()))
            states.append(("frozen", gc.get_freeze_count() > 0))

    return Runner(model=Model(), work_dir=str(tmp_path), train_dataloader=DataLoader(regression_data(8), batch_size=4),
                  train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
                  default_hooks=NO_DEFAULTS, custom_hooks=[Probe()], log_level="WARNING", backend=backend,
                  trainer=dict(enable_progress_bar=False), **extra)


def test_a_run_starts_paused_trains_collecting_and_gives_the_collector_back(tmp_path, backend):  # noqa: F811
    states = []
    runner = _runner(tmp_path, backend, states)
    assert gc.isenabled()  # after the constructor
    runner.train()
    assert gc.isenabled()
    assert ("before_run", False) in states  # start-up work runs paused
    iterations = [enabled for name, enabled in states if name == "before_train_iter"]
    assert iterations == [True, True]  # training collects garbage as usual
    assert ("frozen", True) in states and gc.get_freeze_count() == 0  # start-up's objects: frozen, then not


def test_a_run_that_fails_to_start_gives_the_collector_back(tmp_path, backend):  # noqa: F811
    states = []

    class Broken(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            raise RuntimeError("broken dataset")

    runner = _runner(tmp_path, backend, states)
    runner.context.objects.train_dataloader = DataLoader(Broken(), batch_size=2)
    with pytest.raises(RuntimeError, match="broken dataset"):
        runner.train()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_collector_the_user_disabled_stays_disabled_through_a_run(tmp_path, backend):  # noqa: F811
    states = []
    gc.disable()
    runner = _runner(tmp_path, backend, states)
    runner.train()
    assert not gc.isenabled()
    assert {enabled for name, enabled in states if name != "frozen"} == {False}
    assert gc.get_freeze_count() == 0


def test_a_backend_that_does_not_say_when_training_starts_trains_collecting(tmp_path):
    """A third-party backend (``Runner(backend=SomeClass)``) never calls training_starts(): it must not train paused."""
    seen = []

    class OwnBackend:
        name = "own"

        def __init__(self, runner):
            self.runner = runner

        def train(self):
            seen.append((gc.isenabled(), gc.get_freeze_count() > 0))
            return self.runner.model

    runner = _runner(tmp_path, OwnBackend, [])
    runner.train()
    assert seen == [(True, True)]  # collecting; what start-up built is kept out of the walks until train() returns
    assert gc.isenabled() and gc.get_freeze_count() == 0
