"""mmhooks: MMEngine hooks, schedulers and configs on the PyTorch Lightning Trainer.

The core (this package) never imports Lightning; the Lightning backend lives in
:mod:`mmhooks.adapters.lightning`.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
