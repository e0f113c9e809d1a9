"""Which event tells whom what: the rules as pure functions, no database, no broker."""

import re
from pathlib import Path

import pytest

from services.notifications.handlers import HANDLERS
from services.notifications.rules import MESSAGE_LENGTH, RULES, Draft, notifications_for

DOCS = Path(__file__).resolve().parents[4] / "docs/events.md"
LEAD = {
    "id": "lead-1",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone_number": "+44 20 7946 0000",
    "company_name": "Analytical Engines",
    "lead_source": "referral",
    "status": "new",
    "owner_id": "sdr-1",
    "campaign_id": None,
}
DEAL = {"id": "opp-1", "name": "Acme freight deal", "stage": "proposal", "deal_value": "12500.00"}
CASE = {"id": "case-1", "case_number": "CS-000042", "subject": "Pallet lost", "priority": "high"}
INVOICE = {"id": "inv-1", "number": "INV-2026-000123", "total": "1250.50", "opportunity_id": "o"}


def only(event_type, data, subject=None) -> Draft:
    drafts = notifications_for(event_type, data, subject)
    assert len(drafts) == 1, drafts
    return drafts[0]


def test_a_lead_assigned_by_a_manager_tells_the_new_owner_with_a_link_to_the_lead():
    data = {**LEAD, "assigned_by": "mgr-1", "previous_owner_id": "mgr-1", "actor_id": "mgr-1"}
    draft = only("lead.assigned", data)
    assert draft.user_id == "sdr-1" and draft.actor_id == "mgr-1"
    assert draft.link == "/leads/lead-1" and (draft.record_type, draft.record_id) == (
        "lead",
        "lead-1",
    )
    assert draft.message == "Lead assigned to you: Ada Lovelace (Analytical Engines)"


@pytest.mark.parametrize("actor_key", ["actor_id", "assigned_by"])
def test_nobody_is_told_about_their_own_action(actor_key):
    assert notifications_for("lead.assigned", {**LEAD, actor_key: "sdr-1"}) == []


def test_a_lead_created_for_someone_else_tells_the_owner_but_not_when_it_is_the_creator():
    assert only("lead.created", {**LEAD, "actor_id": "mgr-1"}).message.startswith("New lead for")
    assert notifications_for("lead.created", {**LEAD, "actor_id": "sdr-1"}) == []


def test_a_converted_lead_tells_its_owner_and_links_the_lead():
    data = {"lead_id": "lead-1", "contact_id": "c", "opportunity_id": "o", "owner_id": "sdr-1"}
    draft = only("lead.converted", {**data, "actor_id": "mgr-1"})
    assert draft.link == "/leads/lead-1"
    assert draft.message == "Your lead was converted into a contact and an opportunity"
    no_deal = only("lead.converted", {**data, "opportunity_id": None, "actor_id": "mgr-1"})
    assert no_deal.message == "Your lead was converted into a contact"


@pytest.mark.parametrize(
    "event_type, extra, message",
    [
        ("opportunity.won", {}, "Opportunity won: Acme freight deal (12500.00)"),
        (
            "opportunity.lost",
            {"lost_reason": "price"},
            "Opportunity lost: Acme freight deal (12500.00). Reason: price",
        ),
        ("opportunity.created", {}, "New opportunity for you: Acme freight deal (12500.00)"),
        (
            "opportunity.stage_changed",
            {"from_stage": "proposal", "to_stage": "negotiation"},
            "Your opportunity Acme freight deal (12500.00) moved from proposal to negotiation",
        ),
    ],
)
def test_opportunity_events_tell_the_owner(event_type, extra, message):
    draft = only(event_type, {**DEAL, **extra, "owner_id": "am-1", "actor_id": "mgr-1"})
    assert (draft.user_id, draft.link, draft.message) == ("am-1", "/opportunities/opp-1", message)
    assert (
        notifications_for(event_type, {**DEAL, **extra, "owner_id": "am-1", "actor_id": "am-1"})
        == []
    )


@pytest.mark.parametrize("to_stage", ["closed_won", "closed_lost"])
def test_closing_stage_changes_leave_the_telling_to_won_and_lost(to_stage):
    data = {**DEAL, "owner_id": "am-1", "actor_id": "mgr-1", "to_stage": to_stage}
    assert notifications_for("opportunity.stage_changed", data) == []


def test_case_events_tell_the_case_owner_also_when_a_job_caused_them():
    assigned = only("case.assigned", {**CASE, "owner_id": "agent-1", "actor_id": "mgr-1"})
    assert assigned.link == "/cases/case-1"
    assert assigned.message == "Case assigned to you: CS-000042: Pallet lost (high priority)"
    escalated = only("case.escalated", {**CASE, "owner_id": "agent-1", "actor_id": None})
    assert escalated.actor_id is None
    assert escalated.message == "Case escalated, its SLA is breached: CS-000042: Pallet lost"


@pytest.mark.parametrize(
    "event_type, message",
    [
        ("invoice.paid", "Invoice INV-2026-000123 (1250.50) was paid"),
        ("invoice.overdue", "Invoice INV-2026-000123 (1250.50) is overdue"),
    ],
)
def test_invoice_events_tell_the_owner_of_the_opportunity(event_type, message):
    draft = only(event_type, {**INVOICE, "opportunity_owner_id": "am-1", "actor_id": None})
    assert (draft.user_id, draft.link, draft.message) == ("am-1", "/invoices/inv-1", message)
    assert notifications_for(event_type, {**INVOICE, "owner_id": "am-1"}) == []


@pytest.mark.parametrize("owner", [None, "", "  ", {"id": "x"}, ["x"], True])
def test_a_missing_or_unusable_recipient_means_nobody_to_notify(owner):
    assert notifications_for("lead.assigned", {**LEAD, "owner_id": owner}) == []


def test_unknown_types_make_nothing():
    assert notifications_for("lead.exploded", LEAD) == []
    assert notifications_for("company.created", {"id": "c", "owner_id": "am-1"}) == []


def test_the_record_id_falls_back_to_the_event_subject_and_without_either_nothing_is_made():
    data = {key: value for key, value in LEAD.items() if key != "id"}
    assert only("lead.assigned", data, subject="lead-9").link == "/leads/lead-9"
    assert notifications_for("lead.assigned", data) == []


def test_a_person_is_named_by_name_else_by_email():
    """Leads and contacts carry one `name` (DATA_MODEL); without it the email stands in."""
    unnamed = {**LEAD, "name": None, "company_name": None, "actor_id": "mgr-1"}
    assert only("lead.assigned", unnamed).message == "Lead assigned to you: ada@example.com"
    moved = {**CONTACT, "name": " ", "actor_id": "mgr-1", "changed": ["owner_id"]}
    assert only("contact.updated", moved).message == "Contact assigned to you: grace@example.com"
    old_style = {"id": "ct-2", "first_name": "Grace", "last_name": "Hopper", "owner_id": "am-1"}
    legacy = only("contact.created", {**old_style, "actor_id": "mgr-1"})
    assert legacy.message == "New contact for you: a contact"  # first/last names are not read


def test_missing_details_still_read_well_and_long_ones_are_cut():
    bare = only("opportunity.won", {"id": "o", "owner_id": "am-1"})
    assert bare.message == "Opportunity won: an opportunity"
    assert only("lead.assigned", {"id": "l", "owner_id": "u"}).message.endswith("a lead")
    huge = only("opportunity.won", {"id": "o", "owner_id": "am-1", "name": "x" * 2000})
    assert len(huge.message) == MESSAGE_LENGTH


def test_the_consumer_binds_exactly_the_event_types_that_have_a_rule():
    assert set(HANDLERS) == set(RULES)


def test_docs_list_every_rule():
    """docs/events.md states the rules as implemented: one table row per event type."""
    section = DOCS.read_text().split("## Notifications made from events", 1)[1]
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", section, re.MULTILINE))
    assert documented == set(RULES)


COMPANY = {"id": "co-1", "name": "Acme Freight", "owner_id": "am-1"}
CONTACT = {
    "id": "ct-1",
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "phone_number": None,
    "owner_id": "am-1",
}


def test_a_company_or_contact_given_to_someone_else_tells_the_new_owner():
    moved = {**COMPANY, "actor_id": "mgr-1", "changed": ["owner_id", "city"]}
    draft = only("company.updated", moved)
    assert (draft.user_id, draft.link) == ("am-1", "/companies/co-1")
    assert draft.message == "Company assigned to you: Acme Freight"
    draft = only("contact.updated", {**CONTACT, "actor_id": "mgr-1", "changed": ["owner_id"]})
    assert (draft.link, draft.message) == (
        "/contacts/ct-1",
        "Contact assigned to you: Grace Hopper",
    )


def test_other_company_and_contact_changes_tell_nobody():
    assert (
        notifications_for("company.updated", {**COMPANY, "actor_id": "m", "changed": ["city"]})
        == []
    )
    assert notifications_for("contact.updated", {**CONTACT, "actor_id": "m"}) == []


def test_a_company_or_contact_created_for_someone_else_tells_the_owner_but_not_the_creator():
    assert only("company.created", {**COMPANY, "actor_id": "mgr-1"}).message == (
        "New company for you: Acme Freight"
    )
    assert only("contact.created", {**CONTACT, "actor_id": "mgr-1"}).link == "/contacts/ct-1"
    assert notifications_for("contact.created", {**CONTACT, "actor_id": "am-1"}) == []
    assert notifications_for("company.created", COMPANY) == []  # no actor named: not news
