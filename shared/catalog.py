"""Event catalogs: each service lists what it publishes; docs and schemas are made from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


class _WithExtra:
    """A record seen with some extra attributes (actor, from/to stage, breach) on top."""

    def __init__(self, record: Any, extra: dict[str, Any]) -> None:
        self._record, self._extra = record, extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        return getattr(self._record, name)


def event_data(
    catalog: dict[str, EventSpec],
    event_type: str,
    record: Any,
    *,
    actor_id: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """An event's `data`: `record` (plus `extra`) dumped through its catalog schema."""
    spec = catalog.get(event_type)
    if spec is None:
        raise ValueError(f"'{event_type}' is not in this service's event catalog")
    changed = extra.pop("changed", None)
    data = spec.data().dump(_WithExtra(record, {**extra, "actor_id": actor_id}))
    if spec.changed:
        data["changed"] = changed or []
    return data
