"""Model helpers with ``mmengine.model``'s names: SyncBN conversion, ``merge_dict``, unused-parameter detection.

``stack_batch`` lives in :mod:`mmhooks.model.data_preprocessor` (the
preprocessors pad with it) and is re-exported from :mod:`mmhooks.model`.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import torch
from torch import nn

from mmhooks.logging.logger import print_log

__all__ = ["convert_sync_batchnorm", "detect_anomalous_params", "merge_dict", "revert_sync_batchnorm"]


def merge_dict(*args: dict[Any, Any]) -> dict[Any, Any]:
    """One dict with the items of every argument, later ones winning (a leaf for ``torch.fx`` tracing).

    Raises:
        AssertionError: an argument is not a dict (MMEngine's class).

    Example:
        >>> merge_dict({'a': 1, 'b': 2}, {'b': 3})
        {'a': 1, 'b': 3}
    """
    merged: dict[Any, Any] = {}
    for item in args:
        if not isinstance(item, dict):
            raise AssertionError(f"all arguments of merge_dict should be a dict, but got {type(item)}")
        merged.update(item)
    return merged


try:  # traced models keep merge_dict as one call instead of tracing through dict.update
    import torch.fx

    merge_dict = torch.fx.wrap(merge_dict)  # wrap returns the function, registered as a leaf
except ImportError:  # pragma: no cover - torch.fx ships with every supported torch
    pass


def detect_anomalous_params(loss: torch.Tensor, model: nn.Module) -> None:
    """Log (at ERROR, to the current logger) each trainable parameter of ``model`` that ``loss`` does not depend on.

    DDP without ``find_unused_parameters`` hangs on such parameters; this
    names them.
    """
    in_graph: set[Any] = set()
    seen: set[Any] = set()
    pending = [loss.grad_fn]
    while pending:
        node = pending.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)
        if variable is not None:
            in_graph.add(variable)
        pending.extend(parent for parent, _ in (node.next_functions or ()))
    for name, param in model.named_parameters():
        if param.requires_grad and param not in in_graph:
            print_log(f"{name} with shape {param.size()} is not in the computational graph \n", logger="current",
                      level=logging.ERROR)


class _BatchNormXd(nn.modules.batchnorm._BatchNorm):
    """A batch norm of any input rank (what a ``SyncBatchNorm`` reverts to)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        return


def _sync_batchnorm_classes() -> tuple[type, ...]:
    classes: list[type] = [nn.SyncBatchNorm]
    from mmhooks.utils.dl_utils import mmcv_full_available

    if mmcv_full_available():
        from mmcv.ops import SyncBatchNorm as MMCVSyncBatchNorm

        classes.append(MMCVSyncBatchNorm)
    return tuple(classes)


def _copy_norm_state(source: nn.Module, target: nn.Module) -> nn.Module:
    """``target`` sharing ``source``'s affine parameters, running statistics, mode and qconfig."""
    if getattr(source, "affine", False):
        with torch.no_grad():
            target.weight = source.weight
            target.bias = source.bias
    target.running_mean = source.running_mean
    target.running_var = source.running_var
    target.num_batches_tracked = source.num_batches_tracked
    if hasattr(source, "qconfig"):
        target.qconfig = source.qconfig
    return target


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``SyncBatchNorm`` (torch's or mmcv's) replaced by a plain batch norm.

    For running a model trained with SyncBN on a CPU or in a single process.
    A child that cannot be converted is kept (with a warning).
    """
    output = module
    if isinstance(module, _sync_batchnorm_classes()):
        norm: Any = module
        output = _copy_norm_state(module, _BatchNormXd(norm.num_features, norm.eps, norm.momentum, norm.affine,
                                                      norm.track_running_stats))
        output.training = module.training
    for name, child in module.named_children():
        try:
            output.add_module(name, revert_sync_batchnorm(child))
        except Exception:
            print_log(f"Failed to convert {child} from SyncBN to BN!", logger="current", level=logging.WARNING)
    return output


def convert_sync_batchnorm(module: nn.Module, implementation: str = "torch") -> nn.Module:
    """``module`` with every batch norm replaced by a ``SyncBatchNorm`` (``'torch'`` or ``'mmcv'``'s).

    Raises:
        ValueError: unknown ``implementation``.
    """
    output = module
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        sync_class: Any
        if implementation == "torch":
            sync_class = nn.SyncBatchNorm
        elif implementation == "mmcv":
            sync_class = importlib.import_module("mmcv.ops").SyncBatchNorm
        else:
            raise ValueError(f'sync_bn should be "torch" or "mmcv", but got {implementation}')
        output = _copy_norm_state(module, sync_class(module.num_features, module.eps, module.momentum,
                                                     module.affine, module.track_running_stats))
    for name, child in module.named_children():
        output.add_module(name, convert_sync_batchnorm(child, implementation))
    return output
