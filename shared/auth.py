"""Verifying the gateway's signed, expiring JWTs, and the caller's identity and rules.

Only the gateway signs (gateway/tokens.py); every process verifies with public keys only
(shared/keys.py). No Flask here: views pass `Identity` down.

A client sends the same token with every request for its whole life, so each key set keeps
the identities of the tokens it verified (`VerifiedTokens`): a repeat costs a dictionary
lookup instead of parsing and checking an Ed25519 signature. An entry is kept at most
`VERIFIED_TTL_SECONDS` and never past the token's `exp`. Revocations are not cached: the deny
list is asked on every request (shared/web.py, shared/revocations.py).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt
from cachetools import TLRUCache

from shared.errors import Forbidden, Unauthorized

ISSUER = "crm-gateway"
AUDIENCE = "crm"
ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud", "jti"]
#: How long a verified token is remembered at most (a retired signing key stops counting for
#: a remembered token this much later), and how many tokens each key set remembers.
VERIFIED_TTL_SECONDS = 60.0
VERIFIED_MAX_TOKENS = 4096

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
    """Who is calling: a user of the gateway, or another service with its scopes."""

    user_id: str
    role: str
    email: str = ""
    name: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)
    #: The login session the token belongs to (a user's), for logging out.
    session_id: str | None = None
    #: When the token was issued (seconds since the epoch), for revocations.
    issued_at: float = 0.0

    @property
    def is_service(self) -> bool:
        return self.role == SERVICE

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGERS


class KeySet(Protocol):
    """Public keys by `kid` (shared/keys.py)."""

    def key_for(self, kid: str | None) -> Any: ...


class VerifiedTokens:
    """Identities of tokens already verified, by the token string, until min(ttl, exp)."""

    def __init__(
        self,
        maxsize: int = VERIFIED_MAX_TOKENS,
        ttl: float = VERIFIED_TTL_SECONDS,
        timer: Callable[[], float] = time.time,
    ) -> None:
        self._cache: TLRUCache[str, tuple[Identity, float]] = TLRUCache(
            maxsize, ttu=lambda _token, entry, now: min(now + ttl, entry[1]), timer=timer
        )
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe

    def get(self, token: str) -> Identity | None:
        with self._lock:
            entry = self._cache.get(token)
        return entry[0] if entry is not None else None

    def put(self, token: str, identity: Identity, expires_at: float) -> None:
        with self._lock:
            self._cache[token] = (identity, expires_at)


_verified: weakref.WeakKeyDictionary[Any, VerifiedTokens] = weakref.WeakKeyDictionary()
_verified_lock = threading.Lock()


def verified_tokens(keys: KeySet) -> VerifiedTokens:
    """The tokens `keys` verified: each key set has its own, gone with it."""
    with _verified_lock:
        cache = _verified.get(keys)
        if cache is None:
            cache = _verified[keys] = VerifiedTokens()
    return cache


def verify_token(token: str, keys: KeySet, cache: VerifiedTokens | None = None) -> Identity:
    """Check signature, algorithm, expiry, issuer and audience; raise Unauthorized otherwise.

    A token `keys` verified before (in `cache`, by default theirs) is not checked again.
    """
    cache = cache if cache is not None else verified_tokens(keys)
    identity = cache.get(token)
    if identity is None:
        identity, expires_at = _verify(token, keys)
        cache.put(token, identity, expires_at)
    return identity


def _verify(token: str, keys: KeySet) -> tuple[Identity, float]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("The token is invalid.") from exc
    if header.get("alg") != ALGORITHM:
        raise Unauthorized("The token is invalid.")
    key = keys.key_for(header.get("kid"))  # UpstreamUnavailable when no keys can be had
    if key is None:
        raise Unauthorized("The token is invalid.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The token has expired; refresh it or log in again.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The token is invalid.") from exc
    return identity_of(claims), float(claims["exp"])


def identity_of(claims: dict[str, Any]) -> Identity:
    role = claims.get("role")
    if role not in (*ROLES, SERVICE):
        raise Unauthorized("The token carries no known role.")
    scopes = claims.get("scope", "") if role == SERVICE else ""
    return Identity(
        str(claims["sub"]),
        role,
        str(claims.get("email", "")),
        str(claims.get("name", "")),
        scopes=frozenset(str(scopes).split()),
        session_id=claims.get("sid"),
        issued_at=float(claims["iat"]),
    )


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    return token.strip()


def require_role(actor: Identity, *roles: str) -> None:
    """Admins pass always; users of `roles` too; a service token never does."""
    if actor.is_service:
        raise Forbidden("A service token may not do this; it is for users.")
    if actor.is_admin or actor.role in roles:
        return
    raise Forbidden(f"The role '{actor.role}' may not do this.")


def require_user(actor: Identity) -> None:
    """Only a user's token passes: for what a person does (their inbox, their own records)."""
    if actor.is_service:
        raise Forbidden("A service token may not do this; it is for users.")


def require_scope(actor: Identity, scope: str) -> None:
    """Only a service token granted `scope` passes, not even an admin's."""
    if not actor.is_service:
        raise Forbidden("Only another service may call this endpoint.")
    if scope not in actor.scopes:
        raise Forbidden(f"The service token lacks the scope '{scope}'.")


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
