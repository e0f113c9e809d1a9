"""An invoice as a PDF (reportlab): seller, customer, number, dates, items, total, status."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy.orm import Session

from services.billing.domain.invoices import get_invoice
from services.billing.domain.parties import party_of
from services.billing.models import Invoice

#: The seller block's defaults; each is overridden by its CRM_SELLER_* variable.
SELLER_DEFAULTS = {
    "CRM_SELLER_NAME": "CRM Logistics Ltd.",
    "CRM_SELLER_ADDRESS": "1 Harbour Road, 20457 Hamburg, Germany",
    "CRM_SELLER_EMAIL": "billing@crm.local",
    "CRM_SELLER_TAX_ID": "DE000000000",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Seller:
    name: str
    address: str
    email: str
    tax_id: str

    @classmethod
    def from_settings(cls, extra: Mapping[str, str]) -> Seller:
        value = {k: extra.get(k) or default for k, default in SELLER_DEFAULTS.items()}
        return cls(
            value["CRM_SELLER_NAME"],
            value["CRM_SELLER_ADDRESS"],
            value["CRM_SELLER_EMAIL"],
            value["CRM_SELLER_TAX_ID"],
        )


def file_name(invoice: Invoice) -> str:
    """`INV-2026-000001.pdf`, or `invoice-<id>.pdf` for a draft; only safe characters."""
    stem = invoice.number or f"invoice-{invoice.id}"
    return _UNSAFE.sub("_", stem) + ".pdf"


def _lines(canvas: Canvas, x: float, y: float, lines: list[str], size: int = 10) -> float:
    canvas.setFont("Helvetica", size)
    for line in lines:
        canvas.drawString(x, y, line[:95])
        y -= size * 1.4
    return y


def render_invoice(*, session: Session, invoice_id: str, seller: Seller) -> tuple[bytes, str]:
    """The invoice's PDF and its download name."""
    invoice = get_invoice(session=session, invoice_id=invoice_id)
    company, contact = party_of(session, invoice.company_id, invoice.contact_id)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(invoice.number or "Draft invoice")
    _width, height = A4
    left, y = 20 * mm, height - 20 * mm
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(left, y, f"Invoice {invoice.number}" if invoice.number else "Draft invoice")
    y = _lines(
        canvas,
        left,
        y - 22,
        [seller.name, seller.address, seller.email, f"Tax id: {seller.tax_id}"],
    )
    customer = ["Bill to:"]
    if company is not None:
        address = ", ".join(
            filter(None, (company.street, company.postal_code, company.city, company.country))
        )
        customer += [company.name, *([address] if address else [])]
    elif invoice.company_id:
        customer.append(f"Company {invoice.company_id}")
    if contact is not None:
        customer.append("Attn: " + " ".join(filter(None, (contact.name, contact.email))))
    y = _lines(canvas, left, y - 12, customer)
    facts = [
        f"Status: {invoice.status}",
        f"Issue date: {invoice.issue_date.isoformat()}",
        f"Due date: {invoice.due_date.isoformat()}",
    ]
    if invoice.paid_at:
        facts.append(f"Paid: {invoice.paid_at.date().isoformat()} ({invoice.payment_method})")
    y = _lines(canvas, left, y - 12, facts)
    y -= 16
    columns = (left, left + 100 * mm, left + 120 * mm, left + 145 * mm)
    canvas.setFont("Helvetica-Bold", 10)
    for x, title in zip(columns, ("Item", "Qty", "Unit price", "Amount"), strict=True):
        canvas.drawString(x, y, title)
    for item in invoice.items:
        y -= 14
        if y < 30 * mm:
            canvas.showPage()
            y = height - 20 * mm
        canvas.setFont("Helvetica", 10)
        row = (item.description[:55], str(item.quantity), f"{item.price}", f"{item.line_total}")
        for x, value in zip(columns, row, strict=True):
            canvas.drawString(x, y, value)
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawString(columns[2], y - 24, "Total:")
    canvas.drawString(columns[3], y - 24, f"{invoice.total}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue(), file_name(invoice)
