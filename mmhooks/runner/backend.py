"""Execution backends: what carries out a run that the Runner has built.

The core never imports an execution framework. A backend is named by
``Runner(backend=...)``, the config key ``backend`` or ``mmhooks train
--backend``; :data:`BACKENDS` maps names to ``"module:Class"`` import strings,
imported only when a run starts. Backends differ only in how a training step,
a checkpoint and the process group are carried out; the run's state stays
in the runner's :class:`~mmhooks.runner.context.RunContext`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from mmhooks.errors import ConfigError, closest

if TYPE_CHECKING:
    from mmhooks.runner.base import RunnerBase

__all__ = ["BACKENDS", "Backend", "DEFAULT_BACKEND", "build_backend", "framework_verbose", "register_backend",
           "set_framework_verbosity"]

DEFAULT_BACKEND = "lightning"

BACKENDS: dict[str, str] = {
    "lightning": "mmhooks.adapters.lightning.backend:LightningBackend",
    "fabric": "mmhooks.adapters.fabric.backend:FabricBackend",
}


class Backend(Protocol):
    """What a runner asks of the framework that executes it."""

    name: str
    # True when train() calls mmhooks.runner.startup_gc.training_starts() before the first iteration;
    # Runner.train() then keeps Python's cyclic collector paused through the backend's start-up.
    calls_training_starts: bool

    @property
    def rank(self) -> int: ...

    @property
    def world_size(self) -> int: ...

    def train(self) -> Any:
        """Run ``runner.train()``; return the model."""

    def evaluate(self, stage: str) -> dict[str, Any]:
        """Run ``runner.val()`` (``stage='val'``) or ``runner.test()``; return the metrics."""

    def broadcast(self, value: Any, src: int = 0) -> Any:
        """Rank ``src``'s ``value`` on every rank (``value`` itself in a single process)."""

    def save_checkpoint(self, path: str, meta: dict[str, Any], save_optimizer: bool,
                        save_param_scheduler: bool) -> None:
        """Write an MMEngine-format checkpoint at ``path`` (every rank calls it; rank zero writes)."""


_verbose = False


def set_framework_verbosity(verbose: bool) -> None:
    """Whether backends let their framework print its own start-up banners (``mmhooks --debug`` does)."""
    global _verbose
    _verbose = verbose


def framework_verbose() -> bool:
    return _verbose


def register_backend(name: str, target: str) -> None:
    """Make ``name`` select the backend class at ``target`` (``"package.module:Class"``)."""
    if ":" not in target:
        raise ValueError(f"register_backend.target: got {target!r}; expected 'package.module:Class'.")
    BACKENDS[name] = target


def build_backend(backend: Any, runner: RunnerBase, path: str = "backend") -> Any:
    """The backend object for ``runner``: a name from :data:`BACKENDS`, a class, or a built backend."""
    if backend is None:
        backend = DEFAULT_BACKEND
    if isinstance(backend, str):
        target = BACKENDS.get(backend)
        if target is None:
            near = closest(backend, BACKENDS)
            raise ConfigError(path, backend, f"one of {sorted(BACKENDS)}",
                              f"did you mean {near!r}?" if near else "use backend='lightning' (the default).")
        module_name, _, class_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            package = (err.name or module_name).split(".")[0]
            raise ConfigError(path, backend, f"a backend whose packages are installed ({package} is missing)",
                              f"pip install {_INSTALL.get(package, package)}") from err
        backend = getattr(module, class_name)
    if isinstance(backend, type):
        return backend(runner)
    return backend


_INSTALL = {"lightning": "'lightning>=2.5,<2.7'", "pytorch_lightning": "'lightning>=2.5,<2.7'"}
