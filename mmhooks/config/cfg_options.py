"""``--cfg-options KEY=VALUE ...``: command-line overrides for a config.

Values are parsed the way MMEngine's ``DictAction`` parses them, so the same
command lines work: ``1`` is an int, ``0.1`` a float, ``true``/``False`` a
bool, ``None`` is ``None``, ``[1,2]`` or ``1,2`` a list, ``(1,2)`` a tuple,
brackets nest (``[(1,2),(3,4)]``), and anything else is a string. Quotes
around a value or an element are dropped, and so are spaces.

Keys are checked before they are merged (:func:`merge_cfg_options`): a
misspelt top-level key is an error instead of a new, unread key.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mmhooks.config.runner_keys import RUNNER_KEYS
from mmhooks.errors import ConfigError, closest

__all__ = ["DictAction", "check_cfg_option_keys", "merge_cfg_options", "parse_cfg_options", "parse_option_value"]

_PAIRS = {"(": ")", "[": "]"}


def parse_cfg_options(items: Iterable[str]) -> dict[str, Any]:
    """Parse ``["a.b=1", "c=[1,2]"]`` into ``{"a.b": 1, "c": [1, 2]}`` for ``Config.merge_from_dict``.

    Args:
        items: ``KEY=VALUE`` strings; the value is everything after the first ``=``.

    Raises:
        ConfigError: An item without ``=`` or without a key, or a value with unbalanced brackets.

    Example:
        >>> parse_cfg_options(["a.b=1", "c=[1,2]", "d=None", "e=True", "f=(1,2)", "g=[(1,2),(3,4)]"])
        {'a.b': 1, 'c': [1, 2], 'd': None, 'e': True, 'f': (1, 2), 'g': [(1, 2), (3, 4)]}
    """
    if isinstance(items, str):
        items = [items]
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(item, item, "a --cfg-options item of the form KEY=VALUE",
                              f"write the value after an '=', e.g. '{item}=1'.")
        if not key.strip():
            raise ConfigError(item, item, "a --cfg-options item of the form KEY=VALUE with a non-empty KEY",
                              "put the dotted key path before the '=', e.g. 'model.depth=50'.")
        options[key.strip()] = parse_option_value(text, key.strip())
    return options


def check_cfg_option_keys(cfg: Any, options: Mapping[str, Any], readable: Iterable[str] = RUNNER_KEYS) -> None:
    """Raise :class:`ConfigError` for an option whose top-level key nothing would read.

    The rule for new keys: MMEngine's ``merge_from_dict`` adds any key path,
    so a typo (``trian_cfg.max_epochs=2``) silently adds a key nobody reads.
    Here a key path must start with a key of the config or a key the Runner
    reads (``readable``: its constructor's keywords, e.g. ``load_from``,
    ``randomness``); below that, new keys are allowed as in MMEngine
    (``model.backbone.frozen_stages=1`` adds an argument, which the builder
    checks against the class's signature when the object is built).

    Example:
        >>> check_cfg_option_keys({"train_cfg": {"max_epochs": 4}}, {"trian_cfg.max_epochs": 2})
        Traceback (most recent call last):
        ...
        mmhooks.errors.ConfigError: trian_cfg.max_epochs: got 2; expected a --cfg-options key that starts with a key of the config or a key the Runner reads ('trian_cfg' is neither). Fix: did you mean 'train_cfg.max_epochs'?
    """
    existing = [str(key) for key in cfg.keys()]
    known = set(existing) | set(readable)
    for full_key, value in options.items():
        head, dot, rest = str(full_key).partition(".")
        if head in known:
            continue
        near = closest(head, existing) or closest(head, known)
        fix = (f"did you mean {near + dot + rest!r}?" if near
               else f"check the spelling; the config's keys are {sorted(existing)}.")
        raise ConfigError(str(full_key), value, "a --cfg-options key that starts with a key of the config or a "
                          f"key the Runner reads ({head!r} is neither)", fix)


def merge_cfg_options(cfg: Any, options: Mapping[str, Any]) -> None:
    """Check ``options`` with :func:`check_cfg_option_keys`, then ``cfg.merge_from_dict(options)``.

    This is what ``mmhooks train/test --cfg-options`` does; nothing is merged
    when a key is refused.

    Example:
        >>> from mmhooks.config import Config
        >>> cfg = Config(dict(train_cfg=dict(max_epochs=4)))
        >>> merge_cfg_options(cfg, {"train_cfg.max_epochs": 2, "randomness.seed": 0})
        >>> cfg.train_cfg.max_epochs, cfg.randomness.seed
        (2, 0)
    """
    check_cfg_option_keys(cfg, options)
    cfg.merge_from_dict(options)


def parse_option_value(text: str, key: str = "value") -> Any:
    """Parse one ``--cfg-options`` value (the part after ``=``); ``key`` locates errors.

    MMEngine parity:
        Unbalanced brackets are an error here, where MMEngine fails with an
        ``AssertionError`` or silently keeps the text as a string.
    """
    _check_balanced(text, key)
    return _parse(text)


def _check_balanced(text: str, key: str) -> None:
    stack: list[str] = []
    for char in text:
        if char in _PAIRS:
            stack.append(_PAIRS[char])
        elif char in _PAIRS.values():
            if not stack or stack.pop() != char:
                stack = ["?"]
                break
    if stack:
        raise ConfigError(key, text, "a --cfg-options value whose brackets '(' ')' and '[' ']' are balanced",
                          "close every bracket you open, and quote the whole item for your shell, "
                          f"e.g. \"{key}=[1,2]\".")


def _parse(text: str) -> Any:
    text = text.strip("'\"").replace(" ", "")
    if text[:1] in _PAIRS and _closing_index(text) == len(text) - 1:
        inner, as_tuple = text[1:-1], text[0] == "("
    elif "," in text and _split_top_level(text) != [text]:
        inner, as_tuple = text, False
    else:
        return _parse_scalar(text)
    elements = [_parse(part) for part in _split_top_level(inner)]
    return tuple(elements) if as_tuple else elements


def _closing_index(text: str) -> int:
    """Index of the bracket that closes ``text[0]``."""
    depth = 0
    for index, char in enumerate(text):
        if char in _PAIRS:
            depth += 1
        elif char in _PAIRS.values():
            depth -= 1
            if depth == 0:
                return index
    return -1


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets; a trailing comma adds no element (``1,`` is ``[1]``)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in _PAIRS:
            depth += 1
        elif char in _PAIRS.values():
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if start < len(text):
        parts.append(text[start:])
    return parts


def _parse_scalar(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text == "None":
        return None
    return text


class DictAction(argparse.Action):
    """Argparse action collecting ``KEY=VALUE`` items into one dict (see :func:`parse_cfg_options`).

    Repeated options accumulate; a later value for the same key wins. A bad
    item becomes an argparse error (usage message, exit status 2).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument("--cfg-options", nargs="+", action=DictAction)
        >>> parser.parse_args(["--cfg-options", "a.b=1", "c=[1,2]"]).cfg_options
        {'a.b': 1, 'c': [1, 2]}
    """

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        options = dict(getattr(namespace, self.dest, None) or {})
        if values is not None:
            items = [values] if isinstance(values, str) else [str(value) for value in values]
            try:
                options.update(parse_cfg_options(items))
            except ConfigError as err:
                raise argparse.ArgumentError(self, str(err)) from err
        setattr(namespace, self.dest, options)
