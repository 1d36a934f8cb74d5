"""``MMLogger`` and ``print_log``: the run's text log, in MMEngine's line format.

A line reads ``2024/01/31 12:00:00 - mmengine - INFO - <message>`` in the log
file and ``01/31 12:00:00 - mmengine - INFO - <message>`` on the console, so
tools and habits built on MMEngine logs keep working. The console goes to
stdout on every rank (errors only off rank zero); the file is written by rank
zero only, unless ``distributed=True`` asks for one file per rank.

mmhooks' own modules log with ``logging.getLogger(__name__)``. Once an
:class:`MMLogger` exists, :class:`ForwardToCurrentLogger` on the ``mmhooks``
logger hands their records (warnings, by Python's default level) to the
current MMLogger, so they reach the run's log file as MMEngine's
``print_log(msg, logger='current', level=logging.WARNING)`` lines do. They
still propagate to Python's root logger for applications that configure it.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from getpass import getuser
from typing import Any, Union

from mmhooks.dist import get_rank, get_world_size
from mmhooks.logging.manager import ManagerMixin

__all__ = ["ForwardToCurrentLogger", "MMFormatter", "MMLogger", "print_log"]

_ANSI_COLOURS = {"ERROR": 31, "WARNING": 33, "INFO": 37, "DEBUG": 32}
_DEBUG_CHECK = logging.DEBUG


def _level_prefix(level: str, colour: bool, blink: bool) -> str:
    """The level word, underlined and coloured (and blinking) for terminals, as MMEngine prints it."""
    if not colour:
        return level
    codes = "\033[4m" + ("\033[5m" if blink else "")
    return f"{codes}\033[{_ANSI_COLOURS[level]}m{level}\033[0m"


class MMFormatter(logging.Formatter):
    """MMEngine's line format; errors also name the file, function and line that logged them.

    Args:
        color: Colour the level word (for terminals only).
        blink: Blink INFO and DEBUG too (errors and warnings always blink when coloured).
        datefmt: ``time.strftime`` format of ``asctime``.
    """

    def __init__(self, color: bool = True, blink: bool = False, datefmt: str | None = None) -> None:
        super().__init__(datefmt=datefmt)
        self._by_level: dict[int, logging.Formatter] = {}
        for levelno, name, blinks in (
            (logging.ERROR, "ERROR", True),
            (logging.WARNING, "WARNING", True),
            (logging.INFO, "INFO", blink),
            (logging.DEBUG, "DEBUG", blink),
        ):
            prefix = f"%(asctime)s - %(name)s - {_level_prefix(name, color, blinks and color)} - "
            where = "%(pathname)s - %(funcName)s - %(lineno)d - " if levelno == logging.ERROR else ""
            self._by_level[levelno] = logging.Formatter(prefix + where + "%(message)s", datefmt=datefmt)

    def format(self, record: logging.LogRecord) -> str:
        formatter = self._by_level.get(record.levelno)
        if formatter is None:  # CRITICAL and custom levels: the nearest standard level below
            below = [level for level in self._by_level if level <= record.levelno] or [logging.DEBUG]
            formatter = self._by_level[max(below)]
        return formatter.format(record)


class FilterDuplicateWarning(logging.Filter):
    """Let each distinct warning message through once."""

    def __init__(self, name: str = "mmengine") -> None:
        super().__init__(name)
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        if record.msg in self.seen:
            return False
        self.seen.add(record.msg)
        return True


def _stream_is_terminal() -> bool:
    return hasattr(sys.stdout, "isatty") and sys.stdout.isatty() and "NO_COLOR" not in os.environ


class MMLogger(logging.Logger, ManagerMixin):
    """A logger reached by instance name (``MMLogger.get_instance(name, log_file=...)``).

    It lives outside ``logging``'s tree, so third-party logging configuration
    neither changes nor duplicates its lines.

    Args:
        name: Instance name for :meth:`get_instance`.
        logger_name: The ``%(name)s`` printed in each line.
        log_file: Path of the text log; ``None`` logs to the console only.
        log_level: Level of both handlers (a name or a number).
        file_mode: ``open`` mode of the log file.
        distributed: Write one file per rank (``<stem>_<user@host>_device<id>_rank<r><ext>``).
        file_handler_cfg: ``dict(type=<a logging.handlers FileHandler class name>, ...)`` instead of
            ``logging.FileHandler``.

    MMEngine parity:
        Colour follows whether stdout is a terminal (and ``NO_COLOR``); MUSA devices are not probed.
    """

    def __init__(
        self,
        name: str,
        logger_name: str = "mmengine",
        log_file: str | None = None,
        log_level: Union[int, str] = "INFO",
        file_mode: str = "w",
        distributed: bool = False,
        file_handler_cfg: dict[str, Any] | None = None,
    ) -> None:
        logging.Logger.__init__(self, logger_name)
        ManagerMixin.__init__(self, name)
        _install_forwarding()
        level = self._handler_level = _level_number(log_level)
        rank = _get_rank()
        console = logging.StreamHandler(stream=sys.stdout)
        console.setFormatter(MMFormatter(color=_stream_is_terminal(), datefmt="%m/%d %H:%M:%S"))
        console.setLevel(level if rank == 0 else logging.ERROR)
        console.addFilter(FilterDuplicateWarning(logger_name))
        self.handlers.append(console)
        self._log_file: str | None = None
        if log_file is not None:
            self.add_log_file(log_file, file_mode, distributed, file_handler_cfg)

    def add_log_file(self, log_file: str, file_mode: str = "w", distributed: bool = False,
                     file_handler_cfg: dict[str, Any] | None = None) -> str | None:
        """Also write to ``log_file`` (rank zero, or every rank with its own file when ``distributed``).

        Returns the file actually opened on this rank (``None`` where this rank writes none).
        """
        level, rank = self._handler_level, _get_rank()
        per_rank = (level <= _DEBUG_CHECK or distributed) and _get_world_size() > 1
        if per_rank:
            log_file = _rank_file_name(log_file, rank)
        if rank == 0 or per_rank:
            os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
            handler = _file_handler(log_file, file_mode, file_handler_cfg)
            handler.setFormatter(MMFormatter(color=False, datefmt="%Y/%m/%d %H:%M:%S"))
            handler.setLevel(level)
            handler.addFilter(FilterDuplicateWarning(self.name))
            self.handlers.append(handler)
            self._log_file = log_file
            return log_file
        return None

    @property
    def log_file(self) -> str | None:
        return self._log_file

    @classmethod
    def get_current_instance(cls) -> MMLogger:
        """The latest logger; one named ``"mmengine"`` is created when none exists (as in MMEngine)."""
        if not cls._instance_dict:
            cls.get_instance("mmengine")
        return super().get_current_instance()

    @classmethod
    def current_or_none(cls) -> MMLogger | None:
        """The latest logger, or ``None`` when none has been created (nothing is created)."""
        instances = cls._instance_dict
        return next(reversed(instances.values()), None) if instances else None

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 (logging's name)
        """Also False when no handler takes ``level``: a filtered-out line then costs no record.

        The levels live on the handlers (as in MMEngine), so without this every
        ``info`` call would build a record (caller lookup included) to drop it.
        """
        return super().isEnabledFor(level) and any(level >= handler.level for handler in self.handlers)

    def callHandlers(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        """Hand ``record`` to this logger's own handlers only (no parents, no lastResort)."""
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)

    def setLevel(self, level: Union[int, str]) -> None:  # noqa: N802 (logging's name)
        """Set the level and clear the level caches of every MMLogger (they are outside logging's manager)."""
        self.level = logging._checkLevel(level)  # type: ignore[attr-defined]
        for logger in list(MMLogger._instance_dict.values()):
            logger._cache.clear()


class ForwardToCurrentLogger(logging.Handler):
    """Hand records of the ``mmhooks`` logger tree to the current :class:`MMLogger` (the run's log).

    Lines are written as MMEngine's ``print_log(..., logger='current')`` writes
    them: under the MMLogger's name, with the message already formatted (so its
    duplicate-warning filter compares whole messages). Before any MMLogger
    exists, a record that no other handler takes goes to Python's last-resort
    handler (stderr), as it would without this handler.
    """

    def emit(self, record: logging.LogRecord) -> None:
        target = MMLogger.current_or_none()
        if target is None:
            self._last_resort(record)
            return
        if not target.isEnabledFor(record.levelno):
            return
        try:
            forwarded = logging.makeLogRecord(record.__dict__)
            forwarded.msg, forwarded.args, forwarded.name = record.getMessage(), None, target.name
        except Exception:  # a bad format string: report it the way logging does
            self.handleError(record)
            return
        target.handle(forwarded)

    def _last_resort(self, record: logging.LogRecord) -> None:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(handler is not self for handler in logger.handlers):
                return  # someone else shows it
            if not logger.propagate:
                break
            logger = logger.parent
        fallback = logging.lastResort
        if fallback is not None and record.levelno >= fallback.level:
            fallback.handle(record)


_FORWARDING_LOGGER = "mmhooks"


def _install_forwarding() -> None:
    """Attach one :class:`ForwardToCurrentLogger` to the ``mmhooks`` logger (idempotent)."""
    logger = logging.getLogger(_FORWARDING_LOGGER)
    if not any(type(handler).__name__ == ForwardToCurrentLogger.__name__ for handler in logger.handlers):
        logger.addHandler(ForwardToCurrentLogger())


def _level_number(level: Union[int, str]) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level)
    if not isinstance(number, int):
        raise ValueError(
            f"MMLogger.log_level: got {level!r}; expected one of ['CRITICAL', 'DEBUG', 'ERROR', 'INFO', 'WARNING'] "
            "or a number. Fix: use a standard level name."
        )
    return number


# Rank, device and host as the logger sees them; module-level (MMEngine's names) so tests can patch them.
def _get_rank() -> int:
    return get_rank()


def _get_world_size() -> int:
    return get_world_size()


def _get_device_id() -> int:
    """This process's physical device index: ``LOCAL_RANK`` mapped through ``CUDA_VISIBLE_DEVICES`` with CUDA.

    (MUSA devices are not probed.)
    """
    import torch

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not torch.cuda.is_available():
        return local_rank
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = visible.split(",") if visible else [str(i) for i in range(torch.cuda.device_count())]
    return int(devices[local_rank])


def _get_host_info() -> str:
    """``user@host``, or ``''`` where the user cannot be looked up (some containers)."""
    try:
        return f"{getuser()}@{socket.gethostname()}"
    except Exception:
        return ""


def _rank_file_name(log_file: str, rank: int) -> str:
    stem, suffix = os.path.splitext(os.path.basename(log_file))
    host = _get_host_info()
    host = f"{host}_" if host else ""
    return os.path.join(os.path.dirname(log_file), f"{stem}_{host}device{_get_device_id()}_rank{rank}{suffix}")


def _file_handler(log_file: str, file_mode: str, cfg: dict[str, Any] | None) -> logging.FileHandler:
    if cfg is None:
        return logging.FileHandler(log_file, file_mode)
    import logging.handlers as handlers

    kwargs = dict(cfg)
    type_name = kwargs.pop("type", None)
    handler_cls = getattr(handlers, str(type_name), None)
    if not (isinstance(handler_cls, type) and issubclass(handler_cls, logging.FileHandler)):
        choices = sorted(
            n for n in dir(handlers) if isinstance(getattr(handlers, n), type)
            and issubclass(getattr(handlers, n), logging.FileHandler)
        )
        raise ValueError(
            f"MMLogger.file_handler_cfg.type: got {type_name!r}; expected one of {choices}. "
            "Fix: name a FileHandler class of logging.handlers."
        )
    kwargs.setdefault("filename", log_file)
    return handler_cls(**kwargs)


def print_log(msg: object, logger: Union[logging.Logger, str, None] = None, level: int = logging.INFO) -> None:
    """Log ``msg`` through ``logger``.

    Args:
        msg: The message.
        logger: A ``logging.Logger``; ``"current"`` (the latest :class:`MMLogger`);
            ``"silent"`` (drop it); the instance name of an existing :class:`MMLogger`;
            or ``None`` to ``print`` it.
        level: Logging level (not used by ``print``).
    """
    if logger is None:
        print(msg)  # noqa: T201 (MMEngine's documented behaviour for logger=None)
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    elif logger == "silent":
        return
    elif logger == "current":
        MMLogger.get_current_instance().log(level, msg)
    elif isinstance(logger, str):
        if not MMLogger.check_instance_created(logger):
            raise ValueError(
                f"print_log.logger: got {logger!r}; expected 'current', 'silent' or an existing MMLogger name "
                f"({sorted(MMLogger._instance_dict)}). Fix: create it with MMLogger.get_instance({logger!r})."
            )
        MMLogger.get_instance(logger).log(level, msg)
    else:
        raise TypeError(
            f"print_log.logger: got {type(logger).__name__}; expected a logging.Logger, a str or None. "
            "Fix: pass one of those."
        )
