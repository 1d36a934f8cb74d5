"""Errors raised for bad user input.

Every message has one shape so that users and tests can rely on it::

    <where>: got <value>; expected <accepted>. Fix: <action>.

``<where>`` is the key path from the config root (``param_scheduler[1].end``)
or ``ClassName.arg`` for a direct call; builders re-locate an error raised by a
constructor with :meth:`ConfigError.under`.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Mapping

__all__ = [
    "AssertedConfigError",
    "AssertedTypeError",
    "AssertedValueError",
    "ConfigError",
    "ConfigTypeError",
    "MMHooksTranslationWarning",
    "UnsupportedConfigError",
    "check_choice",
    "check_keys",
    "closest",
    "join_path",
    "warn_once",
]


def join_path(where: str, key: str) -> str:
    """Join a parent key path and a child key (``a`` + ``b`` -> ``a.b``; ``a`` + ``[1]`` -> ``a[1]``)."""
    if not where:
        return key
    if not key:
        return where
    return f"{where}{key}" if key.startswith("[") else f"{where}.{key}"


def closest(value: object, choices: Iterable[str]) -> str | None:
    """The registered name closest to ``value`` (difflib), or ``None``."""
    near = difflib.get_close_matches(str(value), sorted(choices), n=1)
    return near[0] if near else None


class ConfigError(ValueError):
    """A configuration value that mmhooks cannot accept.

    Args:
        key: The key that is wrong, relative to ``where``.
        value: The bad value as given.
        expected: What is accepted, in words.
        fix: What the user should change.
        where: Key path of the parent, or ``""`` for the root.
    """

    def __init__(self, key: str, value: object, expected: str, fix: str, where: str = "") -> None:
        self.key = key
        self.value = value
        self.expected = expected
        self.fix = fix
        self.where = where
        self.path = join_path(where, key)
        super().__init__(f"{self.path}: got {value!r}; expected {expected}. Fix: {fix}")

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, object, str, str, str]]:
        # Picklable, so an error raised on one DDP rank can travel to another.
        return (type(self), (self.key, self.value, self.expected, self.fix, self.where))

    def under(self, where: str) -> ConfigError:
        """The same error, located below the key path ``where``.

        A ``ClassName`` location (from a direct constructor call) is replaced by
        ``where``; a relative key path is kept below it.
        """
        inner = self.where
        if _is_class_location(inner):
            head = inner.split(".", 1)[0].split("[", 1)[0]
            inner = inner[len(head):].lstrip(".")
        return type(self)(self.key, self.value, self.expected, self.fix, join_path(where, inner))


def _is_class_location(where: str) -> bool:
    """True for ``CheckpointHook``-style locations that name a class rather than a key path."""
    head = where.split(".", 1)[0].split("[", 1)[0]
    return bool(head) and head[0].isupper() and head.isidentifier()


class UnsupportedConfigError(ConfigError):
    """A valid MMEngine setting that mmhooks does not support (the fix names a workaround)."""


class AssertedConfigError(ConfigError, AssertionError):
    """A :class:`ConfigError` for a check that MMEngine makes with ``assert``.

    Also an ``AssertionError``, so code (and tests) written against MMEngine,
    which catch ``AssertionError`` there, still catch it.
    """


class ConfigTypeError(ConfigError, TypeError):
    """A :class:`ConfigError` where MMEngine raises ``TypeError`` (so it is one too)."""


class AssertedTypeError(TypeError, AssertionError):
    """A ``TypeError`` for a check that MMEngine makes with ``assert`` (also an ``AssertionError``)."""


class AssertedValueError(ValueError, AssertionError):
    """A ``ValueError`` for a check that MMEngine makes with ``assert`` (also an ``AssertionError``)."""


class MMHooksTranslationWarning(UserWarning):
    """A config value was translated with a loss of fidelity (raised once per key)."""


_warned: set[str] = set()


def warn_once(message: str, category: type[Warning] = MMHooksTranslationWarning, stacklevel: int = 2) -> None:
    """Emit ``message`` once per process."""
    if message in _warned:
        return
    _warned.add(message)
    warnings.warn(message, category, stacklevel=stacklevel + 1)


def check_choice(key: str, value: object, allowed: Iterable[str], where: str = "") -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``allowed``."""
    choices = sorted(allowed)
    if value in choices:
        return
    near = closest(value, choices)
    fix = f"did you mean {near!r}?" if near else f"pick one of {choices}."
    raise ConfigError(key, value, f"one of {choices}", fix, where)


def check_keys(where: str, given: Iterable[str] | Mapping[str, object], accepted: Iterable[str],
               what: str = "", list_accepted: bool = True) -> None:
    """Raise :class:`ConfigError` for the first key of ``given`` that is not in ``accepted``.

    The message names the key under ``where``, the keys that are accepted (``what``
    describes them, e.g. ``"a key of train_cfg"``; ``list_accepted=False`` leaves the
    list out where it would be long) and the closest accepted name.

    Example:
        >>> check_keys("randomness", {"sed": 1}, ["seed", "deterministic"])
        Traceback (most recent call last):
        ...
        mmhooks.errors.ConfigError: randomness.sed: got 1; expected a key of randomness (deterministic, seed). Fix: rename it to 'seed'.
    """
    names = sorted(accepted)
    values = given if isinstance(given, Mapping) else dict.fromkeys(given)
    for key, value in values.items():
        if key in names:
            continue
        near = closest(key, names)
        fix = f"rename it to {near!r}." if near else "delete it."
        label = what or f"a key of {where or 'the config'}"
        expected = f"{label} ({', '.join(names)})" if list_accepted else label
        raise ConfigError(key, value, expected, fix, where)
