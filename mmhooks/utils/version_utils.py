"""``digit_version``: a version string as a tuple of ints that compares as versions do."""

from __future__ import annotations

import warnings

__all__ = ["digit_version"]

_PRERELEASE = {"a": -3, "b": -2, "rc": -1}


def digit_version(version_str: str, length: int = 4) -> tuple[int, ...]:
    """``length`` release numbers then two for the pre/post release (alpha < beta < rc < release < post).

    Example:
        >>> digit_version('2.1.0rc1') < digit_version('2.1.0') < digit_version('2.1.0.post1')
        True
        >>> digit_version('1.6')
        (1, 6, 0, 0, 0, 0)
    """
    from packaging.version import parse

    version = parse(version_str)
    if not version.release:
        raise ValueError(f"digit_version: cannot parse {version_str!r} as a version.")
    release = list(version.release[:length]) + [0] * max(0, length - len(version.release))
    if version.is_prerelease:
        if version.pre is None:  # a dev release
            release += [-4, 0]
        else:
            letter, number = version.pre
            if letter not in _PRERELEASE:
                warnings.warn(f"unknown prerelease version {letter}, version checking may go wrong", stacklevel=2)
            release += [_PRERELEASE.get(letter, -4), number]
    elif version.is_postrelease:
        release += [1, int(version.post or 0)]
    else:
        release += [0, 0]
    return tuple(release)
