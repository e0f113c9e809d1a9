"""Structured JSON logs carrying the request id and the correlation id."""

from __future__ import annotations

import logging
import os
import sys
from contextvars import ContextVar

import structlog

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


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout, one per event, with the service name and context ids."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper(), force=True)
    # JSON for machines; LOG_FORMAT=console for a person watching `make run` in a terminal.
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if os.environ.get("LOG_FORMAT") == "console"
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    for noisy in ("pika", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_ids,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
