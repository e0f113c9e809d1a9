"""Structured JSON logs carrying the request id and the correlation id.

Every logger goes through the root handler: structlog's own events and the standard
library's records (gunicorn, SQLAlchemy, pika, werkzeug, alembic) come out as one JSON
object per line with the same keys, and secrets are redacted on the way (shared/redact.py).
"""

from __future__ import annotations

import logging
import os
import sys
from contextvars import ContextVar

import structlog
from structlog.typing import Processor

from shared.redact import redact
from shared.tracing import add_trace_ids

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id_var: ContextVar[str | None] = ContextVar("causation_id", default=None)


def _add_ids(_logger, _name, event_dict):
    for key, var in (
        ("request_id", request_id_var),
        ("correlation_id", correlation_id_var),
        ("causation_id", causation_id_var),
    ):
        value = var.get()
        if value and key not in event_dict:
            event_dict[key] = value
    return event_dict


def _add_logger_name(logger, name, event_dict):
    record = event_dict.get("_record")
    if record is not None:
        event_dict.setdefault("logger", record.name)
    elif getattr(logger, "name", None):
        event_dict.setdefault("logger", logger.name)
    return event_dict


class _ServiceName:
    """The process' service on every line, from any thread (a new thread starts with
    empty context variables)."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __call__(self, _logger, _name, event_dict):
        event_dict.setdefault("service", self.service)
        return event_dict


def configure_logging(service: str, level: str = "INFO") -> logging.Formatter:
    """JSON lines on stdout, one per event, with the service name and context ids.

    structlog's events and the standard library's records go through the same processors
    (the list below, but its last step) and the same renderer, on the root handler.
    Returns its formatter, for handlers of their own (gunicorn's, shared/gunicorn_logging.py).
    """
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_ids,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _add_logger_name,
            _ServiceName(service),
            redact,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    json_lines = formatter(structlog.get_config()["processors"][:-1])
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(json_lines)
    logging.basicConfig(handlers=[handler], level=level.upper(), force=True)
    for noisy in ("pika", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return json_lines


def formatter(processors: list[Processor]) -> logging.Formatter:
    """Standard library records through `processors`, then rendered as JSON (or, with
    LOG_FORMAT=console, for a person)."""
    # JSON for machines; LOG_FORMAT=console for a person watching `make run` in a terminal.
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if os.environ.get("LOG_FORMAT") == "console"
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=processors,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
