"""Conversion logic with fakes: an in-memory database and a fake contacts service."""

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.sales.contacts import FakeContacts
from services.sales.domain import conversion
from services.sales.models import Base, Lead, Opportunity
from shared.auth import Identity
from shared.errors import Conflict, UpstreamUnavailable

SDR = Identity("sdr-1", "sdr")


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


@pytest.fixture
def lead(session):
    lead = Lead(
        name="Ada Lovelace",
        email="ada@example.com",
        phone_number="+44 20 7946 0000",
        company_name="Engines Ltd",
        owner_id="sdr-1",
    )
    session.add(lead)
    session.flush()
    return lead


def test_the_contact_takes_the_lead_person_unless_overridden(lead):
    request = conversion.contacts_request(lead, {"contact": {"name": "A. Lovelace"}}, "sdr-1")
    assert request["contact"] == {
        "name": "A. Lovelace",
        "email": "ada@example.com",
        "phone_number": "+44 20 7946 0000",
    }
    assert (request["owner_id"], request["actor_id"]) == ("sdr-1", "sdr-1")
    assert "company" not in request and "company_id" not in request


def test_a_named_contact_or_company_is_passed_on_as_is(lead):
    request = conversion.contacts_request(
        lead, {"contact_id": "c-1", "company_id": "co-1"}, "sdr-1"
    )
    assert (request["contact_id"], request["company_id"]) == ("c-1", "co-1")
    assert "contact" not in request


def test_the_opportunity_is_named_after_the_company_or_the_person(lead):
    assert conversion.opportunity_fields(lead, {})["name"] == "Engines Ltd"
    described = conversion.opportunity_fields(lead, {"company": {"name": "Acme"}})
    assert described["name"] == "Acme"
    lead.company_name = None
    assert conversion.opportunity_fields(lead, {})["name"] == "Ada Lovelace"


def test_the_opportunity_comes_from_where_the_lead_came_from_unless_the_body_says(lead):
    assert conversion.opportunity_fields(lead, {})["source"] is None
    lead.lead_source = "referral"
    assert conversion.opportunity_fields(lead, {})["source"] == "referral"
    body = {"opportunity": {"source": "partner"}}
    assert conversion.opportunity_fields(lead, body)["source"] == "partner"


def test_a_conversion_links_everything_and_records_one_event(session, lead):
    contacts = FakeContacts()
    done = conversion.convert_lead(
        session=session, actor=SDR, lead_id=lead.id, body={}, contacts=contacts
    )
    assert lead.status == "converted"
    assert lead.converted_contact_id in contacts.contacts
    assert done.opportunity.contact_id == lead.converted_contact_id
    assert done.opportunity.lead_id == lead.id
    with pytest.raises(Conflict):
        conversion.convert_lead(
            session=session, actor=SDR, lead_id=lead.id, body={}, contacts=contacts
        )
    assert contacts.calls.count("convert") == 1


def test_contacts_down_leaves_the_lead_as_it_was(session, lead):
    contacts = FakeContacts()
    contacts.down = True
    with pytest.raises(UpstreamUnavailable):
        conversion.convert_lead(
            session=session, actor=SDR, lead_id=lead.id, body={}, contacts=contacts
        )
    assert lead.status == "new"
    assert session.query(Opportunity).count() == 0


def test_the_fake_contacts_service_reuses_a_conversion_and_compensates_it():
    contacts = FakeContacts()
    request = {"lead_id": "l-1", "owner_id": "u", "contact": {"name": "X"}}
    first = contacts.convert(request)
    assert contacts.convert(request) == first
    assert len(contacts.contacts) == 1
    contacts.cancel_conversion("l-1")
    assert contacts.contacts == {}
    assert contacts.convert(request)["contact_id"] != first["contact_id"]


def test_a_failure_after_the_contacts_call_cancels_it(session, lead, monkeypatch):
    contacts = FakeContacts()
    monkeypatch.setattr(conversion, "open_opportunity", _explode)
    with pytest.raises(RuntimeError):
        conversion.convert_lead(
            session=session, actor=SDR, lead_id=lead.id, body={}, contacts=contacts
        )
    assert contacts.contacts == {}
    assert contacts.calls[-1] == "cancel_conversion"


def _explode(*_args, **_kwargs):
    raise RuntimeError("boom")
