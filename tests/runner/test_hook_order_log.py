"""The "Hooks will be executed in the following order" table of the log, as MMEngine writes it.

Users diff the start of their logs between runs; a hook listed under a stage
where it does nothing (mmhooks' ``ParamSchedulerHook`` builds schedulers in
``before_train`` only when it is given its own ``param_scheduler``) reads as a
change of behaviour.
"""

from __future__ import annotations

import uuid

import pytest
from torch import nn

mmengine = pytest.importorskip("mmengine")

from mmengine.model import BaseModel as MMModel  # noqa: E402  (after the importorskip)
from mmengine.runner import Runner as MMRunner  # noqa: E402

from mmhooks.hooks import ParamSchedulerHook  # noqa: E402
from mmhooks.model import BaseModel  # noqa: E402
from mmhooks.runner import Runner  # noqa: E402

# mmpretrain's default_runtime.py (its VisualizationHook is mmpretrain's, left out)
DEFAULT_HOOKS = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=100),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1),
    sampler_seed=dict(type="DistSamplerSeedHook"),
)
CUSTOM_HOOKS = [dict(type="SyncBuffersHook"), dict(type="EmptyCacheHook", after_iter=True)]


def model(base):
    class Net(base):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(2, 1)

        def forward(self, inputs, data_samples=None, mode="tensor"):
            return self.layer(inputs)

    return Net()


def test_the_hook_order_table_of_mmpretrains_default_hooks_is_mmengines(tmp_path):
    theirs = MMRunner(model=model(MMModel), work_dir=str(tmp_path / "mm"), default_hooks=dict(DEFAULT_HOOKS),
                      custom_hooks=list(CUSTOM_HOOKS), experiment_name=f"order_{uuid.uuid4().hex}",
                      log_level="WARNING")
    ours = Runner(model=model(BaseModel), work_dir=str(tmp_path / "ours"), default_hooks=dict(DEFAULT_HOOKS),
                  custom_hooks=list(CUSTOM_HOOKS), experiment_name=f"order_{uuid.uuid4().hex}",
                  log_level="WARNING")
    assert "ParamSchedulerHook" in theirs.get_hooks_info()
    assert ours.hook_list.info() == theirs.get_hooks_info()


def test_a_param_scheduler_hook_with_its_own_schedule_is_listed_where_it_builds_and_restores_it():
    stages = ParamSchedulerHook(param_scheduler=[dict(type="StepLR", step_size=1)]).get_triggered_stages()
    assert {"before_train", "after_load_checkpoint"} <= set(stages)
    assert "before_train" not in ParamSchedulerHook().get_triggered_stages()
