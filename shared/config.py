"""Settings from environment variables only (twelve-factor)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: The development key pair: the gateway signs with the private half unless JWT_PRIVATE_KEY is
#: set, and every process trusts the public half unless told otherwise. Production refuses it.
DEV_JWT_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIHVvSpo4B5f68NqVoymZ05a6O+7h44bfjjpXdtrfOBTB
-----END PRIVATE KEY-----
"""
DEV_JWT_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAEbWhQHuajTQ3VAzw2iUw1olGbOPIyw5iKLLulghR5FE=
-----END PUBLIC KEY-----
"""
#: A service's client secret for the gateway's client-credentials grant, in development.
DEV_CLIENT_SECRET_PREFIX = "dev-only-client-secret-"
DEFAULT_ADMIN_PASSWORD = "admin12345"
DEVELOPMENT_ENVS = {"development", "test"}
#: The largest attachment file (CRM_ATTACHMENT_MAX_BYTES): 25 MiB.
DEFAULT_ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
#: What a multipart upload may add to its file: boundaries, part headers, record_type, record_id.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024


def _jwks_url(env) -> str:
    """JWKS_URL; in production, the gateway's (USERS_URL) unless keys are pinned."""
    if env.get("JWKS_URL"):
        return env["JWKS_URL"]
    production = env.get("CRM_ENV", "development") not in DEVELOPMENT_ENVS
    if production and not env.get("JWT_PUBLIC_KEYS"):
        return env.get("USERS_URL", Settings.users_url).rstrip("/") + "/.well-known/jwks.json"
    return ""


class ConfigError(RuntimeError):
    """The environment does not describe a safe configuration."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """What a process needs to know about its world, read once at start-up."""

    service: str
    env: str = "development"
    database_url: str = ""
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    #: Access tokens' lifetime; refresh tokens renew them (the gateway's JWT_REFRESH_TTL_SECONDS).
    jwt_ttl_seconds: int = 900
    #: Public keys to trust, pinned (PEM); ignored when `jwks_url` is set.
    jwt_public_keys: str = DEV_JWT_PUBLIC_KEY
    #: Where the gateway publishes its public keys; fetched and cached with rotation.
    jwks_url: str = ""
    #: This service's own secret for a service token from the gateway (SERVICE_CLIENT_SECRET).
    client_secret: str = ""
    users_url: str = "http://127.0.0.1:8080"
    contacts_url: str = "http://127.0.0.1:8001"
    support_url: str = "http://127.0.0.1:8003"
    sales_url: str = "http://127.0.0.1:8002"
    billing_url: str = "http://127.0.0.1:8004"
    http_timeout: float = 5.0
    log_level: str = "INFO"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env not in DEVELOPMENT_ENVS

    @classmethod
    def from_env(cls, service: str, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = env.get("CRM_VAR_DIR", "var")
        settings = cls(
            service=service,
            env=env.get("CRM_ENV", "development"),
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir}/{service}.db",
            amqp_url=env.get("AMQP_URL", cls.amqp_url),
            jwt_ttl_seconds=int(env.get("JWT_TTL_SECONDS", "900")),
            jwt_public_keys=env.get("JWT_PUBLIC_KEYS", DEV_JWT_PUBLIC_KEY),
            jwks_url=_jwks_url(env),
            client_secret=env.get("SERVICE_CLIENT_SECRET", ""),
            users_url=env.get("USERS_URL", cls.users_url),
            contacts_url=env.get("CONTACTS_URL", cls.contacts_url),
            support_url=env.get("SUPPORT_URL", cls.support_url),
            sales_url=env.get("SALES_URL", cls.sales_url),
            billing_url=env.get("BILLING_URL", cls.billing_url),
            http_timeout=float(env.get("HTTP_TIMEOUT", "5")),
            log_level=env.get("LOG_LEVEL", "INFO"),
            extra={k: v for k, v in env.items() if k.startswith("CRM_")},
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse to run production with the development defaults."""
        if not self.is_production:
            return
        problems = []
        if not self.jwks_url and DEV_JWT_PUBLIC_KEY.strip() in self.jwt_public_keys:
            problems.append("the development signing key must not be trusted: set JWKS_URL")
        if self.service != "gateway" and self.service_client_secret.startswith(
            DEV_CLIENT_SECRET_PREFIX
        ):
            problems.append("SERVICE_CLIENT_SECRET must be set to this service's own secret")
        if "guest:guest@" in self.amqp_url:
            problems.append("AMQP_URL must not use the guest account")
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must name a PostgreSQL database")
        if self.extra.get("CRM_ADMIN_PASSWORD") == DEFAULT_ADMIN_PASSWORD:
            problems.append("CRM_ADMIN_PASSWORD must not be the development default")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))

    @property
    def service_client_secret(self) -> str:
        return self.client_secret or f"{DEV_CLIENT_SECRET_PREFIX}{self.service}"

    @property
    def attachment_max_bytes(self) -> int:
        """The largest file an attachment may hold."""
        return int(self.extra.get("CRM_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES))

    @property
    def upload_max_bytes(self) -> int:
        """The largest multipart body an upload may be: its file and the form around it."""
        return self.attachment_max_bytes + MULTIPART_ALLOWANCE_BYTES

    def flag(self, name: str, default: bool = False) -> bool:
        return _bool(os.environ.get(name), default)
