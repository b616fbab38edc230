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


class _StderrHandler(logging.Handler):
    """Standard-library records (aiokafka, uvicorn, asyncpg warnings) rendered like our own
    lines, on whatever `sys.stderr` is at that moment."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


_CHATTY_LIBRARIES = ("httpx", "httpcore", "asyncio", "alembic.runtime.plugins")
"""Libraries whose INFO lines repeat what our own lines say (every outbound request) or
say nothing to an operator (Alembic listing its plugins before every migration)."""


def _route_standard_logging(renderer: structlog.types.Processor, level: int) -> None:
    """Libraries log through `logging`; without this their lines bypass the JSON format
    (a plain-text warning in a JSON log breaks every log shipper's parser)."""
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in _CHATTY_LIBRARIES:
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))


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
    _route_standard_logging(renderer, numeric_level)
