"""The HTTP ports never mistake a collection for a record."""

import pytest

from services.contacts.ports.records import HttpRecords
from services.contacts.ports.support import HttpSupport
from shared.testing.tokens import SignedCredentials


class NoCalls:
    def get(self, *args, **kwargs):
        raise AssertionError("no call should be made for a dot segment")


@pytest.mark.parametrize("record_id", ["", ".", ".."])
def test_a_dot_segment_names_no_record_and_is_never_asked_for(record_id):
    records = HttpRecords({"sales": "http://127.0.0.1:1"}, SignedCredentials("contacts"))
    records.http = NoCalls()
    assert records.exists("lead", record_id) is False
    support = HttpSupport("http://127.0.0.1:1", SignedCredentials("contacts"))
    support.http = NoCalls()
    assert support.case_exists(record_id) is False
