"""Billing's pure rules: rounding, ageing buckets, file names, payment terms."""

from datetime import date
from decimal import Decimal

import pytest

from services.billing.domain.numbering import format_number
from services.billing.domain.pdf import file_name
from services.billing.domain.reports import bucket_of
from services.billing.domain.terms import due_date, terms_days
from services.billing.domain.totals import invoice_total, line_total
from services.billing.models import Invoice
from shared.errors import ValidationFailed


def test_totals_are_exact_for_awkward_decimals():
    assert invoice_total([(3, Decimal("199.99")), (100, Decimal("2.50"))]) == Decimal("849.97")
    assert invoice_total([(1, Decimal("0.10"))] * 3) == Decimal("0.30")  # never 0.30000000000000004


def test_each_line_is_rounded_half_up_before_summing():
    assert line_total(1, Decimal("0.005")) == Decimal("0.01")
    assert invoice_total([(1, Decimal("0.005")), (1, Decimal("0.005"))]) == Decimal("0.02")


def test_a_total_too_large_to_store_is_refused():
    with pytest.raises(ValidationFailed):
        invoice_total([(1_000_000, Decimal("999999999.99"))])


@pytest.mark.parametrize(
    "days, bucket",
    [
        (-5, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (400, "90+"),
    ],
)
def test_ageing_buckets_count_days_past_due(days, bucket):
    assert bucket_of(days) == bucket


def test_numbers_have_the_year_and_six_digits():
    assert format_number(2026, 42) == "INV-2026-000042"


def test_pdf_file_names_are_safe():
    assert file_name(Invoice(id="abc", number="INV-2026-000001")) == "INV-2026-000001.pdf"
    assert file_name(Invoice(id='x"; evil', number=None)) == "invoice-x___evil.pdf"


def test_payment_terms_default_to_net_30_and_refuse_nonsense():
    assert terms_days({}) == 30
    assert terms_days({"CRM_PAYMENT_TERMS_DAYS": "14"}) == 14
    with pytest.raises(ValueError):
        terms_days({"CRM_PAYMENT_TERMS_DAYS": "-1"})
    assert due_date(date(2026, 1, 15), terms_days({})) == date(2026, 2, 14)
