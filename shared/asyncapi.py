"""Event docs made from the catalogs: docs/events/<type>.schema.json and docs/asyncapi.yaml."""

from __future__ import annotations

import argparse
import importlib.util
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

import marshmallow as ma
import yaml
from apispec import APISpec
from apispec.ext.marshmallow import OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_instance

import services
from shared.catalog import EventSpec
from shared.events import EXCHANGE

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCHEMA_DIR = "events"
ASYNCAPI = "asyncapi.yaml"
CONTENT_TYPE = "application/cloudevents+json"
DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
REQUEST_ONLY = {"readOnly", "writeOnly", "default"}
NUMBER_ONLY = {"format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
CHANGED = {"type": "array", "items": {"type": "string"}, "description": "The fields that changed."}
OPTIONAL_ATTRIBUTES = {"correlationid", "causationid", "traceparent", "tracestate"}
TRACEPARENT = {
    "type": "string",
    "pattern": r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$",
    "description": "W3C traceparent of the span the event was made in.",
}
TRACESTATE = {"type": "string", "description": "W3C tracestate that goes with `traceparent`."}


class PayloadConverter(OpenAPIConverter):
    """apispec's marshmallow converter, adjusted to describe what `Schema.dump` emits."""

    def __init__(self) -> None:
        spec = APISpec("CRM events", "1", "3.1.0")  # only consulted for $refs, never made here
        super().__init__(openapi_version="3.1.0", schema_name_resolver=lambda _s: None, spec=spec)

    def schema2jsonschema(self, schema) -> dict[str, Any]:
        """Dumped fields only, every one always present; unknown ones allowed (payloads grow)."""
        fields = resolve_schema_instance(schema).dump_fields
        properties = {f.data_key or name: self.field2property(f) for name, f in fields.items()}
        return {
            "type": "object",
            "properties": properties,
            "required": sorted(properties),
            "additionalProperties": True,
        }

    def field2property(self, field: ma.fields.Field) -> dict[str, Any]:
        """A field's schema minus request-only keywords; `as_string` numbers stay strings."""
        prop = {k: v for k, v in super().field2property(field).items() if k not in REQUEST_ONLY}
        if isinstance(field, ma.fields.Number) and field.as_string:  # Money: "1250000.50"
            prop = {k: v for k, v in prop.items() if k not in NUMBER_ONLY}
            prop.update(type=["string", "null"] if field.allow_none else "string", pattern=DECIMAL)
        return prop


def catalogs() -> dict[str, tuple[str, EventSpec]]:
    """Every `services.<name>.events.CATALOG`: event type -> (CloudEvents source, spec)."""
    found: dict[str, tuple[str, EventSpec]] = {}
    for package in sorted(m.name for m in pkgutil.iter_modules(services.__path__) if m.ispkg):
        name = f"services.{package}.events"
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        source = getattr(getattr(module, "outbox", None), "source", f"/crm/{package}")
        for event_type, spec in getattr(module, "CATALOG", {}).items():
            if event_type in found:
                raise ValueError(f"event type '{event_type}' is declared by two services")
            found[event_type] = (source, spec)
    return dict(sorted(found.items()))


def data_schema(spec: EventSpec) -> dict[str, Any]:
    """The JSON Schema of an event's `data`: the dumped record (+ `changed`)."""
    schema = PayloadConverter().schema2jsonschema(spec.data)
    if spec.changed:
        schema["properties"]["changed"] = CHANGED
        schema["required"] = sorted([*schema["required"], "changed"])
    return schema


def event_schema(event_type: str, source: str, spec: EventSpec) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the whole CloudEvent, structured JSON mode."""
    text = {"type": "string", "minLength": 1}
    attributes = {
        "specversion": {"const": "1.0"},
        "id": {**text, "description": "Unique event id; the same on every re-send."},
        "source": {"const": source},
        "type": {"const": event_type, "description": "Also the AMQP routing key."},
        "time": {"type": "string", "format": "date-time"},
        "subject": {**text, "description": "Id of the record the event is about."},
        "datacontenttype": {"const": "application/json"},
        "correlationid": {**text, "description": "X-Request-ID of the originating request."},
        "causationid": {**text, "description": "Id of the event that caused this one."},
        "traceparent": TRACEPARENT,
        "tracestate": TRACESTATE,
        "data": data_schema(spec),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event_type,
        "description": spec.description,
        "type": "object",
        "properties": attributes,
        "required": sorted(attributes.keys() - OPTIONAL_ATTRIBUTES),
        "additionalProperties": True,
    }


def _amqp(binding: dict[str, Any]) -> dict[str, Any]:
    """An AsyncAPI AMQP 0-9-1 binding (bindings version 0.2.0)."""
    return {"amqp": {**binding, "bindingVersion": "0.2.0"}}


def channel(event_type: str, spec: EventSpec) -> dict[str, Any]:
    """One AsyncAPI channel: the routing key on the topic exchange, and its message."""
    message = {
        "name": event_type,
        "title": event_type,
        "summary": spec.description,
        "contentType": CONTENT_TYPE,
        "correlationId": {"location": "$message.payload#/correlationid"},
        "headers": {
            "type": "object",
            "properties": {"traceparent": {**TRACEPARENT}, "tracestate": {**TRACESTATE}},
        },
        "payload": {"$ref": f"{SCHEMA_DIR}/{event_type}.schema.json"},
        "bindings": _amqp({"messageType": event_type}),
    }
    exchange = {"name": EXCHANGE, "type": "topic", "durable": True, "autoDelete": False}
    return {
        "description": f"Routing key `{event_type}` on the `{EXCHANGE}` topic exchange.",
        "bindings": _amqp({"is": "routingKey", "exchange": exchange}),
        "subscribe": {
            "summary": spec.description,
            "bindings": _amqp({"deliveryMode": 2, "mandatory": True}),
            "message": message,
        },
    }


def asyncapi(events: dict[str, tuple[str, EventSpec]]) -> dict[str, Any]:
    """The AsyncAPI 2.6.0 document listing every event type."""
    server = {
        "url": "{host}:{port}",
        "protocol": "amqp",
        "protocolVersion": "0.9.1",
        "description": "RabbitMQ; events are published to the topic exchange crm.events.",
        "variables": {"host": {"default": "localhost"}, "port": {"default": "5672"}},
    }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "CRM events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 (structured JSON) from the CRM; see docs/events.md.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {"rabbitmq": server},
        "channels": {t: channel(t, spec) for t, (_source, spec) in events.items()},
    }


def render() -> dict[str, str]:
    """Every generated file, path relative to docs/ -> text."""
    events = catalogs()
    files = {}
    for name, (source, spec) in events.items():
        schema = event_schema(name, source, spec)
        files[f"{SCHEMA_DIR}/{name}.schema.json"] = (
            json.dumps(schema, indent=2, sort_keys=True) + "\n"
        )
    files[ASYNCAPI] = yaml.safe_dump(asyncapi(events), sort_keys=False, width=100)
    return files


def on_disk() -> dict[str, str]:
    """The generated files as they are in docs/ now."""
    paths = [*(DOCS / SCHEMA_DIR).glob("*.schema.json"), DOCS / ASYNCAPI]
    return {p.relative_to(DOCS).as_posix(): p.read_text() for p in paths if p.exists()}


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """What differs between generated and on-disk files, one line each."""
    lines = []
    for p in sorted(expected.keys() | actual.keys()):
        if expected.get(p) != actual.get(p):
            state = "missing" if p not in actual else "extra" if p not in expected else "stale"
            lines.append(f"{state}: docs/{p}")
    return lines


def write(files: dict[str, str]) -> None:
    """Write the generated files and remove schemas of event types no longer in a catalog."""
    for extra in on_disk().keys() - files.keys():
        (DOCS / extra).unlink()
    for path, text in files.items():
        (DOCS / path).parent.mkdir(parents=True, exist_ok=True)
        (DOCS / path).write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Regenerate the event docs, or with --check report whether they are up to date."""
    parser = argparse.ArgumentParser(prog="python -m shared.asyncapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/ is out of date")
    args = parser.parse_args(argv)
    files = render()
    if not args.check:
        write(files)
        print(f"wrote {len(files)} files under docs/")
        return 0
    problems = differences(files, on_disk())
    if problems:
        print("event docs are out of date; run `python -m shared.asyncapi`:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in problems), file=sys.stderr)
        return 1
    print(f"event docs are up to date ({len(files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
