"""MMEngine's ``launcher`` as the arguments Lightning's Trainer and Fabric share.

Both frameworks take the same ``strategy``/``devices``/``plugins`` for a launch
and the same cluster environments (``lightning.pytorch`` re-exports Fabric's),
so both backends read ``launcher`` here.
"""

from __future__ import annotations

from typing import Any

from mmhooks.errors import ConfigError
from mmhooks.runner.execution_cfg import check_launcher

__all__ = ["launcher_kwargs"]


def launcher_kwargs(launcher: Any, path: str = "launcher") -> dict[str, Any]:
    """``devices``, ``strategy`` and the cluster environment plugin for MMEngine's ``launcher`` value."""
    launcher = check_launcher(launcher, path)
    if launcher == "none":
        return dict(devices=1)
    if launcher == "pytorch":
        return dict(strategy="ddp", devices="auto")
    # Lightning re-exports these without __all__ or ``as``, so mypy sees them as private.
    from lightning.fabric.plugins.environments import MPIEnvironment, SLURMEnvironment  # type: ignore[attr-defined]

    if launcher == "slurm":
        environment: Any = SLURMEnvironment()
    else:
        try:
            environment = MPIEnvironment()
        except ModuleNotFoundError:  # Lightning's MPI environment needs mpi4py
            raise ConfigError(path, launcher, "an MPI launch, which needs the mpi4py package",
                              "pip install mpi4py, or start with torchrun and launcher='pytorch'.") from None
    return dict(strategy="ddp", devices="auto", plugins=[environment])
