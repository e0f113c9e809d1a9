"""Fan-out of new notifications to this process's open streams: per-user waiters, one query.

The listener (listener.py) hears which users were notified and calls `Fanout.wake(users)`:
one query fetches those users' new notifications (each user's above the oldest point any of
their streams has reached) and every waiting stream of those users is handed its user's rows
and woken. A stream filters what it is offered through its own cursor, so a notification
offered twice is still sent once. No Flask, no database connection held while streams wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from shared.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Offer:
    """A notification as a stream sends it: its id, whose it is, and its SSE frame."""

    id: str
    user_id: str
    text: str


#: Fetches, for each user, the offers above that user's id, in id order, at most `limit`.
Fetch = Callable[[Mapping[str, str], int], list[Offer]]


class Feeder(Protocol):
    """What keeps a fan-out woken (the LISTEN connection): started with the first stream."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Waiter:
    """One open stream's place in the fan-out: what it was offered, and the flag that wakes it.

    `floor` is set by the stream (everything at or below it is sent); the fan-out reads it.
    `recheck` asks the stream to query for itself: the offers may be incomplete.
    """

    def __init__(self, user_id: str, floor: str) -> None:
        self.user_id = user_id
        self.floor = floor
        self.recheck = False
        self.closing = False
        self._offers: list[Offer] = []
        self._woken = threading.Event()
        self._lock = threading.Lock()  # the fan-out wakes, the stream takes

    def wake(
        self, offers: Iterable[Offer] = (), *, recheck: bool = False, closing: bool = False
    ) -> None:
        with self._lock:
            self._offers.extend(offers)
            self.recheck = self.recheck or recheck
            self.closing = self.closing or closing
            self._woken.set()

    def wait(self, seconds: float) -> bool:
        """Until woken or `seconds` passed; True when woken."""
        return self._woken.wait(max(seconds, 0.0))

    def take(self) -> tuple[list[Offer], bool]:
        """What was offered since the last take, and whether to query as well."""
        with self._lock:
            self._woken.clear()
            offers, self._offers = self._offers, []
            recheck, self.recheck = self.recheck, False
        return offers, recheck


class Fanout:
    """The open streams of one process by user, woken together by one query per wake."""

    def __init__(self, fetch: Fetch, *, limit: int = 2000, batch: int = 1000) -> None:
        self.fetch = fetch
        self.limit = limit  # rows per query; a full page makes the streams query themselves
        self.batch = batch  # users per query
        self.feeder: Feeder | None = None
        self._waiters: dict[str, set[Waiter]] = {}
        self._lock = threading.Lock()

    def add(self, user_id: str, floor: str) -> Waiter:
        waiter = Waiter(user_id, floor)
        with self._lock:
            self._waiters.setdefault(user_id, set()).add(waiter)
        if self.feeder is not None:
            self.feeder.start()  # at once if it runs already
        return waiter

    def remove(self, waiter: Waiter) -> None:
        with self._lock:
            waiters = self._waiters.get(waiter.user_id, set())
            waiters.discard(waiter)
            if not waiters:
                self._waiters.pop(waiter.user_id, None)

    def users(self) -> list[str]:
        with self._lock:
            return list(self._waiters)

    def waiting(self) -> int:
        with self._lock:
            return sum(len(waiters) for waiters in self._waiters.values())

    def wake(self, user_ids: Iterable[str]) -> None:
        """Offer each of these users' waiting streams that user's new notifications."""
        everyone = sorted(set(user_ids))
        for start in range(0, len(everyone), self.batch):
            users = everyone[start : start + self.batch]
            with self._lock:
                waiters = {u: list(self._waiters[u]) for u in users if u in self._waiters}
            if waiters:
                self._offer(waiters)

    def wake_all(self) -> None:
        """Every waiting stream: after the LISTEN connection was down, a NOTIFY may be missed."""
        self.wake(self.users())

    def close(self) -> None:
        """End every waiting stream (the process stops); their clients reconnect elsewhere."""
        with self._lock:
            everyone = [w for waiters in self._waiters.values() for w in waiters]
        for waiter in everyone:
            waiter.wake(closing=True)

    def stop(self) -> None:
        """Stop the feeder and end the waiting streams."""
        if self.feeder is not None:
            self.feeder.stop()
        self.close()

    def _offer(self, waiters: dict[str, list[Waiter]]) -> None:
        floors = {user: min(w.floor for w in ws) for user, ws in waiters.items()}
        try:
            offers = self.fetch(floors, self.limit)
        except Exception as exc:  # each stream queries for itself, or ends and reconnects
            log.warning("stream_fanout_failed", users=len(floors), error=repr(exc))
            offers, full = [], True
        else:
            full = len(offers) >= self.limit
        by_user: dict[str, list[Offer]] = {}
        for offer in offers:
            by_user.setdefault(offer.user_id, []).append(offer)
        for user, ws in waiters.items():
            for waiter in ws:
                waiter.wake(by_user.get(user, ()), recheck=full)
