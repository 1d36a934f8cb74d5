"""Build ``runner.visualizer``: MMEngine's rules, the run's instance shared, tracker backends bound to loggers.

The visualizer is built through ``get_instance`` (``VISUALIZERS.build``), so
a hook that asks ``Visualizer.get_current_instance()`` in its constructor
gets it. Tracker backends (W&B, MLflow, ...) are bound to their Lightning
loggers here (:mod:`mmhooks.adapters.lightning.loggers`).

TensorBoard next to the user's own ``TensorBoardLogger``: hooks' scalars go
to an event file of their own, in MMEngine's place (``{log_dir}/vis_data``,
inside the logger's ``version_N`` folder when the run has no ``work_dir``),
with MMEngine's tags and steps. Lightning's event file is never written to:
MMEngine's ``epoch``, ``iter`` and ``loss`` tags (steps ``iter + 1``) would
otherwise interleave with Lightning's ``epoch`` and with what ``self.log``
writes at ``global_step``. ``tensorboard --logdir lightning_logs`` shows both
runs. A ``TensorboardVisBackend`` is added for this when the visualizer
config has none.

A backend that writes through a logger the Trainer also has (the user passed
``Trainer(logger=lightning_loggers(vis))`` to get one event file) leaves
Lightning's tags to Lightning: ``epoch`` and every name in
``trainer.logged_metrics`` are skipped there (they stay in ``scalars.json``
and in the log lines).
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger

from mmhooks.adapters.lightning.loggers import lightning_loggers
from mmhooks.registry import VISUALIZERS
from mmhooks.visualization.visualizer import share_current_visualizer

__all__ = ["build_visualizer"]


def build_visualizer(runner: Any, cfg: Any) -> Any:
    """MMEngine's default (a LocalVisBackend under ``log_dir``), a config dict, or a built visualizer.

    The result is the current ``Visualizer`` instance (mmhooks' and MMEngine's),
    and its tracker backends are bound to Lightning loggers
    (:func:`~mmhooks.adapters.lightning.loggers.lightning_loggers` returns them).
    """
    if cfg is not None and not isinstance(cfg, Mapping):
        share_current_visualizer(cfg)
        _leave_lightnings_tags(cfg, runner)
        return cfg
    cfg = dict(cfg) if cfg is not None else dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")])
    cfg.setdefault("type", "Visualizer")
    unique = getattr(runner, "_instance_name", None) or f"mmhooks-{uuid.uuid4().hex[:12]}"
    cfg.setdefault("name", f"{unique}-{runner.experiment_name}")  # get_instance must not return an older run's
    cfg.setdefault("save_dir", runner.log_dir)
    backends = cfg.get("vis_backends") or []
    backends = [backends] if isinstance(backends, Mapping) else list(backends)
    if _trainer_logs_to_tensorboard(runner) and not any(_is_tensorboard(b) for b in backends):
        backends.append(dict(type="TensorboardVisBackend"))
    cfg["vis_backends"] = backends if runner.rank == 0 else []  # only rank zero writes files
    visualizer = VISUALIZERS.build(cfg, path="visualizer")
    share_current_visualizer(visualizer)
    # Binds every tracker backend to a logger of its own (errors name visualizer.vis_backends[i]); TensorBoard
    # keeps its own writer, apart from the Trainer's loggers.
    lightning_loggers(visualizer, tensorboard=False)
    _leave_lightnings_tags(visualizer, runner)
    return visualizer


def _leave_lightnings_tags(visualizer: Any, runner: Any) -> None:
    """Make backends bound to a logger of the Trainer skip the tags Lightning writes there itself."""
    for backend in (getattr(visualizer, "_vis_backends", None) or {}).values():
        tracker = getattr(backend, "_tracker", None)
        if tracker is None or getattr(backend, "_mmhooks_leaves_lightning_tags", False):
            continue
        add_scalars, add_scalar = backend.add_scalars, backend.add_scalar

        def filtered_scalars(scalar_dict: dict[str, Any], step: int = 0, file_path: Any = None, *,
                             _write: Any = add_scalars, _tracker: Any = tracker, **kwargs: Any) -> None:
            owned = _lightning_tags(runner, _tracker)
            if owned:
                scalar_dict = {tag: value for tag, value in scalar_dict.items() if tag not in owned}
            _write(scalar_dict, step, file_path, **kwargs)

        def filtered_scalar(name: str, value: Any, step: int = 0, *, _write: Any = add_scalar,
                            _tracker: Any = tracker, **kwargs: Any) -> None:
            if name not in _lightning_tags(runner, _tracker):
                _write(name, value, step, **kwargs)

        backend.add_scalars, backend.add_scalar = filtered_scalars, filtered_scalar
        backend._mmhooks_leaves_lightning_tags = True


def _lightning_tags(runner: Any, tracker: Any) -> frozenset[str] | set[str]:
    """The tags Lightning writes to ``tracker`` in this run: none unless it is one of the Trainer's loggers."""
    trainer = getattr(runner, "trainer", None)
    if trainer is None or all(logger is not tracker for logger in trainer.loggers):
        return frozenset()
    return {"epoch", *trainer.logged_metrics}


def _is_tensorboard(backend: Any) -> bool:
    name = backend.get("type") if isinstance(backend, Mapping) else type(backend).__name__
    if isinstance(name, type):
        name = name.__name__
    return isinstance(name, str) and name.endswith("TensorboardVisBackend")


def _trainer_logs_to_tensorboard(runner: Any) -> bool:
    """The Trainer has a ``TensorBoardLogger`` and ``tensorboard`` (which MMEngine's backend writes with) exists."""
    trainer = getattr(runner, "trainer", None)
    if trainer is None or importlib.util.find_spec("tensorboard") is None:
        return False
    return any(isinstance(logger, TensorBoardLogger) for logger in trainer.loggers)
