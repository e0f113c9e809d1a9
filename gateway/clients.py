"""The services that may ask for a token of their own, and what each may do with it.

A service authenticates with its client id (its name) and its own client secret
(SERVICE_CLIENT_SECRET_<NAME> here, SERVICE_CLIENT_SECRET in its own Secret), and gets a
short-lived token carrying only the scopes below. `<service>:read` lets it read that service's
records; `users:read` the user directory and the revocation feed; `contacts:conversions` the
contacts side of a lead conversion.
"""

from __future__ import annotations

import hmac
import os

from shared.config import DEV_CLIENT_SECRET_PREFIX, ConfigError
from shared.errors import Unauthorized

SCOPES: dict[str, tuple[str, ...]] = {
    "contacts": ("users:read", "sales:read", "support:read", "billing:read"),
    "sales": ("users:read", "contacts:read", "contacts:conversions"),
    "support": ("users:read", "contacts:read"),
    "billing": ("users:read", "sales:read"),
    "notifications": ("users:read",),
}
#: How long a service token lives; services fetch a new one before it runs out.
SERVICE_TOKEN_TTL = 300


class Clients:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets

    @classmethod
    def from_env(cls, environ=os.environ, *, production: bool = False) -> Clients:
        secrets = {
            name: environ.get(f"SERVICE_CLIENT_SECRET_{name.upper()}")
            or f"{DEV_CLIENT_SECRET_PREFIX}{name}"
            for name in SCOPES
        }
        if production:
            unset = [n for n, s in secrets.items() if s.startswith(DEV_CLIENT_SECRET_PREFIX)]
            if unset:
                names = ", ".join(f"SERVICE_CLIENT_SECRET_{n.upper()}" for n in unset)
                raise ConfigError(f"refusing to start in production: set {names}")
        return cls(secrets)

    def authenticate(self, client_id: str, client_secret: str) -> tuple[str, ...]:
        """The client's scopes, or Unauthorized for an unknown client or a wrong secret."""
        expected = self.secrets.get(client_id, "")
        if not expected or not hmac.compare_digest(expected.encode(), client_secret.encode()):
            raise Unauthorized("Unknown client or wrong client secret.")
        return SCOPES[client_id]
