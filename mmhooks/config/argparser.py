"""``Config.auto_argparser``: command-line options generated from a config's keys (MMEngine's ``add_args``)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["add_args"]


def add_args(parser: argparse.ArgumentParser, cfg: Mapping[str, Any], prefix: str = "") -> argparse.ArgumentParser:
    """Add ``--key`` (``--parent.key`` for nested dicts) for each value of ``cfg`` whose type maps to one.

    A string becomes a string option, a bool a ``store_true`` flag, an int or
    float an option of that type, a list or tuple ``nargs='+'`` of its first
    element's type; other values are skipped with a warning.

    MMEngine parity:
        Same options. An empty list or tuple gives string options here
        (MMEngine fails on it with ``StopIteration``).

    Example:
        >>> parser = add_args(argparse.ArgumentParser(), {"lr": 0.1, "model": {"depth": 18}, "amp": False})
        >>> vars(parser.parse_args(["--model.depth", "50", "--amp"]))
        {'lr': None, 'model.depth': 50, 'amp': True}
    """
    for key, value in cfg.items():
        option = f"--{prefix}{key}"
        if isinstance(value, str):
            parser.add_argument(option)
        elif isinstance(value, bool):
            parser.add_argument(option, action="store_true")
        elif isinstance(value, (int, float)):
            parser.add_argument(option, type=type(value))
        elif isinstance(value, Mapping):
            add_args(parser, value, f"{prefix}{key}.")
        elif isinstance(value, Iterable):
            first = next(iter(value), None)
            parser.add_argument(option, type=type(first) if first is not None else str, nargs="+")
        else:
            _note(f"cannot parse key {prefix}{key} of type {type(value)}")
    return parser


def _note(message: str) -> None:
    from mmhooks.logging.logger import print_log

    print_log(message, "current")
