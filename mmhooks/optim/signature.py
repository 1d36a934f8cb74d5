"""Which keyword arguments a class's constructor takes, following ``**kwargs`` up to its bases.

Downstream optimizers and schedulers are often a mixin over a base class
(``class MyLR(MyMixin, CosineAnnealingLR)`` with ``__init__(self, optimizer,
*args, **kwargs)``); the arguments they really accept are those of the first
base whose ``__init__`` has no ``**kwargs``. Config checks use this to reject
an unknown key before anything is built.
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

__all__ = ["KeywordArguments", "keyword_arguments"]

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class KeywordArguments(NamedTuple):
    """What a constructor accepts by keyword."""

    accepted: frozenset[str]
    #: Arguments without a default in the class's own ``__init__``.
    required: frozenset[str]
    #: True when some ``**kwargs`` could not be followed: any key may be accepted.
    open: bool


def _split(signature: inspect.Signature, skip: int) -> tuple[list[inspect.Parameter], bool]:
    """The named parameters after the first ``skip`` positional ones, and whether there is ``**kwargs``."""
    params = list(signature.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    skipped = {p.name for p in positional[:skip]}
    named = [p for p in params if p.kind in _NAMED and p.name not in skipped]
    return named, any(p.kind is p.VAR_KEYWORD for p in params)


def keyword_arguments(target: Any, skip: int = 1) -> KeywordArguments:
    """The keyword arguments of ``target`` (a class or a function) after its first ``skip`` positional ones.

    Args:
        target: The class (its ``__init__`` and those of its bases, followed
            through ``**kwargs``) or a callable.
        skip: Leading positional arguments the builder passes itself (the
            optimizer of a scheduler, the parameters of an optimizer).

    Example:
        >>> class Base:
        ...     def __init__(self, optimizer, gamma, begin=0): ...
        >>> class Mixin(Base):
        ...     def __init__(self, optimizer, *args, scale=1.0, **kwargs): ...
        >>> sorted(keyword_arguments(Mixin).accepted), keyword_arguments(Mixin).open
        (['begin', 'gamma', 'scale'], False)
    """
    if not inspect.isclass(target):
        try:
            named, var_keyword = _split(inspect.signature(target), skip)
        except (TypeError, ValueError):
            return KeywordArguments(frozenset(), frozenset(), True)
        return KeywordArguments(frozenset(p.name for p in named),
                                frozenset(p.name for p in named if p.default is p.empty), var_keyword)
    accepted: set[str] = set()
    required: frozenset[str] | None = None
    for klass in target.__mro__:
        if klass is object or "__init__" not in vars(klass):
            continue
        if required is not None and _packs_keywords(klass):
            break  # ``**kwargs`` reached a base that takes them as one dict: any key may be accepted
        try:
            named, var_keyword = _split(inspect.signature(vars(klass)["__init__"]), skip + 1)  # and ``self``
        except (TypeError, ValueError):
            return KeywordArguments(frozenset(accepted), required or frozenset(), True)
        accepted.update(p.name for p in named)
        if required is None:
            required = frozenset(p.name for p in named if p.default is p.empty)
        if not var_keyword:
            return KeywordArguments(frozenset(accepted), required, False)
    if required is None:  # no ``__init__`` of its own anywhere: ``__new__`` or a metaclass decides
        return keyword_arguments(_call_signature_holder(target), skip)
    return KeywordArguments(frozenset(accepted), required, True)


def _packs_keywords(klass: type) -> bool:
    """Whether ``klass.__init__`` takes keyword arguments packed in one dict (``torch.optim.Optimizer``).

    A subclass's ``**kwargs`` then travel as values of that dict, not as named
    parameters: ``ZeroRedundancyOptimizer(params, optimizer_type, **kwargs)``
    passes ``lr=...`` through torch's class into the optimizer's ``defaults``.
    """
    import sys

    torch_optim = sys.modules.get("torch.optim")
    return torch_optim is not None and klass is getattr(torch_optim, "Optimizer", None)


def _call_signature_holder(cls: type) -> Any:
    """A function with the signature ``cls(...)`` has (from ``__new__`` or a metaclass)."""

    def call(*args: Any, **kwargs: Any) -> None: ...

    try:
        call.__signature__ = inspect.signature(cls)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        pass
    return call
