"""The sales service as billing sees it: does an opportunity or a product exist, and what is it."""

from __future__ import annotations

from typing import Any, Protocol

import requests

from shared.credentials import Credentials
from shared.deadline import deadline_header
from shared.errors import UpstreamFailed, UpstreamUnavailable
from shared.ids import new_id
from shared.logs import get_logger, request_id_var

log = get_logger(__name__)


class SalesPort(Protocol):
    def opportunity(self, opportunity_id: str) -> dict[str, Any] | None: ...

    def product(self, product_id: str) -> dict[str, Any] | None: ...


class HttpSales:
    """Calls the sales service with a service token, pooled, with connect/read timeouts."""

    def __init__(self, base_url: str, credentials: Credentials, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = (min(timeout, 2.0), timeout)
        self.http = requests.Session()

    def _get(self, path: str) -> dict[str, Any] | None:
        headers = {
            "Authorization": f"Bearer {self.credentials.token()}",
            "X-Request-ID": request_id_var.get() or new_id(),
            **deadline_header(self.timeout[1]),
        }
        try:
            response = self.http.get(
                f"{self.base_url}{path}", headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            log.warning("sales_unreachable", path=path, error=str(exc))
            raise UpstreamUnavailable(
                "The sales service did not answer; nothing was changed, try again."
            ) from exc
        if response.status_code == 200:
            return response.json()
        if response.status_code == 404:
            return None
        raise UpstreamFailed(f"The sales service answered {response.status_code}.")

    def opportunity(self, opportunity_id: str) -> dict[str, Any] | None:
        return self._get(f"/api/v1/opportunities/{opportunity_id}")

    def product(self, product_id: str) -> dict[str, Any] | None:
        return self._get(f"/api/v1/products/{product_id}")


class FakeSales:
    """An in-memory sales service for tests: opportunities and products by id."""

    def __init__(self) -> None:
        self.opportunities: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.down = False
        self.calls: list[str] = []

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.down:
            raise UpstreamUnavailable("The sales service did not answer; try again.")

    def opportunity(self, opportunity_id: str) -> dict[str, Any] | None:
        self._check("opportunity")
        return self.opportunities.get(opportunity_id)

    def product(self, product_id: str) -> dict[str, Any] | None:
        self._check("product")
        return self.products.get(product_id)
