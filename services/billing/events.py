"""The billing service's events, recorded in the outbox with the change they describe.

Every payload is the invoice as the API shows it (with its items), plus `actor_id`: the user
whose request caused the event, null when the worker did it (opportunity.won, the overdue job).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.billing.models import Invoice, OutboxEvent
from services.billing.schemas import InvoiceSchema
from shared.catalog import EventSpec, event_data, with_actor
from shared.outbox import Outbox

outbox = Outbox(OutboxEvent, "billing")
InvoiceEventSchema = with_actor(InvoiceSchema)

#: Every event this service publishes: its data schema and what it means to a subscriber.
CATALOG = {
    "invoice.created": EventSpec(
        InvoiceEventSchema,
        "A draft invoice was made, from opportunity.won (`origin` won) or by a user (manual).",
    ),
    "invoice.updated": EventSpec(
        InvoiceEventSchema,
        "A draft's items or fields changed; `changed` names them and `total` is the new sum.",
        changed=True,
    ),
    "invoice.sent": EventSpec(
        InvoiceEventSchema, "An invoice was sent: it has its `number` and `sent_at`."
    ),
    "invoice.paid": EventSpec(
        InvoiceEventSchema, "An invoice was paid (`paid_at`, `payment_method`)."
    ),
    "invoice.overdue": EventSpec(
        InvoiceEventSchema, "A sent invoice passed its `due_date` unpaid (once per invoice)."
    ),
    "invoice.voided": EventSpec(InvoiceEventSchema, "A draft or sent invoice was voided."),
}


def record_event(
    session: Session,
    event_type: str,
    invoice: Invoice,
    *,
    actor_id: str | None,
    changed: list[str] | None = None,
) -> str:
    """Put an event about `invoice` in the outbox, shaped by its catalog schema."""
    session.flush()
    data = event_data(CATALOG, event_type, invoice, actor_id=actor_id, changed=changed)
    return outbox.record(session, event_type, data, subject=invoice.id)
