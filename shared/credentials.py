"""A service's own token, from the gateway's client-credentials grant, cached until near expiry.

`POST /api/v1/auth/token` with the service's name and its own client secret
(SERVICE_CLIENT_SECRET) gives a short-lived token with the service's scopes
(gateway/clients.py). Only the gateway signs tokens; a service cannot make one for a user.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import requests

from shared.errors import UpstreamUnavailable
from shared.logs import get_logger

log = get_logger(__name__)
#: A token is replaced this long before it expires, so a call never carries a stale one.
RENEW_BEFORE_SECONDS = 60


class Credentials(Protocol):
    def token(self) -> str: ...


class GatewayCredentials:
    def __init__(self, gateway_url: str, service: str, secret: str, timeout: float = 3.0) -> None:
        self.url = gateway_url.rstrip("/") + "/api/v1/auth/token"
        self.service = service
        self.secret = secret
        self.timeout = (min(timeout, 1.0), timeout)
        self.http = requests.Session()
        self.lock = threading.Lock()
        self.current = ""
        self.renew_at = 0.0

    def token(self) -> str:
        if self.current and time.monotonic() < self.renew_at:
            return self.current
        with self.lock:
            if not self.current or time.monotonic() >= self.renew_at:
                self._renew()
        return self.current

    def _renew(self) -> None:
        body = {
            "grant_type": "client_credentials",
            "client_id": self.service,
            "client_secret": self.secret,
        }
        try:
            response = self.http.post(self.url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise UpstreamUnavailable("The gateway did not answer for a service token.") from exc
        if response.status_code != 200:
            log.warning("service_token_refused", status=response.status_code)
            raise UpstreamUnavailable(
                f"The gateway refused a service token ({response.status_code})."
            )
        answer = response.json()
        self.current = answer["access_token"]
        lifetime = float(answer.get("expires_in", 300))
        self.renew_at = time.monotonic() + max(lifetime - RENEW_BEFORE_SECONDS, lifetime / 2)


def gateway_credentials(settings) -> GatewayCredentials:
    return GatewayCredentials(
        settings.users_url, settings.service, settings.service_client_secret, settings.http_timeout
    )
