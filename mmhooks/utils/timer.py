"""``Timer`` and ``check_time``: wall-clock durations, as ``mmengine.utils`` offers them."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["Timer", "TimerError", "check_time"]


class TimerError(Exception):
    """A reading of a timer that is not running."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Timer:
    """A stopwatch: seconds since start and since the last check; as a context manager it prints the duration.

    Args:
        start: Start now.
        print_tmpl: Format of the printed duration (``'{:.3f}'``).
    """

    def __init__(self, start: bool = True, print_tmpl: str | None = None) -> None:
        self._is_running = False
        self.print_tmpl = print_tmpl or "{:.3f}"
        self._t_start = self._t_last = 0.0
        if start:
            self.start()

    @property
    def is_running(self) -> bool:
        return self._is_running

    def __enter__(self) -> Timer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        print(self.print_tmpl.format(self.since_last_check()))  # noqa: T201 (the documented behaviour)
        self._is_running = False

    def start(self) -> None:
        """Start (a running timer keeps its start) and reset the last check."""
        if not self._is_running:
            self._t_start = time.time()
            self._is_running = True
        self._t_last = time.time()

    def since_start(self) -> float:
        """Seconds since :meth:`start`; also counts as a check."""
        if not self._is_running:
            raise TimerError("timer is not running")
        self._t_last = time.time()
        return self._t_last - self._t_start

    def since_last_check(self) -> float:
        """Seconds since the previous check (or start)."""
        if not self._is_running:
            raise TimerError("timer is not running")
        now = time.time()
        duration, self._t_last = now - self._t_last, now
        return duration


_timers: dict[Any, Timer] = {}


def check_time(timer_id: Any) -> float:
    """Seconds since the previous call with ``timer_id`` (0 on the first)."""
    if timer_id not in _timers:
        _timers[timer_id] = Timer()
        return 0
    return _timers[timer_id].since_last_check()
