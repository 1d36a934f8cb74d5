"""Logging: the message hub, history buffers, the MMEngine-format logger and the log processor."""

from __future__ import annotations

from mmhooks._lazy import import_modules, lazy_exports

_MODULES = {
    "HistoryBuffer": "mmhooks.logging.history_buffer",
    "LogProcessor": "mmhooks.logging.log_processor",
    "MMFormatter": "mmhooks.logging.logger",
    "MMLogger": "mmhooks.logging.logger",
    "ManagerMixin": "mmhooks.logging.manager",
    "MessageHub": "mmhooks.logging.message_hub",
    "print_log": "mmhooks.logging.logger",
}

__all__ = sorted(["import_all", *_MODULES])
__getattr__, __dir__ = lazy_exports(__name__, _MODULES)


def import_all() -> None:
    """Import the modules whose classes register themselves (``LogProcessor`` in ``LOG_PROCESSORS``)."""
    import_modules(sorted(set(_MODULES.values())))
