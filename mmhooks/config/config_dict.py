"""``ConfigDict``: a ``dict`` whose keys are also attributes, nested all the way down.

Configs are read far more often than written, and ``cfg.model.backbone.depth``
is how MMEngine users read them. A ``ConfigDict`` is a real ``dict`` (so
``isinstance(cfg, dict)``, ``**cfg`` and ``json.dumps`` keep working); plain
dicts stored in it, directly or inside lists and tuples, become ``ConfigDict``
too. Each node remembers its key path from the config root, so a missing
attribute names the full path and the closest existing key.
"""

from __future__ import annotations

import copy
import difflib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from mmhooks.errors import join_path

__all__ = ["ConfigDict", "to_plain"]


class ConfigDict(dict):  # type: ignore[type-arg]
    """A ``dict`` with attribute access whose nested plain dicts become ``ConfigDict``.

    Args:
        *args: A mapping or an iterable of ``(key, value)`` pairs, as for ``dict``.
        **kwargs: More items.

    Raises:
        AttributeError: Reading a missing key as an attribute; the message
            names the key path and the closest keys.
        KeyError: Reading a missing key as an item (``cfg["nope"]``), as ``dict`` does.

    MMEngine parity:
        Same reading and writing behaviour as ``mmengine.ConfigDict`` (an
        ``addict.Dict``) for configs, without depending on ``addict``. Lazy
        objects of MMEngine's pure-Python configs are never stored: such files
        are converted to plain values when they are read.

    Example:
        >>> cfg = ConfigDict(model=dict(depth=50, stages=[dict(n=1)]))
        >>> cfg.model.depth, cfg.model.stages[0].n
        (50, 1)
        >>> cfg.model.dpth
        Traceback (most recent call last):
        ...
        AttributeError: model.dpth: no such key. Fix: did you mean 'depth'? Keys: ['depth', 'stages'].
    """

    __slots__ = ("_key_path",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        object.__setattr__(self, "_key_path", "")
        if len(args) > 1:
            raise TypeError(f"ConfigDict expected at most 1 positional argument, got {len(args)}")
        if args and args[0]:
            source = args[0]
            pairs: Iterable[tuple[Any, Any]] = source.items() if isinstance(source, Mapping) else source
            for key, value in pairs:
                self[key] = value
        for key, value in kwargs.items():
            self[key] = value

    # -- conversion of stored values ------------------------------------------------------------

    @classmethod
    def _hook(cls, value: Any) -> Any:
        """Convert plain dicts (also inside lists and tuples) to ``ConfigDict``.

        User-defined ``dict`` subclasses are left alone, as in MMEngine.
        """
        if type(value) in (dict, OrderedDict):
            return cls(value)
        if type(value) in (list, tuple):
            return type(value)(cls._hook(item) for item in value)
        return value

    def _locate(self, path: str) -> None:
        """Record ``path`` as this node's key path, and re-locate every node below it."""
        object.__setattr__(self, "_key_path", path)
        for key, value in dict.items(self):
            _locate_value(value, join_path(path, str(key)))

    # -- item and attribute access ----------------------------------------------------------------

    def __setitem__(self, key: Any, value: Any) -> None:
        value = self._hook(value)
        _locate_value(value, join_path(self._key_path, str(key)))
        super().__setitem__(key, value)

    def __missing__(self, key: Any) -> Any:
        raise KeyError(key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # protocol probes (copy, pickle) must stay cheap and quiet
        try:
            return self[name]
        except KeyError:
            raise AttributeError(self._missing_message(name)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name):
            raise AttributeError(f"{join_path(self._key_path, name)}: {name!r} is a ConfigDict method and "
                                 f"cannot be set as an attribute. Fix: set it as an item, cfg[{name!r}] = ...")
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(self._missing_message(name)) from None

    def _missing_message(self, name: str) -> str:
        keys = sorted(str(key) for key in self)
        near = difflib.get_close_matches(name, keys, n=3)
        fix = f"did you mean {near[0]!r}?" if near else "add the key to the config, or check the spelling."
        return f"{join_path(self._key_path, name)}: no such key. Fix: {fix} Keys: {keys}."

    # -- dict methods with MMEngine's return types ------------------------------------------------

    def values(self) -> list[Any]:  # type: ignore[override]
        """The values as a ``list`` (MMEngine's ``ConfigDict.values`` returns a list, not a view)."""
        return list(dict.values(self))

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """The ``(key, value)`` pairs as a ``list`` (as MMEngine's ``ConfigDict.items``)."""
        return list(dict.items(self))

    # -- dict methods whose results must stay ConfigDict ------------------------------------------

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update like ``dict.update``, but merge a dict into an existing dict value.

        MMEngine's ``ConfigDict.update`` merges nested dicts instead of replacing them.
        """
        other: dict[Any, Any] = dict(*args, **kwargs)
        for key, value in other.items():
            current = self.get(key)
            if isinstance(current, ConfigDict) and isinstance(value, Mapping):
                current.update(value)
            else:
                self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> ConfigDict:
        """A shallow copy that is still a ``ConfigDict``."""
        return type(self)(dict.items(self))

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> ConfigDict:
        other = type(self)()
        memo[id(self)] = other
        for key, value in dict.items(self):
            other[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
        other._locate(self._key_path)
        return other

    def __reduce__(self) -> tuple[type[ConfigDict], tuple[dict[Any, Any]]]:
        return (type(self), (dict(self),))

    def to_dict(self) -> dict[Any, Any]:
        """A plain ``dict`` copy, recursively (lists and tuples keep their type)."""
        plain: dict[Any, Any] = to_plain(self)
        return plain


def _locate_value(value: Any, path: str) -> None:
    if isinstance(value, ConfigDict):
        value._locate(path)
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            _locate_value(item, f"{path}[{index}]")


def to_plain(value: Any) -> Any:
    """Recursively turn every ``dict`` into a plain ``dict`` (lists and tuples keep their type)."""
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in dict.items(value)}
    if type(value) in (list, tuple):
        return type(value)(to_plain(item) for item in value)
    return value
