"""``LabelData``: classification labels, with one-hot conversions."""

from __future__ import annotations

import torch

from mmhooks.structures.base_data_element import BaseDataElement

__all__ = ["LabelData"]


class LabelData(BaseDataElement):
    """Label fields (a ``BaseDataElement``) and :meth:`onehot_to_label` / :meth:`label_to_onehot`.

    Example:
        >>> LabelData.label_to_onehot(torch.tensor([1, 3]), num_classes=5)
        tensor([0, 1, 0, 1, 0])
        >>> LabelData.onehot_to_label(torch.tensor([0, 1, 0, 1, 0]))
        tensor([1, 3])
    """

    @staticmethod
    def onehot_to_label(onehot: torch.Tensor) -> torch.Tensor:
        """The positions of the ones of a 1-d 0/1 tensor.

        Raises:
            ValueError: ``onehot`` is not a 1-d tensor of zeros and ones.
        """
        if not isinstance(onehot, torch.Tensor):
            raise AssertionError(f"onehot should be a tensor, got {type(onehot).__name__}")
        if onehot.ndim == 1 and onehot.max().item() <= 1 and onehot.min().item() >= 0:
            return onehot.nonzero().squeeze(-1)
        raise ValueError("input is not one-hot and can not convert to label")

    @staticmethod
    def label_to_onehot(label: torch.Tensor, num_classes: int) -> torch.Tensor:
        """A ``num_classes`` tensor (``label``'s dtype) with ones at ``label``'s positions.

        Raises:
            AssertionError: a label is ``num_classes`` or more.
        """
        if not isinstance(label, torch.Tensor):
            raise AssertionError(f"label should be a tensor, got {type(label).__name__}")
        if label.numel() and int(label.max().item()) >= num_classes:
            raise AssertionError(f"label {int(label.max().item())} is out of range for {num_classes} classes")
        onehot = label.new_zeros((num_classes,))
        onehot[label] = 1
        return onehot
