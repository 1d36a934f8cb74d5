"""``BaseTTAModel``: test a model on several augmented views of each batch and merge its predictions.

A TTA pipeline (``TestTimeAug``) turns each sample into several views, and
``pseudo_collate`` gives a batch whose every field is a list over the views::

    dict(inputs=[[img1_view1, img2_view1], [img1_view2, img2_view2]],
         data_samples=[[s1_view1, s2_view1], [s1_view2, s2_view2]])

:meth:`BaseTTAModel.test_step` splits that into one ordinary batch per view,
runs the wrapped model's ``test_step`` on each, and hands the predictions,
grouped per sample, to :meth:`~BaseTTAModel.merge_preds`, which subclasses
implement. :class:`~mmhooks.hooks.PrepareTTAHook` puts the TTA model around
``runner.model`` before testing.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from mmhooks.errors import ConfigError
from mmhooks.model.base_model import BaseModel
from mmhooks.registry import MODELS

__all__ = ["BaseTTAModel"]


class _ModuleTypeError(ConfigError, TypeError):
    """``module`` is neither a model nor a config; also a ``TypeError``, as in MMEngine."""


@MODELS.register_module()
class BaseTTAModel(BaseModel):
    """Wraps a model for inference on test-time-augmented batches; subclasses merge the views' predictions.

    Args:
        module: The model to test (anything with ``test_step``), or its config,
            built through ``MODELS``.
        data_preprocessor: With a config ``module``, set as its ``data_preprocessor``
            (replacing the config's own).

    Raises:
        ConfigError: ``module`` is neither an ``nn.Module`` nor a dict (also a
            ``TypeError``), or has no ``test_step``.

    Example:
        >>> class MeanTTA(BaseTTAModel):
        ...     def merge_preds(self, data_samples_list):
        ...         return [sum(views) / len(views) for views in data_samples_list]
        >>> class Double(torch.nn.Module):
        ...     def test_step(self, data):
        ...         return [2 * x for x in data["inputs"]]
        >>> MeanTTA(Double()).test_step(dict(inputs=[[1.0, 10.0], [3.0, 30.0]]))
        [4.0, 40.0]
    """

    def __init__(self, module: dict[str, Any] | nn.Module,
                 data_preprocessor: dict[str, Any] | nn.Module | None = None) -> None:
        super().__init__()
        if isinstance(module, nn.Module):
            self.module = module
        elif isinstance(module, Mapping):
            cfg = dict(module)
            if data_preprocessor is not None:
                cfg["data_preprocessor"] = data_preprocessor
            self.module = MODELS.build(cfg, path="module")
        else:
            raise _ModuleTypeError("module", module, "an nn.Module or a model config dict",
                                   "pass the model to test, or its config with a 'type'.", type(self).__name__)
        if not hasattr(self.module, "test_step"):
            raise ConfigError("module", type(self.module).__name__, "a model with a test_step method",
                              "wrap a BaseModel (or a module that defines test_step).", type(self).__name__)

    @abstractmethod
    def merge_preds(self, data_samples_list: list[Sequence[Any]]) -> list[Any]:
        """One prediction per sample from ``data_samples_list[i]``, the predictions of sample ``i``'s views."""

    def test_step(self, data: dict[str, Any] | tuple[Any, ...] | list[Any]) -> list[Any]:
        """Run the wrapped model on each view of ``data`` and merge the predictions per sample.

        Raises:
            TypeError: ``data`` is not a dict, tuple or list.
        """
        views: list[Any]
        if isinstance(data, dict):
            count = len(next(iter(data.values())))
            views = [{key: value[index] for key, value in data.items()} for index in range(count)]
        elif isinstance(data, (tuple, list)):
            count = len(data[0])
            views = [[field[index] for field in data] for index in range(count)]
        else:
            raise TypeError(
                f"{type(self).__name__}.test_step: got a {type(data).__name__} batch; expected a dict, tuple or "
                "list whose fields are lists over the augmented views. Fix: collate the TTA pipeline's output "
                "with pseudo_collate."
            )
        model: Any = self.module  # anything with test_step (checked in __init__)
        predictions = [model.test_step(view) for view in views]
        return self.merge_preds(list(zip(*predictions)))

    def forward(self, inputs: torch.Tensor, data_samples: list[Any] | None = None, mode: str = "tensor") -> Any:
        """Not used: testing goes through :meth:`test_step`."""
        raise NotImplementedError(
            f"{type(self).__name__}.forward: a TTA model is run through test_step, which calls the wrapped "
            "model per view. Fix: call test_step, or implement forward in your subclass."
        )
