"""Human-readable case numbers (CS-000042): unique and race-free, never MAX()+1.

The number comes from one counter row that the creating transaction increments with
`UPDATE ... RETURNING`: the update locks the row (PostgreSQL row lock, SQLite's write lock)
until that transaction ends, so two creations never read the same value, and a rolled-back
creation gives its number back.
"""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.support.models import Counter

PREFIX = "CS-"
COUNTER = "case_number"


def format_number(value: int) -> str:
    return f"{PREFIX}{value:06d}"


def next_case_number(session: Session) -> str:
    """The next number, taken inside the caller's transaction (call it just before flushing)."""
    stmt = (
        update(Counter)
        .where(Counter.name == COUNTER)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    value = session.execute(stmt).scalar()
    if value is None:  # the migration seeds the row; recreate it if someone removed it
        try:
            with session.begin_nested():
                session.execute(insert(Counter).values(name=COUNTER, value=0))
        except IntegrityError:
            pass
        value = session.execute(stmt).scalar_one()
    return format_number(value)
