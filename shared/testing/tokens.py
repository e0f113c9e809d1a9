"""Tokens for tests, signed with the development key that test apps trust.

Production code never signs a token outside the gateway; tests sign their own so that one
service can be exercised without a gateway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization

from shared.auth import ALGORITHM, AUDIENCE, ISSUER, SERVICE, Identity
from shared.config import DEV_JWT_PRIVATE_KEY
from shared.ids import new_id
from shared.keys import kid_of

DEV_KEY = serialization.load_pem_private_key(DEV_JWT_PRIVATE_KEY.encode(), password=None)
DEV_KID = kid_of(DEV_KEY.public_key())  # type: ignore[arg-type]


def sign(claims: dict, key=DEV_KEY, kid: str | None = DEV_KID, algorithm: str = ALGORITHM) -> str:
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def claims_for(identity: Identity, ttl: int, **extra) -> dict:
    now = time.time()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": identity.user_id,
        "role": identity.role,
        "email": identity.email,
        "name": identity.name,
        "iat": now,
        "exp": int(now + ttl),
        "jti": new_id(),
    }
    if identity.session_id:
        claims["sid"] = identity.session_id
    if identity.role == SERVICE:
        claims["scope"] = " ".join(sorted(identity.scopes))
    return {**claims, **extra}


def issue_token(identity: Identity, ttl_seconds: int = 3600) -> str:
    return sign(claims_for(identity, ttl_seconds))


def service_token_for(service: str, scopes: tuple[str, ...] | None = None, ttl: int = 300) -> str:
    """A service token as the gateway grants it: the service's scopes unless told otherwise."""
    from gateway.clients import SCOPES

    granted = SCOPES.get(service, ()) if scopes is None else scopes
    identity = Identity(f"service:{service}", SERVICE, name=service, scopes=frozenset(granted))
    return issue_token(identity, ttl)


class SignedCredentials:
    """A service's credentials without a gateway: its scoped token, signed here."""

    def __init__(self, service: str) -> None:
        self.service = service

    def token(self) -> str:
        return service_token_for(self.service)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, claims: dict, secret: bytes | None) -> str:
    """A token PyJWT refuses to make: HS256 keyed with a public key, or unsigned."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"
