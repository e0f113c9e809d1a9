"""A draft invoice's items; every change recomputes the total and emits invoice.updated."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from services.billing.domain.invoices import (
    check_product,
    editable_draft,
    get_invoice,
    refresh_total,
)
from services.billing.events import record_event
from services.billing.models import Invoice, InvoiceItem
from services.billing.ports.sales import SalesPort
from shared.auth import Identity
from shared.errors import NotFound
from shared.records import apply_changes


def _item(invoice: Invoice, item_id: str) -> InvoiceItem:
    for item in invoice.items:
        if item.id == item_id:
            return item
    raise NotFound(f"The invoice has no item with id '{item_id}'.")


def _follow_items(session: Session, actor: Identity, invoice: Invoice) -> None:
    refresh_total(invoice)
    flag_modified(invoice, "total")  # a new version (ETag) even when the sum is equal
    session.flush()
    record_event(
        session, "invoice.updated", invoice, actor_id=actor.user_id, changed=["items", "total"]
    )


def list_items(*, session: Session, invoice_id: str) -> list[InvoiceItem]:
    """The invoice's items in the order they were added."""
    return list(get_invoice(session=session, invoice_id=invoice_id).items)


def get_item(*, session: Session, invoice_id: str, item_id: str) -> InvoiceItem:
    """One item of an invoice, or NotFound."""
    return _item(get_invoice(session=session, invoice_id=invoice_id), item_id)


def add_item(
    *,
    session: Session,
    actor: Identity,
    invoice_id: str,
    data: dict[str, Any],
    sales: SalesPort,
    expected_version: int | None = None,
) -> InvoiceItem:
    """Add an item to a draft; a product_id must exist in sales (its price is the default)."""
    invoice = editable_draft(session, actor, invoice_id, expected_version)
    check_product(sales, data, "product_id")
    item = InvoiceItem(**data)
    invoice.items.append(item)
    session.flush()
    _follow_items(session, actor, invoice)
    return item


def update_item(
    *,
    session: Session,
    actor: Identity,
    invoice_id: str,
    item_id: str,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> InvoiceItem:
    """Change a draft item's description, quantity or unit price."""
    invoice = editable_draft(session, actor, invoice_id, expected_version)
    item = _item(invoice, item_id)
    if apply_changes(item, changes):
        session.flush()
        _follow_items(session, actor, invoice)
    return item


def remove_item(
    *,
    session: Session,
    actor: Identity,
    invoice_id: str,
    item_id: str,
    expected_version: int | None = None,
) -> None:
    """Remove an item from a draft."""
    invoice = editable_draft(session, actor, invoice_id, expected_version)
    invoice.items.remove(_item(invoice, item_id))
    session.flush()
    _follow_items(session, actor, invoice)
