"""Record helpers every service shares: lookups, optimistic locks, owners, filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from shared.auth import Identity, ensure_can_assign
from shared.errors import NotFound, PreconditionFailed, ValidationFailed
from shared.users import UserDirectory


def get_or_404(session: Session, model: type, record_id: str, label: str):
    record = session.get(model, record_id)
    if record is None:
        raise NotFound(f"No {label} with id '{record_id}'.")
    return record


def check_version(record, expected: int | None) -> None:
    if expected is not None and expected != record.version:
        raise PreconditionFailed(
            "The record was changed since you read it (If-Match does not match); reload it."
        )


def resolve_owner(actor: Identity, requested: str | None, users: UserDirectory) -> str:
    """The caller by default; someone else only when a manager asks and the user exists."""
    if requested is None or requested == actor.user_id:
        return actor.user_id
    ensure_can_assign(actor, requested)
    if not users.exists(requested):
        raise ValidationFailed({"owner_id": [f"No user with id '{requested}'."]})
    return requested


def apply_changes(record, changes: dict[str, Any]) -> list[str]:
    """Set the fields that differ; return their names."""
    changed = [name for name, value in changes.items() if getattr(record, name) != value]
    for name in changed:
        setattr(record, name, changes[name])
    return changed


def filtered(
    model: type, args: dict[str, Any], filters: tuple[str, ...], searchable: tuple[str, ...]
):
    """A select with equality filters and a case-insensitive `q` over `searchable`."""
    stmt: Select = select(model)
    for name in filters:
        if args.get(name) is not None:
            stmt = stmt.where(getattr(model, name) == args[name])
    if args.get("q"):
        pattern = f"%{args['q'].lower()}%"
        stmt = stmt.where(or_(*(func.lower(getattr(model, c)).like(pattern) for c in searchable)))
    return stmt
