"""Optimizer wrappers (MMEngine's ``mmengine.optim.optimizer``) and the ``optim_wrapper`` builder."""

from __future__ import annotations

from mmhooks.optim.optimizer.amp_optimizer_wrapper import AmpOptimWrapper
from mmhooks.optim.optimizer.builder import (
    TORCH_OPTIMIZERS,
    auto_scale_lr,
    build_optim_wrapper,
    register_torch_optimizers,
)
from mmhooks.optim.optimizer.checks import check_optim_wrapper_cfg, check_optimizer_cfg
from mmhooks.optim.optimizer.default_constructor import DefaultOptimWrapperConstructor
from mmhooks.optim.optimizer.optimizer_wrapper import OptimWrapper
from mmhooks.optim.optimizer.optimizer_wrapper_dict import OptimWrapperDict

__all__ = [
    "AmpOptimWrapper",
    "DefaultOptimWrapperConstructor",
    "OptimWrapper",
    "OptimWrapperDict",
    "TORCH_OPTIMIZERS",
    "auto_scale_lr",
    "build_optim_wrapper",
    "check_optim_wrapper_cfg",
    "check_optimizer_cfg",
    "register_torch_optimizers",
]
