"""Users and logging in: keyword-only service functions, no Flask."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.models import User
from gateway.passwords import hash_password, needs_rehash, verify_password
from gateway.sessions import TokenPolicy, revoke_user, start_session
from shared.auth import ADMIN, Identity, require_role
from shared.cooperative import off_the_loop
from shared.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Unauthorized
from shared.pagination import Page, paginate_args

SORTABLE = ("created_at", "updated_at")
SELF_EDITABLE = {"name", "password"}
#: Checked against when the email is unknown, so both paths cost one hash check.
_DUMMY_HASH = hash_password("not-a-real-password")


def create_user(*, session: Session, actor: Identity, data: dict[str, Any]) -> User:
    """Admins create users; the email must be new."""
    require_role(actor, ADMIN)
    password = data.pop("password")
    user = User(**data, password_hash=off_the_loop(hash_password, password))
    session.add(user)
    _flush_unique(session, user.email)
    return user


def get_user(*, session: Session, user_id: str) -> User:
    """One user, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id '{user_id}'.")
    return user


def list_users(*, session: Session, args: dict[str, Any]) -> Page:
    """Everyone may list users, to assign records to them."""
    stmt = select(User)
    for name in ("role", "is_active"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(User, name) == args[name])
    if args.get("q"):
        pattern = f"%{args['q'].lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(pattern), User.email.like(pattern)))
    return paginate_args(session, stmt, model=User, sortable=SORTABLE, args=args)


def update_user(
    *,
    session: Session,
    actor: Identity,
    user_id: str,
    changes: dict[str, Any],
    expected_version: int | None = None,
    access_ttl: int = 900,
) -> User:
    """Admins change anyone; a user may change their own name and password.

    Disabling a user or changing their role revokes the tokens they hold, everywhere.
    """
    user = get_user(session=session, user_id=user_id)
    if actor.is_service or not (
        actor.is_admin or (actor.user_id == user_id and set(changes) <= SELF_EDITABLE)
    ):
        raise Forbidden("Only an admin may change this (you may change your name and password).")
    if expected_version is not None and expected_version != user.version:
        raise PreconditionFailed("The user was changed since you read it; reload it.")
    _keep_admins_in(actor, user, changes)
    if "password" in changes:
        user.password_hash = off_the_loop(hash_password, changes.pop("password"))
    reason = _revocation_reason(user, changes)
    for name, value in changes.items():
        setattr(user, name, value)
    _flush_unique(session, user.email)
    if reason:
        revoke_user(session=session, user_id=user.id, reason=reason, access_ttl=access_ttl)
    return user


def _revocation_reason(user: User, changes: dict[str, Any]) -> str | None:
    if user.is_active and changes.get("is_active") is False:
        return "deactivated"
    if "role" in changes and changes["role"] != user.role:
        return "role_changed"
    return None


def _keep_admins_in(actor: Identity, user: User, changes: dict[str, Any]) -> None:
    """An admin cannot lock themselves out: another admin disables or demotes them."""
    if actor.user_id != user.id or user.role != ADMIN:
        return
    if changes.get("is_active") is False or changes.get("role", ADMIN) != ADMIN:
        raise Conflict("You cannot disable your own account or give up your admin role.")


def log_in(*, session: Session, email: str, password: str, policy: TokenPolicy) -> dict:
    """Exchange an active user's email and password for an access and a refresh token."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    valid = off_the_loop(verify_password, user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid or not user.is_active:
        raise Unauthorized("Unknown email or wrong password, or the account is disabled.")
    if needs_rehash(user.password_hash):  # an older hash, or weaker parameters: upgrade it
        user.password_hash = off_the_loop(hash_password, password)
    return start_session(session=session, user=user, policy=policy)


def ensure_admin(*, session: Session, email: str, password: str, name: str = "Admin") -> bool:
    """Create the first admin if no user has this email; True when one was created."""
    email = email.strip().lower()
    if session.scalar(select(User).where(User.email == email)) is not None:
        return False
    session.add(
        User(
            email=email,
            name=name,
            role=ADMIN,
            is_active=True,
            password_hash=hash_password(password),
        )
    )
    session.flush()
    return True


def _flush_unique(session: Session, email: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A user with email '{email}' already exists.") from exc
