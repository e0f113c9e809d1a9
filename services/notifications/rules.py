"""Which event tells whom what: pure functions from an event to the notifications it makes.

No database and no broker here. Each rule reads only the documented fields of its event's
`data`, ignores the rest, and makes nothing when the recipient is missing or is the user
whose action caused the event (`actor_id`). docs/events.md lists these rules as implemented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MESSAGE_LENGTH = 500
COLLECTIONS = {
    "company": "companies",
    "contact": "contacts",
    "lead": "leads",
    "opportunity": "opportunities",
    "case": "cases",
    "invoice": "invoices",
}
CLOSED_STAGES = {"closed_won", "closed_lost"}


@dataclass(frozen=True)
class Draft:
    """A notification to make: for whom, saying what, about which record."""

    user_id: str
    message: str
    record_type: str
    record_id: str
    actor_id: str | None = None

    @property
    def link(self) -> str:
        return f"/{COLLECTIONS[self.record_type]}/{self.record_id}"


Data = dict[str, Any]
Rule = Callable[[Data], "Draft | None"]


def _text(data: Data, key: str) -> str | None:
    """A field as non-empty text, or None when it is absent, null, empty or not a scalar."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text or None


def _draft(data: Data, record_type: str, message: str, *, to: str, id_key: str = "id"):
    recipient, record_id = _text(data, to), _text(data, id_key) or _text(data, "id")
    if recipient is None or record_id is None:
        return None
    return Draft(recipient, message[:MESSAGE_LENGTH], record_type, record_id)


def _lead(data: Data) -> str:
    name = _text(data, "name") or _text(data, "email") or "a lead"
    company = _text(data, "company_name")
    return f"{name} ({company})" if company else name


def _deal(data: Data) -> str:
    name = _text(data, "name") or "an opportunity"
    value = _text(data, "deal_value")
    return f"{name} ({value})" if value else name


def _stage(value: str | None) -> str:
    return (value or "another stage").replace("_", " ")


def _case(data: Data) -> str:
    number = _text(data, "case_number") or "A case"
    subject = _text(data, "subject")
    return f"{number}: {subject}" if subject else number


def _invoice(data: Data) -> str:
    number = _text(data, "number") or "An invoice"
    total = _text(data, "total")
    return f"Invoice {number} ({total})" if total else f"Invoice {number}"


def _person(data: Data) -> str:
    return _text(data, "name") or _text(data, "email") or "a contact"


def _changed_owner(data: Data) -> bool:
    changed = data.get("changed")
    return isinstance(changed, list) and "owner_id" in changed


# ---- one rule per event type ------------------------------------------------------------


def company_created(data: Data) -> Draft | None:
    if _text(data, "actor_id") is None:
        return None  # only a record someone made for another user is news to its owner
    name = _text(data, "name") or "a company"
    return _draft(data, "company", f"New company for you: {name}", to="owner_id")


def company_updated(data: Data) -> Draft | None:
    if not _changed_owner(data):
        return None
    name = _text(data, "name") or "a company"
    return _draft(data, "company", f"Company assigned to you: {name}", to="owner_id")


def contact_created(data: Data) -> Draft | None:
    if _text(data, "actor_id") is None:
        return None
    return _draft(data, "contact", f"New contact for you: {_person(data)}", to="owner_id")


def contact_updated(data: Data) -> Draft | None:
    if not _changed_owner(data):
        return None
    return _draft(data, "contact", f"Contact assigned to you: {_person(data)}", to="owner_id")


def lead_created(data: Data) -> Draft | None:
    return _draft(data, "lead", f"New lead for you: {_lead(data)}", to="owner_id")


def lead_assigned(data: Data) -> Draft | None:
    return _draft(data, "lead", f"Lead assigned to you: {_lead(data)}", to="owner_id")


def lead_converted(data: Data) -> Draft | None:
    outcome = "a contact and an opportunity" if _text(data, "opportunity_id") else "a contact"
    message = f"Your lead was converted into {outcome}"
    return _draft(data, "lead", message, to="owner_id", id_key="lead_id")


def opportunity_created(data: Data) -> Draft | None:
    return _draft(data, "opportunity", f"New opportunity for you: {_deal(data)}", to="owner_id")


def opportunity_stage_changed(data: Data) -> Draft | None:
    to_stage = _text(data, "to_stage") or _text(data, "stage")
    if to_stage in CLOSED_STAGES:
        return None  # opportunity.won / opportunity.lost tell the owner about those
    moved = f"from {_stage(_text(data, 'from_stage'))} to {_stage(to_stage)}"
    message = f"Your opportunity {_deal(data)} moved {moved}"
    return _draft(data, "opportunity", message, to="owner_id")


def opportunity_won(data: Data) -> Draft | None:
    return _draft(data, "opportunity", f"Opportunity won: {_deal(data)}", to="owner_id")


def opportunity_lost(data: Data) -> Draft | None:
    reason = _text(data, "lost_reason")
    message = f"Opportunity lost: {_deal(data)}" + (f". Reason: {reason}" if reason else "")
    return _draft(data, "opportunity", message, to="owner_id")


def case_assigned(data: Data) -> Draft | None:
    priority = _text(data, "priority")
    suffix = f" ({priority} priority)" if priority else ""
    return _draft(data, "case", f"Case assigned to you: {_case(data)}{suffix}", to="owner_id")


def case_escalated(data: Data) -> Draft | None:
    message = f"Case escalated, its SLA is breached: {_case(data)}"
    return _draft(data, "case", message, to="owner_id")


def invoice_paid(data: Data) -> Draft | None:
    message = f"{_invoice(data)} was paid"
    return _draft(data, "invoice", message, to="opportunity_owner_id")


def invoice_overdue(data: Data) -> Draft | None:
    message = f"{_invoice(data)} is overdue"
    return _draft(data, "invoice", message, to="opportunity_owner_id")


def notifications_for(event_type: str, data: Data, subject: str | None = None) -> list[Draft]:
    """The notifications an event makes: none for unknown types, own actions or no recipient."""
    rule = RULES.get(event_type)
    if rule is None:
        return []
    if subject and _text(data, "id") is None:
        data = {**data, "id": subject}  # the CloudEvents subject is the record's id
    draft = rule(data)
    if draft is None:
        return []
    actor = _text(data, "actor_id") or _text(data, "assigned_by")
    if actor == draft.user_id:
        return []  # never tell a user about their own action
    return [Draft(draft.user_id, draft.message, draft.record_type, draft.record_id, actor)]


RULES: dict[str, Rule] = {
    "company.created": company_created,
    "company.updated": company_updated,
    "contact.created": contact_created,
    "contact.updated": contact_updated,
    "lead.created": lead_created,
    "lead.assigned": lead_assigned,
    "lead.converted": lead_converted,
    "opportunity.created": opportunity_created,
    "opportunity.stage_changed": opportunity_stage_changed,
    "opportunity.won": opportunity_won,
    "opportunity.lost": opportunity_lost,
    "case.assigned": case_assigned,
    "case.escalated": case_escalated,
    "invoice.paid": invoice_paid,
    "invoice.overdue": invoice_overdue,
}
