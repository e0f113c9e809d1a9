"""The contacts service as support sees it: does a contact exist?"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import requests

from shared.credentials import Credentials
from shared.deadline import deadline_header
from shared.errors import UpstreamFailed, UpstreamUnavailable
from shared.ids import new_id
from shared.logs import get_logger, request_id_var

log = get_logger(__name__)


class ContactsPort(Protocol):
    def contact_exists(self, contact_id: str) -> bool: ...


class HttpContacts:
    """Asks the contacts service with support's own service token, pooled, with timeouts."""

    def __init__(self, base_url: str, credentials: Credentials, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = (min(timeout, 2.0), timeout)
        self.http = requests.Session()

    def contact_exists(self, contact_id: str) -> bool:
        headers = {
            "Authorization": f"Bearer {self.credentials.token()}",
            "X-Request-ID": request_id_var.get() or new_id(),
            **deadline_header(self.timeout[1]),
        }
        url = f"{self.base_url}/api/v1/contacts/{quote(contact_id, safe='')}"
        try:
            response = self.http.get(url, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("contacts_unreachable", error=str(exc))
            raise UpstreamUnavailable(
                "The contacts service did not answer; nothing was changed, try again."
            ) from exc
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise UpstreamFailed(f"The contacts service answered {response.status_code}.")


class FakeContacts:
    """An in-memory contacts service for tests."""

    def __init__(self) -> None:
        self.contacts: set[str] = set()
        self.down = False
        self.calls: list[str] = []

    def contact_exists(self, contact_id: str) -> bool:
        self.calls.append(contact_id)
        if self.down:
            raise UpstreamUnavailable("The contacts service did not answer; try again.")
        return contact_id in self.contacts
