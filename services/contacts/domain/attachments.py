"""Attachments: a file on one record of any service, its bytes in the attachment storage.

The file is stored before its row is written. If writing the row fails, the file is deleted
again; a removed attachment's file is deleted by the worker once the removal has committed
(`DiscardedFile`), so a committed row always has its file and no committed removal keeps one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from services.contacts.domain.files import clean_file_name, size_of, sniff_mime_type
from services.contacts.domain.records import (
    check_record,
    ensure_may_change,
    ensure_may_change_existing,
)
from services.contacts.events import record_event
from services.contacts.models import Attachment, DiscardedFile
from services.contacts.ports.records import RecordsPort
from services.contacts.storage import Storage
from shared.auth import Identity
from shared.errors import PayloadTooLarge, ValidationFailed
from shared.ids import new_id
from shared.pagination import Page, paginate_args
from shared.records import filtered, get_or_404

SORTABLE = ("created_at",)


def attach_file(
    *,
    session: Session,
    actor: Identity,
    data: dict[str, Any],
    records: RecordsPort,
    storage: Storage,
    max_bytes: int,
) -> Attachment:
    """Store an uploaded file on a record; the caller deletes `file_path` if the commit fails."""
    record_type, record_id = data["record_type"], data["record_id"]
    ensure_may_change(actor, check_record(session, record_type, record_id, records), "attachments")
    upload: FileStorage = data["file"]
    size = size_of(upload.stream)
    if size > max_bytes:
        raise PayloadTooLarge(f"The file is {size} bytes; at most {max_bytes} are accepted.")
    if size == 0:
        raise ValidationFailed({"file": ["The file is empty."]})
    attachment = Attachment(
        id=new_id(),
        file_name=clean_file_name(upload.filename),
        file_path=new_id(),  # a fresh storage key, never derived from the client's name
        mime_type=sniff_mime_type(upload.stream),
        record_type=record_type,
        record_id=record_id,
        uploaded_by=actor.user_id,
    )
    attachment.size = storage.save(attachment.file_path, upload.stream)
    try:
        session.add(attachment)
        session.flush()
        record_event(session, "attachment.added", attachment, actor_id=actor.user_id)
    except BaseException:
        storage.delete(attachment.file_path)
        raise
    return attachment


def get_attachment(*, session: Session, attachment_id: str) -> Attachment:
    """One attachment, or NotFound."""
    return get_or_404(session, Attachment, attachment_id, "attachment")


def list_attachments(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of attachments, e.g. a record's (record_type and record_id)."""
    stmt = filtered(Attachment, args, ("record_type", "record_id"), ())
    return paginate_args(session, stmt, model=Attachment, sortable=SORTABLE, args=args)


def remove_attachment(*, session: Session, actor: Identity, attachment_id: str) -> None:
    """Take a file off its record; the same people who may attach to it may remove it."""
    attachment = get_attachment(session=session, attachment_id=attachment_id)
    ensure_may_change_existing(
        session, actor, attachment.record_type, attachment.record_id, "attachments"
    )
    record_event(session, "attachment.removed", attachment, actor_id=actor.user_id)
    session.add(DiscardedFile(file_path=attachment.file_path))
    session.delete(attachment)
    session.flush()


def remove_attachments(*, session: Session, record_type: str, record_ids: list[str]) -> None:
    """Take every file off deleted records (in the deleting transaction)."""
    if not record_ids:
        return
    attachments = session.scalars(
        select(Attachment).where(
            Attachment.record_type == record_type, Attachment.record_id.in_(record_ids)
        )
    ).all()
    for attachment in attachments:
        session.add(DiscardedFile(file_path=attachment.file_path))
        session.delete(attachment)
    session.flush()


def sweep_discarded_files(*, session: Session, storage: Storage, limit: int = 100) -> int:
    """Delete up to `limit` discarded files from the storage, then their rows; how many.

    Rows are locked (SKIP LOCKED on PostgreSQL), so two workers never sweep the same file; a
    storage failure leaves the row for the next round.
    """
    rows = session.scalars(
        select(DiscardedFile)
        .order_by(DiscardedFile.discarded_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        storage.delete(row.file_path)
        session.delete(row)
    return len(rows)
