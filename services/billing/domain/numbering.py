"""Invoice numbers: INV-<year>-<6 digits>, gapless and consecutive per year, race-free.

The year's counter row is locked (SELECT … FOR UPDATE) in the transaction of the send, so
concurrent sends queue on it and a rolled-back send gives its number back. Never MAX()+1.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.billing.models import InvoiceCounter


def format_number(year: int, sequence: int) -> str:
    return f"INV-{year}-{sequence:06d}"


def next_number(session: Session, year: int) -> str:
    """Take the next number of `year`; the counter stays locked until the transaction ends."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(InvoiceCounter)
        .values(year=year, last_number=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    counter = session.scalars(
        select(InvoiceCounter)
        .where(InvoiceCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    counter.last_number += 1
    session.flush()
    return format_number(year, counter.last_number)
