"""The deny list: tokens that stop counting before they expire, in every process.

The gateway records a revocation when a user is disabled, changes role or logs out
(gateway/sessions.py). Each process keeps the live ones in memory and refreshes them every
second or so from the gateway (`GET /api/v1/auth/revocations`, with its service token) — the
gateway itself reads its own table — so a revoked token is refused everywhere within a few
seconds, and checking it costs a dictionary lookup. If the gateway cannot be reached, the
last list stays in force and the short access-token life bounds the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from shared.auth import Identity
from shared.credentials import Credentials
from shared.logs import get_logger

log = get_logger(__name__)
#: Revocations are asked for again from a little before the last answer's time, so one that
#: committed late (its transaction began earlier) is not missed.
OVERLAP_SECONDS = 30.0


@dataclass(frozen=True)
class Revoked:
    user_id: str
    session_id: str | None
    revoked_at: float
    expires_at: float


#: since (epoch seconds, or None for all live ones) -> (revocations, the source's time now)
Fetch = Callable[[float | None], tuple[list[Revoked], float]]


class DenyList:
    def __init__(self) -> None:
        self.users: dict[str, Revoked] = {}
        self.sessions: dict[str, Revoked] = {}

    def add(self, entry: Revoked) -> None:
        if entry.session_id:
            self.sessions[entry.session_id] = entry
            return
        known = self.users.get(entry.user_id)
        if known is None or known.revoked_at < entry.revoked_at:
            self.users[entry.user_id] = entry

    def refuses(self, identity: Identity) -> bool:
        if identity.session_id and identity.session_id in self.sessions:
            return True
        entry = self.users.get(identity.user_id)
        return entry is not None and identity.issued_at <= entry.revoked_at

    def prune(self, now: float) -> None:
        for table in (self.users, self.sessions):
            for key in [k for k, e in table.items() if e.expires_at <= now]:
                del table[key]


class RevocationFeed:
    """A DenyList kept current by a background thread, started on first use after a fork.

    The thread stops when nobody has asked for a while (an app in a test that is gone), and
    starts again on the next question.
    """

    def __init__(self, fetch: Fetch, interval: float = 1.0, idle_stop: float = 120.0) -> None:
        self.fetch = fetch
        self.interval = interval
        self.idle_stop = idle_stop
        self.denylist = DenyList()
        self.since: float | None = None
        self.loaded = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.asked_at = time.monotonic()

    def refuses(self, identity: Identity) -> bool:
        if identity.is_service:
            return False
        self.asked_at = time.monotonic()
        self._ensure_running()
        return self.denylist.refuses(identity)

    def poll_once(self) -> None:
        entries, now = self.fetch(self.since)
        for entry in entries:
            self.denylist.add(entry)
        self.denylist.prune(now)
        self.since = now - OVERLAP_SECONDS
        self.loaded.set()

    def _ensure_running(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="revocations", daemon=True)
                self.thread.start()
        self.loaded.wait(timeout=2.0)  # the first list, before the first answer, if it can

    def _run(self) -> None:
        backoff = self.interval
        failing = False
        while time.monotonic() - self.asked_at < self.idle_stop:
            try:
                self.poll_once()
                if failing:
                    log.info("revocations_available")
                failing, backoff = False, self.interval
            except Exception as exc:  # the source is down: keep the last list, try again
                if not failing:
                    log.warning("revocations_unavailable", error=str(exc))
                failing, backoff = True, min(backoff * 2, 30.0)
                self.loaded.set()
            time.sleep(backoff)


def gateway_feed(gateway_url: str, credentials: Credentials, timeout: float = 3.0) -> Fetch:
    """Revocations from the gateway's `GET /api/v1/auth/revocations`, with a service token."""
    url = gateway_url.rstrip("/") + "/api/v1/auth/revocations"
    http = requests.Session()

    def fetch(since: float | None) -> tuple[list[Revoked], float]:
        params = {} if since is None else {"since": f"{since:.3f}"}
        headers = {"Authorization": f"Bearer {credentials.token()}"}
        response = http.get(url, params=params, headers=headers, timeout=(1.0, timeout))
        response.raise_for_status()
        body = response.json()
        return [Revoked(**entry) for entry in body["revocations"]], float(body["now"])

    return fetch
