"""The contacts service as sales sees it: reference checks and the conversion call."""

from __future__ import annotations

from typing import Any, Protocol

import requests

from shared import jsonio
from shared.credentials import Credentials
from shared.deadline import deadline_header
from shared.errors import Conflict, UpstreamFailed, UpstreamUnavailable, ValidationFailed
from shared.ids import new_id
from shared.logs import get_logger, request_id_var

log = get_logger(__name__)
#: What the contacts service's 409 lists about each contact that already has the lead's email.
CANDIDATE_FIELDS = ("id", "name", "email", "company_id")


class ContactsPort(Protocol):
    def company_exists(self, company_id: str) -> bool: ...

    def contact_exists(self, contact_id: str) -> bool: ...

    def convert(self, request: dict[str, Any]) -> dict[str, Any]: ...

    def cancel_conversion(self, lead_id: str) -> None: ...


class HttpContacts:
    """Calls the contacts service with a service token, pooled, with connect/read timeouts."""

    def __init__(self, base_url: str, credentials: Credentials, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = (min(timeout, 2.0), timeout)
        self.http = requests.Session()

    def _call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {self.credentials.token()}",
            "X-Request-ID": request_id_var.get() or new_id(),
            **deadline_header(self.timeout[1]),
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            return self.http.request(
                method,
                f"{self.base_url}{path}",
                data=None if body is None else jsonio.dumps(body),
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            log.warning("contacts_unreachable", path=path, error=str(exc))
            raise UpstreamUnavailable(
                "The contacts service did not answer; nothing was changed, try again."
            ) from exc

    def _exists(self, path: str) -> bool:
        response = self._call("GET", path)
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise UpstreamFailed(f"The contacts service answered {response.status_code}.")

    def company_exists(self, company_id: str) -> bool:
        return self._exists(f"/api/v1/companies/{company_id}")

    def contact_exists(self, contact_id: str) -> bool:
        return self._exists(f"/api/v1/contacts/{contact_id}")

    def convert(self, request: dict[str, Any]) -> dict[str, Any]:
        response = self._call("POST", "/api/v1/conversions", request)
        if response.status_code in (200, 201):
            return response.json()
        problem = _problem(response)
        if response.status_code == 409:
            extra = {k: v for k, v in problem.items() if k not in _PROBLEM_KEYS}
            raise Conflict(problem.get("detail", "The contacts service refused."), **extra)
        if response.status_code == 422:
            raise ValidationFailed(problem.get("errors") or {}, problem.get("detail", "Invalid"))
        raise UpstreamFailed(
            f"The contacts service answered {response.status_code}; nothing was changed."
        )

    def cancel_conversion(self, lead_id: str) -> None:
        response = self._call("DELETE", f"/api/v1/conversions/{lead_id}")
        if response.status_code not in (204, 404):
            raise UpstreamFailed(f"The contacts service answered {response.status_code}.")


_PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class FakeContacts:
    """An in-memory contacts service for unit tests, with the real one's conversion rules."""

    def __init__(self) -> None:
        self.companies: dict[str, dict] = {}
        self.contacts: dict[str, dict] = {}
        self.conversions: dict[str, dict] = {}
        self.down = False
        self.calls: list[str] = []

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.down:
            raise UpstreamUnavailable("The contacts service did not answer; try again.")

    def company_exists(self, company_id: str) -> bool:
        self._check("company_exists")
        return company_id in self.companies

    def contact_exists(self, contact_id: str) -> bool:
        self._check("contact_exists")
        return contact_id in self.contacts

    def convert(self, request: dict[str, Any]) -> dict[str, Any]:
        self._check("convert")
        done = self.conversions.get(request["lead_id"])
        if done and done["status"] == "active":
            return done
        company_id = request.get("company_id")
        if company_id is not None and company_id not in self.companies:
            raise ValidationFailed({"company_id": [f"No company with id '{company_id}'."]})
        contact_id = request.get("contact_id")
        if contact_id is not None and contact_id not in self.contacts:
            raise ValidationFailed({"contact_id": [f"No contact with id '{contact_id}'."]})
        created_contact = contact_id is None
        if created_contact:
            email = request["contact"].get("email")
            candidates = [c for c in self.contacts.values() if email and c.get("email") == email]
            if candidates and not (request.get("attach_to_existing") and len(candidates) == 1):
                raise Conflict(
                    "A contact with this email exists.",
                    candidates=[{key: c.get(key) for key in CANDIDATE_FIELDS} for c in candidates],
                )
            if candidates:
                contact_id, created_contact = candidates[0]["id"], False
        created_company = "company" in request
        if created_company:
            company_id = new_id()
            self.companies[company_id] = {"id": company_id, **request["company"]}
        if created_contact:
            contact_id = new_id()
            self.contacts[contact_id] = {
                "id": contact_id,
                **request["contact"],
                "company_id": company_id,
            }
        result = {
            "lead_id": request["lead_id"],
            "company_id": company_id,
            "contact_id": contact_id,
            "created_company": created_company,
            "created_contact": created_contact,
            "status": "active",
        }
        self.conversions[request["lead_id"]] = result
        return result

    def cancel_conversion(self, lead_id: str) -> None:
        self._check("cancel_conversion")
        done = self.conversions.get(lead_id)
        if not done or done["status"] != "active":
            return
        if done["created_contact"]:
            self.contacts.pop(done["contact_id"], None)
        if done["created_company"]:
            self.companies.pop(done["company_id"], None)
        done["status"] = "cancelled"
