"""Other services' records as contacts sees them: does a lead, case, invoice, … exist?

Asked only while the local replica (record_refs, case_refs) has not caught up with the
owner's events, so a record created a moment ago can be tagged at once.
"""

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

#: record_type -> (owning service, its collection under /api/v1).
OWNERS = {
    "lead": ("sales", "leads"),
    "opportunity": ("sales", "opportunities"),
    "campaign": ("sales", "campaigns"),
    "product": ("sales", "products"),
    "case": ("support", "cases"),
    "invoice": ("billing", "invoices"),
}


class RecordsPort(Protocol):
    def exists(self, record_type: str, record_id: str) -> bool: ...


class HttpRecords:
    """Asks the owning service with contacts' own service token, pooled, with timeouts."""

    def __init__(
        self, urls: dict[str, str], credentials: Credentials, timeout: float = 5.0
    ) -> None:
        self.urls = {service: url.rstrip("/") for service, url in urls.items()}
        self.credentials = credentials
        self.timeout = (min(timeout, 2.0), timeout)
        self.http = requests.Session()

    def exists(self, record_type: str, record_id: str) -> bool:
        service, collection = OWNERS[record_type]
        if record_id in {"", ".", ".."}:  # a dot segment would name the collection, not a record
            return False
        headers = {
            "Authorization": f"Bearer {self.credentials.token()}",
            "X-Request-ID": request_id_var.get() or new_id(),
            **deadline_header(self.timeout[1]),
        }
        url = f"{self.urls[service]}/api/v1/{collection}/{quote(record_id, safe='')}"
        try:
            response = self.http.get(
                url, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            log.warning("owner_unreachable", service=service, error=str(exc))
            raise UpstreamUnavailable(
                f"The {service} service did not answer; nothing was changed, try again."
            ) from exc
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise UpstreamFailed(f"The {service} service answered {response.status_code}.")


class FakeRecords:
    """In-memory owning services for tests: `records` holds (record_type, record_id) pairs."""

    def __init__(self) -> None:
        self.records: set[tuple[str, str]] = set()
        self.down = False
        self.calls: list[tuple[str, str]] = []

    def exists(self, record_type: str, record_id: str) -> bool:
        self.calls.append((record_type, record_id))
        if self.down:
            raise UpstreamUnavailable("The owning service did not answer; try again.")
        return (record_type, record_id) in self.records
