"""CloudEvents 1.0 envelopes (structured JSON mode) for everything on `crm.events`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared import jsonio
from shared.db import utcnow
from shared.ids import new_id

EXCHANGE = "crm.events"
_FORMAT = JSONFormat()


class InvalidEvent(ValueError):
    """A message that is not a CloudEvent we can read: never worth a retry."""


@dataclass(frozen=True)
class Event:
    """An event as a subscriber sees it."""

    id: str
    type: str
    source: str
    subject: str | None
    time: datetime | None
    data: dict[str, Any]
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None


def envelope(
    *,
    event_type: str,
    source: str,
    subject: str | None,
    data: dict[str, Any],
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
    trace_context: Mapping[str, str] | None = None,
) -> bytes:
    """Serialize one event; money and dates in `data` become strings.

    `trace_context` holds the W3C `traceparent` (and `tracestate`) of the span the event was
    made in: the CloudEvents distributed-tracing extension.
    """
    attributes: dict[str, Any] = {
        "id": event_id or new_id(),
        "source": source,
        "type": event_type,
        "time": utcnow(),
        "datacontenttype": "application/json",
    }
    if subject:
        attributes["subject"] = subject
    if correlation_id:
        attributes["correlationid"] = correlation_id
    if causation_id:
        attributes["causationid"] = causation_id
    for name, value in (trace_context or {}).items():
        if name in ("traceparent", "tracestate") and value:
            attributes[name] = value
    plain = json.loads(jsonio.dumps(data))
    return _FORMAT.write(CloudEvent(attributes, plain))


def parse(body: bytes) -> Event:
    """Read and validate an envelope; raise InvalidEvent when it is not one."""
    try:
        event = _FORMAT.read(None, body)
    except (BaseCloudEventException, ValueError, TypeError, KeyError) as exc:
        raise InvalidEvent(f"not a CloudEvents 1.0 JSON envelope: {exc}") from exc
    data = event.get_data()
    if not isinstance(data, dict):
        raise InvalidEvent("event data must be a JSON object")
    attributes = event.get_attributes()
    return Event(
        id=event.get_id(),
        type=event.get_type(),
        source=event.get_source(),
        subject=event.get_subject(),
        time=event.get_time(),
        data=data,
        correlation_id=attributes.get("correlationid"),
        causation_id=attributes.get("causationid"),
        traceparent=attributes.get("traceparent"),
    )
