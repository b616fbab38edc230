"""structlog set-up: JSON lines in production, a readable console in `renewals dev`.

Request and event ids travel in contextvars, so every line inside a request carries them.
Nothing here ever logs headers: keys, secrets and signatures stay out of the logs.
"""

from __future__ import annotations

import logging
import sys

import structlog

from shared.config import LogFormat


class _StderrLogger:
    """Writes each line to whatever `sys.stderr` is at that moment, so replacing the
    stream (test capture, process supervisors) never leaves logging on a closed file."""

    def msg(self, message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    log = debug = info = warning = error = critical = exception = msg


def _stderr_logger(*_args: object) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(fmt: LogFormat, level: str = "INFO") -> None:
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == LogFormat.CONSOLE
        else structlog.processors.JSONRenderer()
    )
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
