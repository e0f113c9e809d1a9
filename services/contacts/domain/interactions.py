"""Interactions: calls, emails, meetings and notes, logged by the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.contacts.domain.removals import forget_records
from services.contacts.events import record_event
from services.contacts.models import CaseRef, Company, Contact, Interaction
from services.contacts.ports.support import SupportPort
from shared.auth import Identity, ensure_can_change
from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.pagination import Page, paginate_args
from shared.records import apply_changes, check_version, filtered, get_or_404

SORTABLE = ("created_at", "interaction_date")


def _check_parties(session: Session, contact_id: str | None, company_id: str | None) -> str | None:
    """Validate the references; return the company implied by the contact when none is named."""
    errors: dict[str, list[str]] = {}
    contact = session.get(Contact, contact_id) if contact_id else None
    if contact_id and contact is None:
        errors["contact_id"] = [f"No contact with id '{contact_id}'."]
    if company_id and session.get(Company, company_id) is None:
        errors["company_id"] = [f"No company with id '{company_id}'."]
    if not contact_id and not company_id:
        errors["contact_id"] = ["Name the contact or the company the interaction was with."]
    if errors:
        raise ValidationFailed(errors)
    return company_id or (contact.company_id if contact else None)


def _check_case(session: Session, case_id: str | None, support: SupportPort) -> None:
    """A named case must exist: the local replica first, the support service while it lags."""
    if not case_id or session.get(CaseRef, case_id) is not None:
        return
    if not support.case_exists(case_id):
        raise ValidationFailed({"case_id": [f"No case with id '{case_id}'."]})


def log_interaction(
    *, session: Session, actor: Identity, data: dict[str, Any], support: SupportPort
) -> Interaction:
    """Log an interaction as the caller; emits interaction.logged."""
    data["company_id"] = _check_parties(session, data.get("contact_id"), data.get("company_id"))
    _check_case(session, data.get("case_id"), support)
    data.setdefault("interaction_date", utcnow())
    interaction = Interaction(**data, user_id=actor.user_id)
    session.add(interaction)
    session.flush()
    record_event(session, "interaction.logged", interaction, actor_id=actor.user_id)
    return interaction


def get_interaction(*, session: Session, interaction_id: str) -> Interaction:
    """One interaction, or NotFound."""
    return get_or_404(session, Interaction, interaction_id, "interaction")


def list_interactions(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of interactions, filtered by contact, company, user, case or type."""
    stmt = filtered(
        Interaction,
        args,
        ("contact_id", "company_id", "user_id", "case_id", "type"),
        ("outcome", "notes", "subject"),
    )
    return paginate_args(session, stmt, model=Interaction, sortable=SORTABLE, args=args)


def update_interaction(
    *,
    session: Session,
    actor: Identity,
    interaction_id: str,
    changes: dict[str, Any],
    support: SupportPort,
    expected_version: int | None = None,
) -> Interaction:
    """Correct an interaction; only its author or a manager may."""
    interaction = get_interaction(session=session, interaction_id=interaction_id)
    ensure_can_change(actor, interaction.user_id)
    check_version(interaction, expected_version)
    if changes.get("case_id", interaction.case_id) != interaction.case_id:
        _check_case(session, changes["case_id"], support)
    if "contact_id" in changes or "company_id" in changes:
        contact_id = changes.get("contact_id", interaction.contact_id)
        company_id = changes.get("company_id", interaction.company_id)
        changes["company_id"] = _check_parties(session, contact_id, company_id)
    changed = apply_changes(interaction, changes)
    if changed:
        session.flush()
        record_event(
            session, "interaction.updated", interaction, actor_id=actor.user_id, changed=changed
        )
    return interaction


def delete_interaction(
    *, session: Session, actor: Identity, interaction_id: str, expected_version: int | None = None
) -> None:
    """Delete an interaction; only its author or a manager may."""
    interaction = get_interaction(session=session, interaction_id=interaction_id)
    ensure_can_change(actor, interaction.user_id)
    check_version(interaction, expected_version)
    record_event(session, "interaction.deleted", interaction, actor_id=actor.user_id)
    forget_records(session=session, record_type="interaction", record_ids=[interaction.id])
    session.delete(interaction)
    session.flush()
