"""Event catalogs: each service lists what it publishes; docs and schemas are made from them."""

from __future__ import annotations

from dataclasses import dataclass

import marshmallow as ma


@dataclass(frozen=True)
class EventSpec:
    """One event type: the marshmallow schema of its `data` and what it means."""

    data: type[ma.Schema]
    description: str
    changed: bool = False  # data also carries `changed`: the names of the fields that changed


def with_actor(schema: type[ma.Schema]) -> type[ma.Schema]:
    """`schema` plus `actor_id`: the user whose request caused the event (null for jobs)."""
    name = schema.__name__.removesuffix("Schema") + "EventSchema"
    return type(name, (schema,), {"actor_id": ma.fields.String(allow_none=True)})
