"""MMEngine's DDP wrappers: ``train_step``/``val_step``/``test_step`` through ``DistributedDataParallel``.

mmhooks' Runner lets the Lightning strategy wrap the model; these classes
are for code that wraps a model itself (``model_wrapper_cfg``, custom loops)
and for ``isinstance`` checks against MMEngine's names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mmhooks.model.utils import detect_anomalous_params
from mmhooks.registry import MODEL_WRAPPERS

__all__ = ["MMDistributedDataParallel", "MMSeparateDistributedDataParallel"]


@MODEL_WRAPPERS.register_module()
class MMDistributedDataParallel(DistributedDataParallel):
    """``DistributedDataParallel`` whose ``train_step`` preprocesses, runs the loss forward and updates.

    Args:
        module: The model (an MMEngine-style ``BaseModel``).
        detect_anomalous_params: Log parameters the loss does not reach (slow; for debugging DDP hangs).
        **kwargs: ``DistributedDataParallel``'s arguments.
    """

    def __init__(self, module: nn.Module, detect_anomalous_params: bool = False, **kwargs: Any) -> None:
        super().__init__(module=module, **kwargs)
        self.detect_anomalous_params = detect_anomalous_params

    def train_step(self, data: Any, optim_wrapper: Any) -> dict[str, Any]:
        """Forward in ``loss`` mode through DDP (so gradients are all-reduced), update; return the log variables."""
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode="loss")
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        if self.detect_anomalous_params:
            detect_anomalous_params(parsed_loss, model=self)
        return dict(log_vars)

    def val_step(self, data: Any) -> Any:
        return self.module.val_step(data)

    def test_step(self, data: Any) -> Any:
        return self.module.test_step(data)

    def _run_forward(self, data: Any, mode: str) -> Any:
        if isinstance(data, dict):
            return self(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self(*data, mode=mode)
        raise TypeError(f"Output of `data_preprocessor` should be list, tuple or dict, but got {type(data)}")


@MODEL_WRAPPERS.register_module()
class MMSeparateDistributedDataParallel(DistributedDataParallel):
    """Each trainable child of ``module`` in its own ``MMDistributedDataParallel`` (GANs: generator, discriminator).

    Children without trainable parameters are only moved to the device. The
    wrapped model's own ``train_step`` runs, with an ``OptimWrapperDict``.
    """

    def __init__(self, module: nn.Module, broadcast_buffers: bool = False, find_unused_parameters: bool = False,
                 **kwargs: Any) -> None:
        nn.Module.__init__(self)  # DDP's own __init__ would wrap the whole model
        from mmhooks.device import get_device

        self.module = module
        device = get_device()
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            if any(p.requires_grad for p in child.parameters()):
                child = MMDistributedDataParallel(module=child.to(device), broadcast_buffers=broadcast_buffers,
                                                  find_unused_parameters=find_unused_parameters, **kwargs)
            else:
                child = child.to(device)
            module._modules[name] = child

    def train_step(self, data: Any, optim_wrapper: Any) -> Any:
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data: Any) -> Any:
        return self.module.val_step(data)

    def test_step(self, data: Any) -> Any:
        return self.module.test_step(data)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Skip gradient all-reduce in every wrapped child (MMEngine yields once per child, a bug)."""
        with ExitStack() as stack:
            for child in self.module._modules.values():
                no_sync = getattr(child, "no_sync", None)
                if no_sync is not None:
                    stack.enter_context(no_sync())
            yield

    def train(self, mode: bool = True) -> MMSeparateDistributedDataParallel:
        self.training = mode
        self.module.train(mode)
        return self
