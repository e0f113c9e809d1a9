"""The gateway's public keys, by `kid`: pinned from configuration, or fetched from its JWKS.

A service holds only public keys. `RemoteKeys` fetches `/.well-known/jwks.json`, keeps it for
a few minutes, and fetches again at once (at most every `min_interval` seconds) when a token
names a key it has not seen: during a rollover the gateway publishes the old key and the
new one, so tokens signed by either pass everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from shared.errors import UpstreamUnavailable
from shared.logs import get_logger

log = get_logger(__name__)


def kid_of(public_key: Ed25519PublicKey) -> str:
    """The key's RFC 7638 thumbprint: the same key has the same `kid` in every process."""
    jwk = json.loads(OKPAlgorithm.to_jwk(public_key))
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":")
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    jwk = json.loads(OKPAlgorithm.to_jwk(public_key))
    return {**jwk, "kid": kid_of(public_key), "use": "sig", "alg": "EdDSA"}


def public_keys_from_pem(text: str) -> list[Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM bundle (one or more BEGIN PUBLIC KEY blocks)."""
    keys = []
    marker = "-----END PUBLIC KEY-----"
    for block in text.split(marker):
        if "-----BEGIN PUBLIC KEY-----" not in block:
            continue
        key = serialization.load_pem_public_key((block.strip() + "\n" + marker).encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("only Ed25519 public keys are supported")
        keys.append(key)
    return keys


def keys_from_jwks(document: dict[str, Any]) -> dict[str, Any]:
    """kid → key for the Ed25519 signing keys of a JWKS document; others are ignored."""
    keys = {}
    for entry in document.get("keys", []):
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519" or not entry.get("kid"):
            continue
        keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="EdDSA").key
    return keys


class StaticKeys:
    """Keys given in configuration (JWT_PUBLIC_KEYS): nothing is fetched."""

    def __init__(self, public_keys: list[Ed25519PublicKey]) -> None:
        self.keys = {kid_of(key): key for key in public_keys}

    @classmethod
    def from_pem(cls, text: str) -> StaticKeys:
        return cls(public_keys_from_pem(text))

    def key_for(self, kid: str | None) -> Any:
        return self.keys.get(kid or "")


class RemoteKeys:
    """The gateway's JWKS, fetched lazily, cached for `ttl` seconds, refetched on a new kid."""

    def __init__(
        self, url: str, *, ttl: float = 300.0, min_interval: float = 10.0, timeout: float = 3.0
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.min_interval = min_interval
        self.timeout = timeout
        self.keys: dict[str, Any] = {}
        self.fetched_at = float("-inf")
        self.attempted_at = float("-inf")
        self.lock = threading.Lock()
        self.http = requests.Session()

    def key_for(self, kid: str | None) -> Any:
        now = time.monotonic()
        stale = now - self.fetched_at > self.ttl
        if stale or (kid not in self.keys and now - self.attempted_at > self.min_interval):
            self.refresh()
        if not self.keys:
            raise UpstreamUnavailable("The gateway's signing keys are not available; try again.")
        return self.keys.get(kid or "")

    def refresh(self) -> None:
        """Fetch the JWKS; on failure keep the keys we had (they are still the gateway's)."""
        with self.lock:
            now = time.monotonic()
            if now - self.attempted_at < 1.0:  # another thread just did
                return
            self.attempted_at = now
            try:
                response = self.http.get(self.url, timeout=(1.0, self.timeout))
                response.raise_for_status()
                keys = keys_from_jwks(response.json())
            except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
                log.warning("jwks_unavailable", url=self.url, error=str(exc))
                return
            self.keys = keys
            self.fetched_at = now


def trusted_keys(settings) -> StaticKeys | RemoteKeys:
    """The keys a process verifies tokens with: fetched from JWKS_URL, or pinned."""
    if settings.jwks_url:
        return RemoteKeys(settings.jwks_url)
    return StaticKeys.from_pem(settings.jwt_public_keys)
