"""Build errors that are a :class:`~mmhooks.errors.ConfigError` and also the exception MMEngine raises.

MMEngine's builders raise ``KeyError`` for a name no registry holds and
``TypeError`` for a value of the wrong kind; code written for MMEngine catches
those. mmhooks' messages locate the key path and suggest a fix, and the
classes below let the same ``except KeyError`` / ``except TypeError`` keep
working.
"""

from __future__ import annotations

from mmhooks.errors import ConfigError

__all__ = ["RegistryArgumentError", "RegistryKeyError", "RegistryTypeError"]


class RegistryKeyError(ConfigError, KeyError):
    """A ``type`` that names nothing registered, or a config without ``type`` (MMEngine: ``KeyError``)."""

    def __str__(self) -> str:
        # KeyError would print the message in quotes; keep ConfigError's one-line form.
        return str(self.args[0]) if self.args else ""


class RegistryTypeError(ConfigError, TypeError):
    """A config, ``type`` or argument of the wrong kind (MMEngine: ``TypeError``)."""


class RegistryArgumentError(RegistryTypeError, AssertionError):
    """A ``Registry`` constructor argument of the wrong kind, which MMEngine checks with ``assert``."""
