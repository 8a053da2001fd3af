"""One structured JSON line per event. JSON escaping keeps attribute values from
forging extra log lines (a newline in ``ce-source`` stays ``\\n``)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_logger = logging.getLogger("binks.function")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure(level: int = logging.INFO) -> logging.Logger:
    """Send the event log to stderr once; called by the app factory, not on import."""
    if not _logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        _logger.addHandler(handler)
        _logger.setLevel(level)
        _logger.propagate = False
    return _logger


def log_line(**fields: Any) -> None:
    """Write one JSON object on one line; ``None`` fields are left out."""
    _logger.info(json.dumps({k: v for k, v in fields.items() if v is not None}, default=str))


def log_exception(message: str, **fields: Any) -> None:
    """Log an unexpected error with its traceback (the HTTP answer stays generic)."""
    _logger.exception(json.dumps({"msg": message, **fields}, default=str))
