"""Lightning Fabric backend: ``Runner(..., backend='fabric')`` runs MMEngine's loops on ``lightning.fabric.Fabric``.

See :mod:`mmhooks.adapters.fabric.backend` for how a run is carried out and
:mod:`mmhooks.adapters.fabric.fabric_kwargs` for the config keys it reads.
"""

from mmhooks.adapters.fabric.backend import FabricBackend

__all__ = ["FabricBackend"]
