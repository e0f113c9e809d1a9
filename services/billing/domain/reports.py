"""GET /reports/receivables: outstanding (sent + overdue) totals by ageing bucket and company."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.models import Company, Invoice
from services.billing.schemas import BUCKETS

OUTSTANDING = ("sent", "overdue")
ZERO = Decimal("0.00")


def bucket_of(days_past_due: int) -> str:
    """`current` until the due date has passed, then 1-30, 31-60, 61-90, 90+ days past due."""
    if days_past_due <= 0:
        return "current"
    for upper, name in ((30, "1-30"), (60, "31-60"), (90, "61-90")):
        if days_past_due <= upper:
            return name
    return "90+"


def receivables(*, session: Session, args: dict[str, Any], today: date) -> dict[str, Any]:
    """Outstanding totals as of `today`: per bucket (all five, zeros too) and per company."""
    stmt = (
        select(Invoice.company_id, Company.name, Invoice.due_date, Invoice.total)
        .outerjoin(Company, Company.id == Invoice.company_id)
        .where(Invoice.status.in_(OUTSTANDING))
    )
    for name in ("owner_id", "company_id"):
        if args.get(name):
            stmt = stmt.where(getattr(Invoice, name) == args[name])
    buckets = {name: {"bucket": name, "count": 0, "total": ZERO} for name in BUCKETS}
    companies: dict[str | None, dict[str, Any]] = {}
    for company_id, company_name, due, total in session.execute(stmt):
        bucket = bucket_of((today - due).days)
        buckets[bucket]["count"] += 1
        buckets[bucket]["total"] += total
        row = companies.setdefault(
            company_id,
            {
                "company_id": company_id,
                "company_name": company_name,
                "count": 0,
                "total": ZERO,
                "buckets": defaultdict(lambda: ZERO),
            },
        )
        row["count"] += 1
        row["total"] += total
        row["buckets"][bucket] += total
    rows = sorted(companies.values(), key=lambda r: (-r["total"], r["company_id"] or ""))
    for row in rows:
        row["buckets"] = {name: row["buckets"][name] for name in BUCKETS}
    return {
        "as_of": today,
        "total_outstanding": sum((b["total"] for b in buckets.values()), ZERO),
        "count": sum(b["count"] for b in buckets.values()),
        "buckets": list(buckets.values()),
        "companies": rows,
    }
