"""The published JSON Schemas of the events (docs/events/), for checking an event as it arrives.

`python -m shared.asyncapi` writes them from the catalogs. A process finds them in
`CRM_EVENT_SCHEMAS`, else in the checkout's docs/events (the image copies them there).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "events"
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _rfc3339(value) -> bool:
    """RFC 3339 date-time (jsonschema only checks it when rfc3339-validator is installed)."""
    if not isinstance(value, str):
        return True
    return "T" in value.upper() and datetime.fromisoformat(value).tzinfo is not None


def schema_dir() -> Path:
    return Path(os.environ.get("CRM_EVENT_SCHEMAS") or SCHEMAS)


def schema_path(event_type: str, folder: Path | None = None) -> Path:
    return (folder or schema_dir()) / f"{event_type}.schema.json"


@cache
def _validator(path: Path) -> jsonschema.Draft202012Validator:
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


def validator(event_type: str, folder: Path | None = None) -> jsonschema.Draft202012Validator:
    """The validator of one event type's published schema; FileNotFoundError if there is none."""
    return _validator(schema_path(event_type, folder))


def errors_of(body: dict, event_type: str | None = None, folder: Path | None = None) -> list[str]:
    """Every way an event body breaks the schema of its (or the given) type, as `path: message`."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(envelope)'}: {e.message}"
        for e in validator(event_type or body["type"], folder).iter_errors(body)
    ]


class PublishedSchemas:
    """The schemas of the event types one consumer handles, loaded and checked at start."""

    def __init__(self, event_types: Iterable[str], folder: Path | None = None) -> None:
        self.folder = folder or schema_dir()
        event_types = sorted(event_types)
        missing = [t for t in event_types if not schema_path(t, self.folder).is_file()]
        if missing:
            raise FileNotFoundError(
                f"no published schema in {self.folder} for {missing} "
                "(set CRM_EVENT_SCHEMAS, or run `python -m shared.asyncapi`)"
            )
        for event_type in event_types:
            validator(event_type, self.folder)

    def errors(self, body: dict) -> list[str]:
        """What is wrong with an event body, by its type's schema; [] when nothing is."""
        return errors_of(body, folder=self.folder)
