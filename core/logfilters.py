"""Logging filters of the project (wired in config/settings.py LOGGING)."""

from __future__ import annotations

import logging
import time


class Throttle(logging.Filter):
    """Let one record through per `seconds` for the logger it is attached to, without the
    traceback: a Redis outage is one warning every half minute, not one per request."""

    def __init__(self, seconds: float = 30.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._last < self.seconds:
            return False
        self._last = now
        if record.exc_info and record.exc_info[1] is not None:
            cause = record.exc_info[1].__cause__ or record.exc_info[1]
            record.msg = f"cache unavailable ({type(cause).__name__}): serving without it"
            record.args = ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = None
        record.exc_text = None
        return True
