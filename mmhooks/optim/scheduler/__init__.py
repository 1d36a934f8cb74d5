"""MMEngine's parameter schedulers (``lr`` and ``momentum``), their config builder and a dry-run plotter.

Every class registers in :data:`mmhooks.registry.PARAM_SCHEDULERS` under its
MMEngine name, with MMEngine's constructor arguments.
"""

from __future__ import annotations

from mmhooks.optim.scheduler.builder import build_param_schedulers
from mmhooks.optim.scheduler.checks import check_param_scheduler_cfg, check_param_scheduler_cfgs
from mmhooks.optim.scheduler.constant import ConstantLR, ConstantMomentum, ConstantParamScheduler
from mmhooks.optim.scheduler.cosine_annealing import (
    CosineAnnealingLR,
    CosineAnnealingMomentum,
    CosineAnnealingParamScheduler,
)
from mmhooks.optim.scheduler.cosine_restart import CosineRestartLR, CosineRestartMomentum, CosineRestartParamScheduler
from mmhooks.optim.scheduler.exponential import ExponentialLR, ExponentialMomentum, ExponentialParamScheduler
from mmhooks.optim.scheduler.linear import LinearLR, LinearMomentum, LinearParamScheduler
from mmhooks.optim.scheduler.multi_step import MultiStepLR, MultiStepMomentum, MultiStepParamScheduler
from mmhooks.optim.scheduler.one_cycle import OneCycleLR, OneCycleParamScheduler
from mmhooks.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmhooks.optim.scheduler.plot import plot_schedule, simulate_schedule
from mmhooks.optim.scheduler.poly import PolyLR, PolyMomentum, PolyParamScheduler
from mmhooks.optim.scheduler.reduce_on_plateau import (
    MissingMetricError,
    ReduceOnPlateauLR,
    ReduceOnPlateauMomentum,
    ReduceOnPlateauParamScheduler,
)
from mmhooks.optim.scheduler.step import StepLR, StepMomentum, StepParamScheduler

__all__ = [
    "ConstantLR",
    "ConstantMomentum",
    "ConstantParamScheduler",
    "CosineAnnealingLR",
    "CosineAnnealingMomentum",
    "CosineAnnealingParamScheduler",
    "CosineRestartLR",
    "CosineRestartMomentum",
    "CosineRestartParamScheduler",
    "ExponentialLR",
    "ExponentialMomentum",
    "ExponentialParamScheduler",
    "INF",
    "LinearLR",
    "LinearMomentum",
    "LinearParamScheduler",
    "MissingMetricError",
    "MultiStepLR",
    "MultiStepMomentum",
    "MultiStepParamScheduler",
    "OneCycleLR",
    "OneCycleParamScheduler",
    "PolyLR",
    "PolyMomentum",
    "PolyParamScheduler",
    "ReduceOnPlateauLR",
    "ReduceOnPlateauMomentum",
    "ReduceOnPlateauParamScheduler",
    "StepLR",
    "StepMomentum",
    "StepParamScheduler",
    "_ParamScheduler",
    "build_param_schedulers",
    "check_param_scheduler_cfg",
    "check_param_scheduler_cfgs",
    "plot_schedule",
    "simulate_schedule",
]
