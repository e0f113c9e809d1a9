"""Signing tokens: the only place in the system a token is made.

The gateway signs with one Ed25519 private key (JWT_PRIVATE_KEY) and publishes its public half
at /.well-known/jwks.json, with the previous keys still in use during a rollover
(JWT_PREVIOUS_PUBLIC_KEYS): docs/ops.md, "Rotating the signing key".
"""

from __future__ import annotations

import os
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import ALGORITHM, AUDIENCE, ISSUER, SERVICE, Identity
from shared.config import DEV_JWT_PRIVATE_KEY, ConfigError
from shared.ids import new_id
from shared.keys import kid_of, public_jwk, public_keys_from_pem


class SigningKeys:
    """The key tokens are signed with, and every public key the gateway still vouches for."""

    def __init__(self, private_key: Ed25519PrivateKey, previous=()) -> None:
        self.private_key = private_key
        self.kid = kid_of(private_key.public_key())
        self.public = {self.kid: private_key.public_key()}
        self.public.update({kid_of(key): key for key in previous})

    @classmethod
    def from_env(cls, environ=os.environ, *, production: bool = False) -> SigningKeys:
        pem = environ.get("JWT_PRIVATE_KEY") or DEV_JWT_PRIVATE_KEY
        if production and pem.strip() == DEV_JWT_PRIVATE_KEY.strip():
            raise ConfigError("refusing to start in production: JWT_PRIVATE_KEY must be set")
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError("JWT_PRIVATE_KEY must be an Ed25519 private key (PEM, PKCS#8)")
        previous = public_keys_from_pem(environ.get("JWT_PREVIOUS_PUBLIC_KEYS", ""))
        return cls(key, previous)

    def key_for(self, kid: str | None) -> Any:
        return self.public.get(kid or "")

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [public_jwk(key) for key in self.public.values()]}

    def sign(self, subject: str, ttl_seconds: int, **claims: Any) -> str:
        now = time.time()
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": int(now + ttl_seconds),
            "jti": new_id(),
            **claims,
        }
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def user_token(keys: SigningKeys, identity: Identity, session_id: str, ttl_seconds: int) -> str:
    """A user's access token for one login session."""
    return keys.sign(
        identity.user_id,
        ttl_seconds,
        role=identity.role,
        email=identity.email,
        name=identity.name,
        sid=session_id,
    )


def service_token(keys: SigningKeys, service: str, scopes: tuple[str, ...], ttl: int) -> str:
    """A service's own token: `sub: service:<name>`, its scopes, never a user's role."""
    return keys.sign(f"service:{service}", ttl, role=SERVICE, name=service, scope=" ".join(scopes))
