"""Lead conversion: a contact (and company) in the contacts service, an opportunity here.

All or nothing. The contacts service makes its records in one call, idempotent by lead id,
so a retried conversion reuses them instead of making twins. If this side then fails, the
contacts side is compensated (its conversion cancelled) so no orphan stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.sales.contacts import ContactsPort
from services.sales.domain.leads import LEAD_WORKERS, get_lead
from services.sales.domain.opportunities import open_opportunity
from services.sales.events import record_event
from services.sales.models import Lead, Opportunity
from shared.auth import Identity, ensure_can_change, require_role
from shared.db import Database, utcnow
from shared.errors import Conflict
from shared.logs import get_logger

log = get_logger(__name__)
#: What the new contact takes from the lead unless the body's `contact` overrides it.
CONTACT_FROM_LEAD = ("name", "email", "phone_number", "job_title")


@dataclass
class Conversion:
    lead: Lead
    opportunity: Opportunity | None

    @property
    def result(self) -> dict[str, Any]:
        lead = self.lead
        return {
            "lead_id": lead.id,
            "contact_id": lead.converted_contact_id,
            "company_id": lead.converted_company_id,
            "opportunity_id": lead.converted_opportunity_id,
            "campaign_id": lead.campaign_id,
            "owner_id": lead.owner_id,
            "converted_at": lead.converted_at,
            "lead": lead,
        }


def contacts_request(lead: Lead, body: dict[str, Any], actor_id: str) -> dict[str, Any]:
    """What to ask the contacts service for: the lead's person unless the body overrides."""
    request: dict[str, Any] = {
        "lead_id": lead.id,
        "owner_id": lead.owner_id,
        "actor_id": actor_id,
        "attach_to_existing": body.get("attach_to_existing", False),
    }
    if "company_id" in body:
        request["company_id"] = body["company_id"]
    elif "company" in body:
        request["company"] = body["company"]
    if "contact_id" in body:
        request["contact_id"] = body["contact_id"]
    else:
        person = {name: getattr(lead, name) for name in CONTACT_FROM_LEAD}
        request["contact"] = {
            k: v for k, v in {**person, **body.get("contact", {})}.items() if v is not None
        }
    return request


def opportunity_fields(lead: Lead, body: dict[str, Any]) -> dict[str, Any]:
    """The new opportunity: the body's fields, named after the company or the person.

    Its `source` is the lead's `lead_source` unless the body says otherwise: where the lead
    came from is where the deal came from, as its campaign is.
    """
    fields = dict(body.get("opportunity", {}))
    if "name" not in fields:
        company = body.get("company", {}).get("name") or lead.company_name
        fields["name"] = company or lead.name
    fields.setdefault("source", lead.lead_source)
    return fields


def already_converted(lead: Lead) -> Conflict:
    return Conflict(
        "The lead is already converted.",
        lead_id=lead.id,
        contact_id=lead.converted_contact_id,
        company_id=lead.converted_company_id,
        opportunity_id=lead.converted_opportunity_id,
    )


def convert_lead(
    *,
    session: Session,
    actor: Identity,
    lead_id: str,
    body: dict[str, Any],
    contacts: ContactsPort,
) -> Conversion:
    """Convert a lead the caller may change; the caller's transaction commits the sales side."""
    require_role(actor, *LEAD_WORKERS)
    lead = session.scalars(select(Lead).where(Lead.id == lead_id).with_for_update()).first()
    if lead is None:
        lead = get_lead(session=session, lead_id=lead_id)  # the 404
    ensure_can_change(actor, lead.owner_id)
    if lead.status == "converted":
        raise already_converted(lead)
    made = contacts.convert(contacts_request(lead, body, actor.user_id))
    try:
        opportunity = None
        if body.get("create_opportunity", True):
            fields = {
                **opportunity_fields(lead, body),
                "contact_id": made["contact_id"],
                "company_id": made["company_id"],
                "campaign_id": lead.campaign_id,
                "lead_id": lead.id,
            }
            opportunity = open_opportunity(session, actor, fields, lead.owner_id)
        lead.status = "converted"
        lead.converted_at = utcnow()
        lead.converted_contact_id = made["contact_id"]
        lead.converted_company_id = made["company_id"]
        lead.converted_opportunity_id = opportunity.id if opportunity else None
        session.flush()
        record_event(
            session,
            "lead.converted",
            lead,
            actor_id=actor.user_id,
            lead_id=lead.id,
            contact_id=lead.converted_contact_id,
            company_id=lead.converted_company_id,
            opportunity_id=lead.converted_opportunity_id,
        )
    except StaleDataError:
        # Someone else changed the lead meanwhile (perhaps converting it with these very
        # records): leave the contacts side alone; a retry reuses it.
        raise
    except Exception:
        compensate(contacts, lead.id)
        raise
    return Conversion(lead, opportunity)


def compensate(contacts: ContactsPort, lead_id: str) -> None:
    """Undo the contacts side of a conversion that did not commit here."""
    try:
        contacts.cancel_conversion(lead_id)
        log.warning("conversion_compensated", lead_id=lead_id)
    except Exception:
        log.exception("conversion_compensation_failed", lead_id=lead_id)


def compensate_unless_converted(database: Database, contacts: ContactsPort, lead_id: str) -> None:
    """After a failed commit: undo the contacts side unless the lead did get converted."""
    with database.sessions() as session:
        lead = session.get(Lead, lead_id)
        converted = lead is not None and lead.status == "converted"
    if not converted:
        compensate(contacts, lead_id)
