"""The support service as contacts sees it: does a case exist?"""

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


class SupportPort(Protocol):
    def case_exists(self, case_id: str) -> bool: ...


class HttpSupport:
    """Asks the support service with contacts' own service token, pooled, with timeouts."""

    def __init__(self, base_url: str, credentials: Credentials, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = (min(timeout, 2.0), timeout)
        self.http = requests.Session()

    def case_exists(self, case_id: str) -> bool:
        if case_id in {"", ".", ".."}:  # a dot segment would name the collection, not a record
            return False
        headers = {
            "Authorization": f"Bearer {self.credentials.token()}",
            "X-Request-ID": request_id_var.get() or new_id(),
            **deadline_header(self.timeout[1]),
        }
        url = f"{self.base_url}/api/v1/cases/{quote(case_id, safe='')}"
        try:
            response = self.http.get(
                url, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            log.warning("support_unreachable", error=str(exc))
            raise UpstreamUnavailable(
                "The support service did not answer; nothing was changed, try again."
            ) from exc
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise UpstreamFailed(f"The support service answered {response.status_code}.")


class FakeSupport:
    """An in-memory support service for tests."""

    def __init__(self) -> None:
        self.cases: set[str] = set()
        self.down = False
        self.calls: list[str] = []

    def case_exists(self, case_id: str) -> bool:
        self.calls.append(case_id)
        if self.down:
            raise UpstreamUnavailable("The support service did not answer; try again.")
        return case_id in self.cases
