"""Invoices: drafts made from opportunity.won or by hand, read, listed; who may work them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.domain.terms import due_date
from services.billing.domain.totals import invoice_total
from services.billing.events import record_event
from services.billing.models import FROM_WON, MANUAL, Invoice, InvoiceItem
from services.billing.ports.sales import SalesPort
from shared.auth import ACCOUNT_MANAGER, SALES_MANAGER, Identity, ensure_can_change, require_role
from shared.errors import Conflict, ValidationFailed
from shared.pagination import Page, paginate_args
from shared.records import check_version, filtered, get_or_404

SORTABLE = ("created_at", "updated_at")
#: Who works invoices besides admins: sales managers (all of them), account managers (their own).
INVOICE_WORKERS = (SALES_MANAGER, ACCOUNT_MANAGER)
DRAFT = "draft"


def ensure_can_work(actor: Identity, owner_id: str | None) -> None:
    """Admins and sales managers work every invoice, account managers their own; others read."""
    require_role(actor, *INVOICE_WORKERS)
    ensure_can_change(actor, owner_id)


def refresh_total(invoice: Invoice) -> None:
    invoice.total = invoice_total((item.quantity, item.price) for item in invoice.items)


def get_invoice(*, session: Session, invoice_id: str) -> Invoice:
    """One invoice, or NotFound."""
    return get_or_404(session, Invoice, invoice_id, "invoice")


def list_invoices(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of invoices, filtered by status, opportunity, owner, company or number."""
    stmt = filtered(
        Invoice, args, ("status", "opportunity_id", "owner_id", "company_id", "number"), ()
    )
    return paginate_args(session, stmt, model=Invoice, sortable=SORTABLE, args=args)


def editable_draft(
    session: Session, actor: Identity, invoice_id: str, expected_version: int | None
) -> Invoice:
    """The invoice, if the caller may work it, it is still a draft and If-Match holds."""
    invoice = get_invoice(session=session, invoice_id=invoice_id)
    ensure_can_work(actor, invoice.owner_id)
    check_version(invoice, expected_version)
    if invoice.status != DRAFT:
        raise Conflict(f"The invoice is {invoice.status}; only a draft's items can change.")
    return invoice


def create_from_won(
    *, session: Session, data: dict[str, Any], today: date, terms_days: int
) -> Invoice | None:
    """The draft for a won opportunity, unless it has one already (then None)."""
    opportunity_id = data["id"]
    existing = session.scalar(
        select(Invoice.id).where(
            Invoice.opportunity_id == opportunity_id, Invoice.origin == FROM_WON
        )
    )
    if existing is not None:
        return None
    lines = data.get("line_items") or []
    items = [
        InvoiceItem(
            product_id=line.get("product_id"),
            description=(line.get("name") or line.get("sku") or "Item")[:300],
            quantity=int(line["quantity"]),
            price=Decimal(str(line["unit_price"])),
        )
        for line in lines
    ] or [
        InvoiceItem(
            product_id=None,
            description=(data.get("name") or "Deal")[:300],
            quantity=1,
            price=Decimal(str(data.get("deal_value") or "0.00")),
        )
    ]
    invoice = Invoice(
        opportunity_id=opportunity_id,
        origin=FROM_WON,
        owner_id=data["owner_id"],
        opportunity_owner_id=data["owner_id"],
        company_id=data.get("company_id"),
        contact_id=data.get("contact_id"),
        status=DRAFT,
        issue_date=today,
        due_date=due_date(today, terms_days),
        items=items,
    )
    refresh_total(invoice)
    session.add(invoice)
    record_event(session, "invoice.created", invoice, actor_id=None)
    return invoice


def check_product(sales: SalesPort, item: dict[str, Any], field: str) -> None:
    """A named product must exist in sales; it gives the item its name and list price."""
    product_id = item.get("product_id")
    if product_id is None:
        return
    product = sales.product(product_id)
    if product is None:
        raise ValidationFailed({field: [f"No product with id '{product_id}'."]})
    item.setdefault("description", str(product.get("name") or product_id)[:300])
    item.setdefault("price", Decimal(str(product["price"])))


def create_invoice(
    *,
    session: Session,
    actor: Identity,
    data: dict[str, Any],
    sales: SalesPort,
    today: date,
    terms_days: int,
) -> Invoice:
    """A manual draft for an existing opportunity the caller works, owned by the caller."""
    require_role(actor, *INVOICE_WORKERS)
    opportunity = sales.opportunity(data["opportunity_id"])
    if opportunity is None:
        raise ValidationFailed(
            {"opportunity_id": [f"No opportunity with id '{data['opportunity_id']}'."]}
        )
    ensure_can_work(actor, opportunity.get("owner_id"))
    for index, item in enumerate(data["items"]):
        check_product(sales, item, f"items.{index}.product_id")
    issue = today
    due = data.get("due_date") or due_date(issue, terms_days)
    if due < issue:
        raise ValidationFailed({"due_date": ["Must not be before the issue date (today)."]})
    invoice = Invoice(
        opportunity_id=data["opportunity_id"],
        origin=MANUAL,
        owner_id=actor.user_id,
        opportunity_owner_id=opportunity.get("owner_id"),
        company_id=opportunity.get("company_id"),
        contact_id=opportunity.get("contact_id"),
        status=DRAFT,
        issue_date=issue,
        due_date=due,
        notes=data.get("notes"),
        items=[InvoiceItem(**item) for item in data["items"]],
    )
    refresh_total(invoice)
    session.add(invoice)
    record_event(session, "invoice.created", invoice, actor_id=actor.user_id)
    return invoice
