"""Keep secrets out of logs: a structlog processor that masks them wherever they appear."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

MASK = "[REDACTED]"
SECRET_KEYS = {
    "password",
    "passwd",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "authorization",
    "secret",
    "ticket",
    "api_key",
    "cookie",
    "set_cookie",
    "private_key",
}
SECRET_SUFFIXES = ("_password", "_secret", "_token")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_SECRET_PARAM = re.compile(
    r"(?i)\b(password|token|access_token|refresh_token|client_secret|secret|ticket)=[^&\s\"']+"
)
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^/\s@]+@")


def is_secret_key(key: object) -> bool:
    name = str(key).lower().replace("-", "_")
    return name in SECRET_KEYS or name.endswith(SECRET_SUFFIXES)


def could_hold_a_secret(text: str) -> bool:
    """False only when no pattern of `redact_text` can match: each needs "eyJ", "=", "@", or
    "bearer"/"basic" in any case. Non-ASCII text always goes through the patterns, whose
    case-insensitive matching also takes letters such as U+017F (long s) for "s"."""
    if "eyJ" in text or "=" in text or "@" in text or not text.isascii():
        return True
    lowered = text.lower()
    return "bearer" in lowered or "basic" in lowered


def redact_text(text: str) -> str:
    """`text` with JWTs, bearer credentials, secret query parameters and URL passwords masked."""
    if not could_hold_a_secret(text):
        return text
    text = _JWT.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)
    text = _SECRET_PARAM.sub(lambda m: f"{m[1]}={MASK}", text)
    return _URL_PASSWORD.sub(lambda m: f"{m[1]}{MASK}@", text)


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: MASK if is_secret_key(k) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return value


def redact(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: secret keys' values masked, secrets inside strings masked."""
    for key, value in event_dict.items():
        if key.startswith("_"):
            continue
        event_dict[key] = MASK if is_secret_key(key) else redact_value(value)
    return event_dict
