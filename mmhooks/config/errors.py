"""Errors located in a config *file* rather than at a key path.

A :class:`ConfigFileError` message starts with the file (``/cfg/a.py:3`` when
the line is known), then the key inside it if there is one, so that editors and
terminals can jump straight to the mistake::

    /cfg/child.py: _base_: got '../nope.py'; expected an existing config file ... Fix: ...
"""

from __future__ import annotations

from mmhooks.errors import ConfigError

__all__ = ["ConfigFileError", "ConfigFileNotFoundError", "ConfigFormatError", "ConfigListIndexError", "ConfigMergeError"]


class ConfigFileError(ConfigError):
    """A config file that cannot be read, parsed or inherited from.

    Args:
        key: The key inside the file that is wrong, or ``""`` for the file as a whole.
        value: The bad value as found.
        expected: What is accepted, in words.
        fix: What the user should change.
        where: The file, optionally ``path:line``.
    """

    def __init__(self, key: str, value: object, expected: str, fix: str, where: str = "") -> None:
        super().__init__(key, value, expected, fix, where)
        self.path = f"{where}: {key}" if where and key else (where or key)
        ending = "" if fix.endswith((".", "?", "!")) else "."
        self.args = (f"{self.path}: got {value!r}; expected {expected}. Fix: {fix}{ending}",)

    def under(self, where: str) -> ConfigFileError:
        """The file already locates the error; a key path above it adds nothing."""
        return self


class ConfigMergeError(ConfigError, TypeError):
    """A child value that cannot be merged into its base (a dict over a non-dict).

    Also a ``TypeError``, which is what MMEngine raises in the same place.
    """


class ConfigFormatError(ConfigFileError, OSError):
    """A config file (or text) in a format other than Python, JSON or YAML.

    Also an ``OSError`` (``IOError``), which is what MMEngine raises in the same place.
    """


class ConfigListIndexError(ConfigError, KeyError):
    """A ``--cfg-options``/``merge_from_dict`` list index that the base list does not have.

    Also a ``KeyError``, which is what MMEngine raises in the same place.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigFileNotFoundError(ConfigFileError, FileNotFoundError):
    """A config file (or ``_base_`` file) that does not exist (also MMEngine's ``FileNotFoundError``)."""
