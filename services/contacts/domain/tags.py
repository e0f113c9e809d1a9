"""Tags: labels any record may carry; names are unique ignoring case."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.contacts.events import record_event
from services.contacts.models import Tag, Tagging
from shared.auth import Identity
from shared.errors import Conflict, Forbidden
from shared.pagination import Page, paginate_args
from shared.records import check_version, filtered, get_or_404

SORTABLE = ("created_at", "updated_at", "name")


def name_key(name: str) -> str:
    """The form two names are compared in: 'VIP', 'vip' and 'Vip' are one tag."""
    return name.strip().casefold()


def _ensure_name_free(session: Session, name: str, tag_id: str | None = None) -> None:
    stmt = select(Tag.id).where(Tag.name_key == name_key(name))
    if tag_id is not None:
        stmt = stmt.where(Tag.id != tag_id)
    existing = session.scalar(stmt)
    if existing is not None:
        raise Conflict(
            f"A tag named '{name}' exists (names ignore case).", existing_tag_id=existing
        )


def _flush(session: Session, name: str) -> None:
    """The unique index on name_key settles a race the check above cannot see."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A tag named '{name}' exists (names ignore case).") from exc


def with_counts(session: Session, tags: list[Tag]) -> list[Tag]:
    """Set each tag's usage_count (one query for the whole page)."""
    ids = [tag.id for tag in tags]
    counts = (
        dict(
            session.execute(
                select(Tagging.tag_id, func.count())
                .where(Tagging.tag_id.in_(ids))
                .group_by(Tagging.tag_id)
            ).all()
        )
        if ids
        else {}
    )
    for tag in tags:
        tag.usage_count = counts.get(tag.id, 0)  # type: ignore[attr-defined]
    return tags


def create_tag(*, session: Session, actor: Identity, data: dict[str, Any]) -> Tag:
    """Create a tag; a name that differs from another only in case is a 409."""
    _ensure_name_free(session, data["name"])
    tag = Tag(name=data["name"], name_key=name_key(data["name"]))
    session.add(tag)
    _flush(session, tag.name)
    with_counts(session, [tag])
    record_event(session, "tag.created", tag, actor_id=actor.user_id)
    return tag


def get_tag(*, session: Session, tag_id: str) -> Tag:
    """One tag with its usage count, or NotFound."""
    return with_counts(session, [get_or_404(session, Tag, tag_id, "tag")])[0]


def list_tags(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of tags with their usage counts; `q` searches names."""
    page = paginate_args(
        session, filtered(Tag, args, (), ("name",)), model=Tag, sortable=SORTABLE, args=args
    )
    with_counts(session, page.items)
    return page


def _ensure_manager(actor: Identity) -> None:
    if not actor.is_manager:
        raise Forbidden("Only a manager may rename or delete a tag.")


def rename_tag(
    *,
    session: Session,
    actor: Identity,
    tag_id: str,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> Tag:
    """Rename a tag (managers only); emits tag.updated when the name changed."""
    _ensure_manager(actor)
    tag = get_tag(session=session, tag_id=tag_id)
    check_version(tag, expected_version)
    if "name" in changes and changes["name"] != tag.name:
        _ensure_name_free(session, changes["name"], tag.id)
        tag.name, tag.name_key = changes["name"], name_key(changes["name"])
        _flush(session, tag.name)
        record_event(session, "tag.updated", tag, actor_id=actor.user_id, changed=["name"])
    return tag


def delete_tag(
    *, session: Session, actor: Identity, tag_id: str, expected_version: int | None = None
) -> None:
    """Delete a tag and take it off every record (managers only)."""
    _ensure_manager(actor)
    tag = get_tag(session=session, tag_id=tag_id)
    check_version(tag, expected_version)
    record_event(session, "tag.deleted", tag, actor_id=actor.user_id)
    session.execute(delete(Tagging).where(Tagging.tag_id == tag.id))
    session.delete(tag)
    session.flush()
