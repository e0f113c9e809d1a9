"""redact_text's quick check: text skipped by it is text that no pattern would change."""

import pytest

from shared.redact import MASK, could_hold_a_secret, redact_text

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln"


@pytest.mark.parametrize(
    "text",
    [
        f"token {JWT}",
        "Authorization: Bearer abc.def",
        "BASIC dXNlcjpwYXNz",
        "ba\u017fic dXNlcjpwYXNz",  # a long s: case-insensitive matching takes it for "s"
        "GET /x?password=hunter2",
        "postgresql://crm:pw@db/crm",
    ],
)
def test_text_with_a_secret_is_looked_at_and_masked(text):
    assert could_hold_a_secret(text)
    assert MASK in redact_text(text)


@pytest.mark.parametrize(
    "text",
    ["request_finished", "GET /api/v1/contacts", "contact 0190a1b2 created", "a basin, a bear"],
)
def test_plain_text_is_skipped_and_comes_back_unchanged(text):
    assert not could_hold_a_secret(text)
    assert redact_text(text) is text
