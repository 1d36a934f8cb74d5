"""How one training step runs on Fabric: the OptimWrapper's backward, step and gradient sync through Fabric.

mmhooks' :class:`~mmhooks.optim.OptimWrapper` exposes ``backward_fn`` (called
instead of ``loss.backward``) and ``sync_model`` (whose ``no_sync()``
``optim_context`` enters on accumulation-only iterations). The Lightning
backend points them at ``manual_backward`` and the Trainer's DDP module;
here they point at ``fabric.backward`` and ``fabric.no_backward_sync``, and
the wrapper's ``optimizer`` becomes Fabric's (its step goes through the
precision plugin and the strategy). An ``AmpOptimWrapper`` hands autocast and
loss scaling to Fabric's precision plugin (``use_backend_precision``); its
clipping then runs after the plugin unscaled the gradients.

One process at full precision needs none of this: Fabric's single-device
strategy and 32-bit plugin do nothing around backward or step, so the model's
own ``train_step`` runs as under MMEngine, with no extra call per iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import Any

from mmhooks.adapters.fabric import _internals
from mmhooks.runner.train_step import forward_train_step, is_backend_aware, sub_wrappers, uses_default_train_step

__all__ = ["FabricStep"]


class _NoBackwardSync:
    """What ``OptimWrapper.optim_context`` calls ``no_sync()`` on: Fabric's ``no_backward_sync`` for the module."""

    def __init__(self, fabric: Any, module: Any) -> None:
        self._fabric = fabric
        self._module = module

    def no_sync(self) -> AbstractContextManager[Any]:
        return self._fabric.no_backward_sync(self._module, enabled=True)  # type: ignore[no-any-return]


class FabricStep:
    """The training step of one ``train()`` on ``fabric`` with the set-up ``module`` of ``runner.model``."""

    def __init__(self, fabric: Any, module: Any, runner: Any) -> None:
        from lightning.fabric.strategies.single_device import SingleDeviceStrategy

        self.fabric = fabric
        self.module = module
        self.runner = runner
        precision = fabric.strategy.precision
        self.precision = precision
        #: Fabric adds nothing around backward and step: one device, full precision (and no AmpOptimWrapper
        #: that leaves its clipping to the backend).
        self.direct = isinstance(fabric.strategy, SingleDeviceStrategy) and \
            getattr(precision, "precision", None) == "32-true"
        self._plain_optimizers: list[tuple[Any, Any]] = []
        self._through_ddp_forward = False

    # ------------------------------------------------------------------ optimizer wrapper
    def attach(self, optim_wrapper: Any) -> None:
        """Route each mmhooks wrapper's backward, step and gradient sync through Fabric."""
        hub = self.runner.message_hub
        wrappers = sub_wrappers(optim_wrapper)
        if any(is_backend_aware(w) and hasattr(w, "use_backend_precision") for w in wrappers):
            self.direct = False
        for wrapper in wrappers:
            if hasattr(wrapper, "message_hub"):
                wrapper.message_hub = hub
            if not is_backend_aware(wrapper):
                continue  # a downstream wrapper (MMEngine's own) runs as it is
            if hasattr(wrapper, "use_backend_precision"):
                wrapper.use_backend_precision = True  # Fabric's precision plugin autocasts and scales
                scaler = getattr(self.precision, "scaler", None)
                own = getattr(wrapper, "loss_scaler", None)
                if scaler is not None and own is not scaler:
                    if own is not None:
                        scaler.load_state_dict(own.state_dict())  # a resumed (or configured) scale carries over
                    wrapper.loss_scaler = scaler  # checkpoints keep the live scale
            if self.direct:
                continue
            plain = wrapper.optimizer
            self._plain_optimizers.append((wrapper, plain))
            optimizer = self.fabric.setup_optimizers(plain)
            if getattr(wrapper, "use_backend_precision", False):
                optimizer.step = partial(self._unscale_clip_step, wrapper, optimizer.step)
            wrapper.optimizer = optimizer
            wrapper.backward_fn = self._backward
            wrapper.sync_model = _NoBackwardSync(self.fabric, self.module) if self.fabric.world_size > 1 else None

    def detach(self, optim_wrapper: Any) -> None:
        """Hand back the plain optimizers and backward (the wrapper outlives the run: val, test, a second fit)."""
        for wrapper, plain in self._plain_optimizers:
            wrapper.optimizer = plain
            wrapper.backward_fn = None
            wrapper.sync_model = None
        self._plain_optimizers.clear()

    def _backward(self, loss: Any, **kwargs: Any) -> None:
        if self._through_ddp_forward:
            _internals.prepare_ddp_backward(_internals.strategy_module(self.module), loss)
        self.fabric.backward(loss, **kwargs)

    def _unscale_clip_step(self, wrapper: Any, step: Callable[..., Any], **kwargs: Any) -> Any:
        """An AmpOptimWrapper leaves clipping to the backend: clip once the plugin has unscaled, then step."""
        if wrapper.clip_grad_kwargs:
            self.precision.unscale_gradients(wrapper.optimizer.optimizer)
            wrapper.clip_gradients()
        return step(**kwargs)

    # ------------------------------------------------------------------ the step
    def train_step_fn(self) -> Callable[[Any], Any] | None:
        """What the train loop calls per batch; ``None`` when the model's ``train_step`` is called directly."""
        if self.direct:
            return None
        if uses_default_train_step(self.runner.model):
            return self._forward_train_step
        if self.fabric.world_size > 1:
            self._through_ddp_forward = True
            return self._strategy_train_step
        return self._autocast_train_step

    @property
    def _mixed(self) -> bool:
        """Mixed precision: autocast only, inputs left as they are (MMEngine's AmpOptimWrapper, Lightning's plugin).

        Fabric's own module wrapper would also cast every floating input (targets
        included) to half precision; that is kept for the ``*-true`` precisions,
        which need it.
        """
        return getattr(self.precision, "precision", None) in ("16-mixed", "bf16-mixed")

    def _forward_train_step(self, data_batch: Any) -> Any:
        """BaseModel's step, the forward through the strategy's module (DDP's forward) under the plugin's autocast."""
        if self._mixed:
            forward = _internals.strategy_module(self.module)
            return forward_train_step(self.runner.model, forward, data_batch, self.runner.optim_wrapper,
                                      self.fabric.autocast)
        return forward_train_step(self.runner.model, self.module, data_batch, self.runner.optim_wrapper)

    def _strategy_train_step(self, data_batch: Any) -> Any:
        """The model's own ``train_step`` inside DDP's forward (its backward arms DDP's all-reduce itself)."""
        model, ddp = self.runner.model, _internals.strategy_module(self.module)
        context = self.fabric.autocast() if self._mixed else nullcontext()
        with context, _internals.forward_redirected(model, "train_step", ddp):
            return ddp(data_batch, optim_wrapper=self.runner.optim_wrapper)

    def _autocast_train_step(self, data_batch: Any) -> Any:
        """A model's own ``train_step`` in one process: the whole step under the precision plugin's autocast."""
        with self.fabric.autocast():
            return self.runner.model.train_step(data_batch, optim_wrapper=self.runner.optim_wrapper)
