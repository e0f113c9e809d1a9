"""The user directory port: is this user id real? Users live in the gateway."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import requests

from shared.credentials import Credentials
from shared.errors import UpstreamUnavailable


class UserDirectory(Protocol):
    def exists(self, user_id: str) -> bool: ...


class HttpUserDirectory:
    """Asks the gateway with a service token, pooled connection and short timeouts."""

    def __init__(self, base_url: str, credentials: Credentials, timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.http = requests.Session()

    def exists(self, user_id: str) -> bool:
        if user_id in {"", ".", ".."}:  # a dot segment would name the collection, not a user
            return False
        token = self.credentials.token()
        try:
            response = self.http.get(
                f"{self.base_url}/api/v1/users/{quote(user_id, safe='')}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=(min(self.timeout, 2.0), self.timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise UpstreamUnavailable("The user directory did not answer; try again.") from exc
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise UpstreamUnavailable(f"The user directory answered {response.status_code}.")


class FakeUserDirectory:
    def __init__(self, *user_ids: str) -> None:
        self.user_ids = set(user_ids)

    def exists(self, user_id: str) -> bool:
        return user_id in self.user_ids
