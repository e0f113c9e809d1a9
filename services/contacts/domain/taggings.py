"""Taggings: a tag on one record of any service, checked against the record's owner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.contacts.domain.records import (
    check_record,
    ensure_may_change,
    ensure_may_change_existing,
)
from services.contacts.events import record_event
from services.contacts.models import Tag, Tagging
from services.contacts.ports.records import RecordsPort
from shared.auth import Identity
from shared.errors import ValidationFailed
from shared.pagination import Page, paginate_args
from shared.records import filtered, get_or_404

SORTABLE = ("created_at",)


def _existing(session: Session, data: dict[str, Any]) -> Tagging | None:
    return session.scalar(
        select(Tagging).where(
            Tagging.tag_id == data["tag_id"],
            Tagging.record_type == data["record_type"],
            Tagging.record_id == data["record_id"],
        )
    )


def tag_record(
    *, session: Session, actor: Identity, data: dict[str, Any], records: RecordsPort
) -> tuple[Tagging, bool]:
    """Put a tag on a record; return the tagging and whether it is new (a repeat is a no-op)."""
    if session.get(Tag, data["tag_id"]) is None:
        raise ValidationFailed({"tag_id": [f"No tag with id '{data['tag_id']}'."]})
    owner = check_record(session, data["record_type"], data["record_id"], records)
    ensure_may_change(actor, owner, "tags")
    existing = _existing(session, data)
    if existing is not None:
        return existing, False
    tagging = Tagging(**data)
    try:
        with session.begin_nested():
            session.add(tagging)
            session.flush()
    except IntegrityError:  # the same tagging made at the same moment by another request
        raced = _existing(session, data)
        if raced is None:  # not a duplicate after all (the tag was deleted meanwhile)
            raise ValidationFailed({"tag_id": [f"No tag with id '{data['tag_id']}'."]}) from None
        return raced, False
    record_event(session, "record.tagged", tagging, actor_id=actor.user_id)
    return tagging, True


def get_tagging(*, session: Session, tagging_id: str) -> Tagging:
    """One tagging, or NotFound."""
    return get_or_404(session, Tagging, tagging_id, "tagging")


def list_taggings(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of taggings: a record's tags, or a tag's records (optionally of one type)."""
    stmt = filtered(Tagging, args, ("tag_id", "record_type", "record_id"), ())
    return paginate_args(session, stmt, model=Tagging, sortable=SORTABLE, args=args)


def untag_record(*, session: Session, actor: Identity, tagging_id: str) -> None:
    """Take a tag off a record; the same people who may tag it may untag it."""
    tagging = get_tagging(session=session, tagging_id=tagging_id)
    ensure_may_change_existing(session, actor, tagging.record_type, tagging.record_id, "tags")
    record_event(session, "record.untagged", tagging, actor_id=actor.user_id)
    session.delete(tagging)
    session.flush()


def remove_taggings(*, session: Session, record_type: str, record_ids: list[str]) -> None:
    """Take every tag off deleted records (in the deleting transaction)."""
    if record_ids:
        session.execute(
            delete(Tagging).where(
                Tagging.record_type == record_type, Tagging.record_id.in_(record_ids)
            )
        )
