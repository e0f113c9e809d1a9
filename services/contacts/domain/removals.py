"""What goes with a deleted record: its tags and its attachments (their files once committed)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.contacts.domain.attachments import remove_attachments
from services.contacts.domain.taggings import remove_taggings


def forget_records(*, session: Session, record_type: str, record_ids: list[str]) -> None:
    """Take every tag and attachment off records being deleted, in the deleting transaction."""
    remove_taggings(session=session, record_type=record_type, record_ids=record_ids)
    remove_attachments(session=session, record_type=record_type, record_ids=record_ids)
