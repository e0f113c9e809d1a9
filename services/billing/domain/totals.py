"""Invoice arithmetic: exact Decimal, two places, ROUND_HALF_UP per line, then summed."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from shared.api import MONEY_LIMIT
from shared.errors import ValidationFailed

CENT = Decimal("0.01")


def line_total(quantity: int, price: Decimal) -> Decimal:
    """quantity x price, rounded half up to the cent (exact today: prices have two places)."""
    return (Decimal(quantity) * price).quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_total(lines: Iterable[tuple[int, Decimal]]) -> Decimal:
    """The sum of the rounded line totals; a total no Numeric(14,2) can hold is a 422."""
    total = sum((line_total(q, p) for q, p in lines), Decimal("0.00")).quantize(CENT)
    if total >= MONEY_LIMIT:
        raise ValidationFailed({"items": ["The invoice total is too large."]})
    return total
