"""Products: the catalogue sales managers (and admins) keep; everyone reads it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales.events import record_event
from services.sales.models import OpportunityProduct, Product
from shared.auth import SALES_MANAGER, Identity, require_role
from shared.errors import Conflict
from shared.pagination import Page, paginate_args
from shared.records import apply_changes, check_version, filtered, get_or_404

SORTABLE = ("created_at", "updated_at", "name")


def _ensure_sku_free(session: Session, sku: str, product_id: str | None = None) -> None:
    stmt = select(Product.id).where(Product.sku == sku)
    if product_id is not None:
        stmt = stmt.where(Product.id != product_id)
    existing = session.scalar(stmt)
    if existing is not None:
        raise Conflict(f"A product with sku '{sku}' exists.", existing_product_id=existing)


def _flush(session: Session, sku: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A product with sku '{sku}' exists.") from exc


def create_product(*, session: Session, actor: Identity, data: dict[str, Any]) -> Product:
    """Add a product; skus are unique (409 on a repeat)."""
    require_role(actor, SALES_MANAGER)
    _ensure_sku_free(session, data["sku"])
    product = Product(**data)
    session.add(product)
    _flush(session, product.sku)
    record_event(session, "product.created", product, actor_id=actor.user_id)
    return product


def get_product(*, session: Session, product_id: str) -> Product:
    """One product, or NotFound."""
    return get_or_404(session, Product, product_id, "product")


def list_products(*, session: Session, args: dict[str, Any]) -> Page:
    """A page of products, filtered by type, sku and is_active; `q` searches name and sku."""
    stmt = filtered(Product, args, ("type", "sku", "is_active"), ("name", "sku"))
    return paginate_args(session, stmt, model=Product, sortable=SORTABLE, args=args)


def update_product(
    *,
    session: Session,
    actor: Identity,
    product_id: str,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> Product:
    """Change a product; existing opportunity lines keep the price they were given."""
    require_role(actor, SALES_MANAGER)
    product = get_product(session=session, product_id=product_id)
    check_version(product, expected_version)
    if "sku" in changes and changes["sku"] != product.sku:
        _ensure_sku_free(session, changes["sku"], product.id)
    changed = apply_changes(product, changes)
    if changed:
        _flush(session, product.sku)
        record_event(session, "product.updated", product, actor_id=actor.user_id, changed=changed)
    return product


def delete_product(
    *, session: Session, actor: Identity, product_id: str, expected_version: int | None = None
) -> None:
    """Delete a product no opportunity uses; one in use is a 409 (deactivate it instead)."""
    require_role(actor, SALES_MANAGER)
    product = get_product(session=session, product_id=product_id)
    check_version(product, expected_version)
    if session.scalar(select(exists().where(OpportunityProduct.product_id == product_id))):
        raise Conflict("Opportunities use this product; set is_active to false instead.")
    record_event(session, "product.deleted", product, actor_id=actor.user_id)
    session.delete(product)
    session.flush()
