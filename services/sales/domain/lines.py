"""An opportunity's line items; while there are lines, deal_value is their sum."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from services.sales.domain import stages
from services.sales.domain.leads import LEAD_WORKERS
from services.sales.domain.opportunities import get_opportunity, publish
from services.sales.models import Opportunity, OpportunityProduct, Product
from shared.auth import Identity, ensure_can_change, require_role
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.records import apply_changes, check_version


def _editable(session: Session, actor: Identity, opportunity_id: str, expected_version):
    require_role(actor, *LEAD_WORKERS)
    opportunity = get_opportunity(session=session, opportunity_id=opportunity_id)
    ensure_can_change(actor, opportunity.owner_id)
    check_version(opportunity, expected_version)
    if opportunity.stage == stages.WON:
        raise Conflict("A won opportunity's line items cannot change.")
    return opportunity


def _line(opportunity: Opportunity, product_id: str) -> OpportunityProduct:
    for line in opportunity.lines:
        if line.product_id == product_id:
            return line
    raise NotFound(f"The opportunity has no line for product '{product_id}'.")


def _follow_lines(session: Session, actor: Identity, opportunity: Opportunity) -> None:
    """Recompute deal_value from the lines and publish opportunity.updated."""
    total = sum((line.line_total for line in opportunity.lines), Decimal("0.00"))
    changed = ["line_items", *apply_changes(opportunity, {"deal_value": total})]
    flag_modified(opportunity, "deal_value")  # a new version (ETag) even when the sum is equal
    session.flush()
    publish(session, "opportunity.updated", opportunity, actor.user_id, changed=changed)


def list_lines(*, session: Session, opportunity_id: str) -> list[OpportunityProduct]:
    """The opportunity's lines in the order they were added."""
    return list(get_opportunity(session=session, opportunity_id=opportunity_id).lines)


def get_line(*, session: Session, opportunity_id: str, product_id: str) -> OpportunityProduct:
    """One line of an opportunity, by its product; NotFound when there is none."""
    return _line(get_opportunity(session=session, opportunity_id=opportunity_id), product_id)


def add_line(
    *,
    session: Session,
    actor: Identity,
    opportunity_id: str,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> OpportunityProduct:
    """Add a product (once per opportunity) at its list price unless unit_price says otherwise."""
    opportunity = _editable(session, actor, opportunity_id, expected_version)
    product = session.get(Product, data["product_id"])
    if product is None:
        raise ValidationFailed({"product_id": [f"No product with id '{data['product_id']}'."]})
    if not product.is_active:
        raise ValidationFailed({"product_id": ["The product is no longer sold."]})
    if any(line.product_id == product.id for line in opportunity.lines):
        raise Conflict("The opportunity already has a line for this product; change its quantity.")
    line = OpportunityProduct(
        product=product,
        quantity=data.get("quantity", 1),
        unit_price=data.get("unit_price", product.price),
    )
    opportunity.lines.append(line)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("The opportunity already has a line for this product.") from exc
    _follow_lines(session, actor, opportunity)
    return line


def update_line(
    *,
    session: Session,
    actor: Identity,
    opportunity_id: str,
    product_id: str,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> OpportunityProduct:
    """Change a line's quantity or unit price."""
    opportunity = _editable(session, actor, opportunity_id, expected_version)
    line = _line(opportunity, product_id)
    if apply_changes(line, changes):
        session.flush()
        _follow_lines(session, actor, opportunity)
    return line


def remove_line(
    *,
    session: Session,
    actor: Identity,
    opportunity_id: str,
    product_id: str,
    expected_version: int | None = None,
) -> None:
    """Remove a line; with none left, deal_value is 0.00 until it is set again."""
    opportunity = _editable(session, actor, opportunity_id, expected_version)
    opportunity.lines.remove(_line(opportunity, product_id))
    session.flush()
    _follow_lines(session, actor, opportunity)
