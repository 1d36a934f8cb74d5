"""``BaseModule``: an ``nn.Module`` whose weights are set by its ``init_cfg`` when ``init_weights`` runs.

``init_weights`` initialises the module with its own ``init_cfg``, then each
child that has ``init_weights`` and has not run it yet (so a child's own
``init_cfg`` wins over its parent's), then loads ``Pretrained`` weights last.
The top module records which initialiser last changed each parameter and
writes that table to the current :class:`~mmhooks.logging.MMLogger`'s log file
(or logs it when there is none), as MMEngine does.
"""

from __future__ import annotations

import copy
import logging
from abc import ABCMeta
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from torch import nn

from mmhooks.dist import get_rank
from mmhooks.model.weight_init import InitCfgTypeError, PretrainedInit, initialize, update_init_info
from mmhooks.model.wrappers import is_model_wrapper

__all__ = ["BaseModule", "ModuleDict", "ModuleList", "Sequential"]

InitCfg = Mapping[str, Any] | Sequence[Mapping[str, Any]]


def _is_pretrained(cfg: Mapping[str, Any]) -> bool:
    kind = cfg.get("type")
    return kind == "Pretrained" or (isinstance(kind, type) and issubclass(kind, PretrainedInit))


class BaseModule(nn.Module, metaclass=ABCMeta):
    """A module initialised by ``init_cfg`` (MMEngine's ``BaseModule``).

    Args:
        init_cfg: One initialiser config or a list of them (see
            :func:`~mmhooks.model.initialize`); copied, so a shared config is never changed.

    Example:
        >>> class Head(BaseModule):
        ...     def __init__(self):
        ...         super().__init__(init_cfg=dict(type="Constant", val=0.5, layer="Linear"))
        ...         self.fc = nn.Linear(2, 1)
        >>> head = Head()
        >>> head.init_weights()
        >>> head.fc.weight.tolist(), head.is_init
        ([[0.5, 0.5]], True)
    """

    def __init__(self, init_cfg: InitCfg | None = None) -> None:
        super().__init__()
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def is_init(self) -> bool:
        """Whether :meth:`init_weights` has run (a parent then skips this module)."""
        return self._is_init

    @is_init.setter
    def is_init(self, value: bool) -> None:
        self._is_init = value

    def init_weights(self) -> None:
        """Apply ``init_cfg``, then the children's ``init_weights``, then ``Pretrained``.

        A second call does nothing but warn. Called on the top module (the
        Runner does so before training), it also logs which initialiser last
        changed each parameter.
        """
        top_level = not hasattr(self, "_params_init_info")
        if top_level:
            self._start_init_info()
        try:
            self._init_once()
        finally:
            if top_level:
                try:
                    if get_rank() == 0:
                        self._dump_init_info()
                finally:
                    for module in self.modules():
                        module.__dict__.pop("_params_init_info", None)

    def _start_init_info(self) -> None:
        """Give every submodule the same table: parameter -> what last initialised it, and its mean then."""
        records: defaultdict[nn.Parameter, dict[str, Any]] = defaultdict(dict)
        for _, param in self.named_parameters():
            records[param]["init_info"] = (
                f"The value is the same before and after calling `init_weights` of {type(self).__name__} "
            )
            records[param]["tmp_mean_value"] = param.data.mean().cpu()
        for module in self.modules():
            module._params_init_info = records  # type: ignore[assignment]  # a plain attribute, not a submodule

    def _init_once(self) -> None:
        from mmhooks.logging import print_log

        name = type(self).__name__
        if self._is_init:
            print_log(f"init_weights of {name} has been called more than once.", logger="current",
                      level=logging.WARNING)
            return
        pretrained: list[Mapping[str, Any]] = []
        if self.init_cfg:
            print_log(f"initialize {name} with init_cfg {self.init_cfg}", logger="current", level=logging.DEBUG)
            cfgs = [self.init_cfg] if isinstance(self.init_cfg, Mapping) else list(self.init_cfg)
            for index, cfg in enumerate(cfgs):
                if not isinstance(cfg, Mapping):
                    raise InitCfgTypeError(f"init_cfg[{index}]", cfg, "a dict with a 'type'",
                                           "write each entry as dict(type='Kaiming', layer='Conv2d').", name)
            pretrained = [cfg for cfg in cfgs if _is_pretrained(cfg)]
            initialize(self, [cfg for cfg in cfgs if not _is_pretrained(cfg)])
        for child in self.children():
            if is_model_wrapper(child) and not hasattr(child, "init_weights"):
                child = cast(nn.Module, child.module)
            if hasattr(child, "init_weights") and not getattr(child, "is_init", False):
                cast(Any, child).init_weights()  # checked by hasattr above
                update_init_info(child, init_info=f"Initialized by user-defined `init_weights` in {type(child).__name__} ")
        if pretrained:
            initialize(self, pretrained)
        self._is_init = True

    def _dump_init_info(self) -> None:
        """Write the table to each log file of the current MMLogger; log it when the logger has no file."""
        from mmhooks.logging import MMLogger

        records = cast("dict[nn.Parameter, dict[str, Any]]", self._params_init_info)
        lines = [f"\n{name} - {param.shape}: \n{records[param]['init_info']} \n" for name, param in self.named_parameters()]
        logger = MMLogger.get_current_instance()
        files = [handler for handler in logger.handlers if isinstance(handler, logging.FileHandler)]
        for handler in files:  # straight to the file: a table, not log records
            if handler.stream is None:  # opened lazily (delay=True)
                handler.stream = handler._open()
            handler.stream.write("Name of parameter - Initialization information\n")
            for line in lines:
                handler.stream.write(line)
            handler.stream.flush()
        if not files:
            for line in lines:
                logger.info(f"{line} ")

    def __repr__(self) -> str:
        text = super().__repr__()
        return f"{text}\ninit_cfg={self.init_cfg}" if self.init_cfg else text


class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` with its own ``init_cfg``."""

    def __init__(self, *args: nn.Module, init_cfg: InitCfg | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *args)


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` with its own ``init_cfg``."""

    def __init__(self, modules: Iterable[nn.Module] | None = None, init_cfg: InitCfg | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class ModuleDict(BaseModule, nn.ModuleDict):
    """``nn.ModuleDict`` with its own ``init_cfg``."""

    def __init__(self, modules: Mapping[str, nn.Module] | None = None, init_cfg: InitCfg | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)
