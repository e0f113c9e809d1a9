"""Signed, expiring JWTs and the caller's identity. No Flask here: views pass `Identity` down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from shared.errors import Forbidden, Unauthorized

ISSUER = "crm-gateway"
AUDIENCE = "crm"
ALGORITHM = "HS256"

ADMIN = "admin"
SALES_MANAGER = "sales_manager"
MARKETING_MANAGER = "marketing_manager"
ACCOUNT_MANAGER = "account_manager"
SDR = "sdr"
SUPPORT_AGENT = "support_agent"
SERVICE = "service"
ROLES = (ADMIN, SALES_MANAGER, MARKETING_MANAGER, ACCOUNT_MANAGER, SDR, SUPPORT_AGENT)
#: Roles that read everything, change anyone's records and reassign owners.
MANAGERS = frozenset({ADMIN, SALES_MANAGER, MARKETING_MANAGER})


@dataclass(frozen=True)
class Identity:
    """Who is calling: a user of the gateway, or another service."""

    user_id: str
    role: str
    email: str = ""
    name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role in {ADMIN, SERVICE}

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGERS or self.role == SERVICE


def issue_token(identity: Identity, secret: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": identity.user_id,
        "role": identity.role,
        "email": identity.email,
        "name": identity.name,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def service_token(service: str, secret: str, ttl_seconds: int = 300) -> str:
    """A short-lived token one service presents to another."""
    return issue_token(Identity(f"service:{service}", SERVICE, name=service), secret, ttl_seconds)


def verify_token(token: str, secret: str) -> Identity:
    """Decode and check signature, expiry, issuer and audience; raise Unauthorized otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The token has expired; log in again.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The token is invalid.") from exc
    role = claims.get("role")
    if role not in (*ROLES, SERVICE):
        raise Unauthorized("The token carries no known role.")
    return Identity(claims["sub"], role, claims.get("email", ""), claims.get("name", ""))


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    return token.strip()


def require_role(actor: Identity, *roles: str) -> None:
    """Admins pass always; everyone else must hold one of `roles`."""
    if actor.is_admin or actor.role in roles:
        return
    raise Forbidden(f"The role '{actor.role}' may not do this.")


def require_service(actor: Identity) -> None:
    """Only another service's token passes, not even an admin's: for service-to-service calls."""
    if actor.role != SERVICE:
        raise Forbidden("Only another service may call this endpoint.")


def ensure_can_change(actor: Identity, owner_id: str | None) -> None:
    """Managers change anything; everyone else only what they own."""
    if actor.is_manager or (owner_id is not None and owner_id == actor.user_id):
        return
    raise Forbidden("Only the owner or a manager may change this record.")


def ensure_can_assign(actor: Identity, owner_id: str | None) -> None:
    """Only managers give a record to someone else."""
    if owner_id is None or owner_id == actor.user_id or actor.is_manager:
        return
    raise Forbidden("Only a manager may assign a record to another user.")
