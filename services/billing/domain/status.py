"""The status flow (DESIGN §5): draft→sent, sent/overdue→paid, draft/sent→void, sent→overdue.

Any other move is a 409 that names the invoice's status.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.domain.invoices import ensure_can_work, get_invoice
from services.billing.domain.numbering import next_number
from services.billing.events import record_event
from services.billing.models import Invoice
from shared.auth import Identity
from shared.errors import Conflict
from shared.records import check_version

#: action → the statuses it starts from, the status it ends in.
MOVES = {
    "send": (("draft",), "sent"),
    "pay": (("sent", "overdue"), "paid"),
    "void": (("draft", "sent"), "void"),
    "mark overdue": (("sent",), "overdue"),
}


def _move(invoice: Invoice, action: str) -> None:
    sources, target = MOVES[action]
    if invoice.status not in sources:
        allowed = " or ".join(sources)
        raise Conflict(
            f"The invoice is {invoice.status}; only a {allowed} invoice can {action}.",
            current_status=invoice.status,
        )
    invoice.status = target


def _workable(session: Session, actor: Identity, invoice_id: str, expected_version: int | None):
    invoice = get_invoice(session=session, invoice_id=invoice_id)
    ensure_can_work(actor, invoice.owner_id)
    check_version(invoice, expected_version)
    return invoice


def send_invoice(
    *,
    session: Session,
    actor: Identity,
    invoice_id: str,
    now: datetime,
    expected_version: int | None = None,
) -> Invoice:
    """Send a draft: it takes the next number of the year and `sent_at`."""
    invoice = _workable(session, actor, invoice_id, expected_version)
    _move(invoice, "send")
    if not invoice.items:
        raise Conflict("An invoice without items cannot be sent.", current_status="draft")
    invoice.number = next_number(session, now.year)
    invoice.sent_at = now
    record_event(session, "invoice.sent", invoice, actor_id=actor.user_id)
    return invoice


def pay_invoice(
    *,
    session: Session,
    actor: Identity,
    invoice_id: str,
    payment_method: str,
    now: datetime,
    expected_version: int | None = None,
) -> Invoice:
    """Record the payment of a sent or overdue invoice."""
    invoice = _workable(session, actor, invoice_id, expected_version)
    _move(invoice, "pay")
    invoice.paid_at, invoice.payment_method = now, payment_method
    record_event(session, "invoice.paid", invoice, actor_id=actor.user_id)
    return invoice


def void_invoice(
    *,
    session: Session,
    actor: Identity,
    invoice_id: str,
    now: datetime,
    expected_version: int | None = None,
) -> Invoice:
    """Void a draft or a sent invoice (its number, if any, stays used)."""
    invoice = _workable(session, actor, invoice_id, expected_version)
    _move(invoice, "void")
    invoice.voided_at = now
    record_event(session, "invoice.voided", invoice, actor_id=actor.user_id)
    return invoice


def overdue_candidates(session: Session, today: date, limit: int) -> list[Invoice]:
    """Sent invoices past due, locked; rows another replica holds are skipped, not waited on."""
    stmt = (
        select(Invoice)
        .where(Invoice.status == "sent", Invoice.due_date < today)
        .order_by(Invoice.due_date, Invoice.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def mark_overdue(*, session: Session, today: date, limit: int = 100) -> list[str]:
    """Mark up to `limit` sent invoices past due overdue, each once, with invoice.overdue."""
    marked = []
    for invoice in overdue_candidates(session, today, limit):
        _move(invoice, "mark overdue")
        record_event(session, "invoice.overdue", invoice, actor_id=None)
        marked.append(invoice.id)
    return marked
