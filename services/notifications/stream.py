"""The live stream: Server-Sent Events of one user's new notifications.

A stream sends the user's notifications with an id above the last one sent (ids are UUIDv7,
so id order is creation order). On PostgreSQL it waits to be woken by the process's fan-out
(fanout.py, fed by the one LISTEN connection of listener.py), which hands it its new rows,
and queries for itself only at first and then every `safety_poll_seconds` as a net; on SQLite
it queries every `poll_seconds`. Each query runs in its own short session, so an open stream
holds no database connection while it waits. It sends a
`retry:` hint first, a comment line as a heartbeat when it has been quiet for
`heartbeat_seconds`, and ends after `max_seconds` so that no server worker is held forever,
or at once when the process is shutting down; the client reconnects and resumes with
`Last-Event-ID`. No Flask here.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from services.notifications.domain.inbox import newer_than, newest_id
from services.notifications.fanout import Fanout, Offer
from services.notifications.schemas import NotificationSchema
from shared import jsonio, lifecycle
from shared.config import Settings
from shared.db import Database
from shared.errors import ValidationFailed
from shared.logs import get_logger

_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: A notification whose transaction commits up to this long after a newer one's (two workers
#: at once) is still sent; the stream remembers what it sent in this window to send it once.
LOOKBACK_MS = 5_000
PAGE = 100  # notifications per query of one stream
_SCHEMA = NotificationSchema()
log = get_logger(__name__)


@dataclass(frozen=True)
class StreamConfig:
    poll_seconds: float = 0.5
    safety_poll_seconds: float = 30.0
    heartbeat_seconds: float = 15.0
    max_seconds: float = 300.0
    retry_ms: int = 3_000
    ticket_seconds: int = 60

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamConfig:
        """From CRM_SSE_POLL_SECONDS, _SAFETY_POLL_SECONDS, _HEARTBEAT_SECONDS, _MAX_SECONDS,
        _RETRY_MS and CRM_STREAM_TICKET_SECONDS (how long a stream ticket is good for)."""
        extra = settings.extra
        return cls(
            poll_seconds=float(extra.get("CRM_SSE_POLL_SECONDS", cls.poll_seconds)),
            safety_poll_seconds=float(
                extra.get("CRM_SSE_SAFETY_POLL_SECONDS", cls.safety_poll_seconds)
            ),
            heartbeat_seconds=float(extra.get("CRM_SSE_HEARTBEAT_SECONDS", cls.heartbeat_seconds)),
            max_seconds=float(extra.get("CRM_SSE_MAX_SECONDS", cls.max_seconds)),
            retry_ms=int(extra.get("CRM_SSE_RETRY_MS", cls.retry_ms)),
            ticket_seconds=int(extra.get("CRM_STREAM_TICKET_SECONDS", cls.ticket_seconds)),
        )


def resume_point(last_event_id: str | None) -> str | None:
    """A client's Last-Event-ID, checked to be a notification id; None when it sent none."""
    if not last_event_id:
        return None
    value = last_event_id.strip().lower()
    if not _ID.match(value):
        raise ValidationFailed({"Last-Event-ID": ["Not a notification id."]})
    return value


def millis_of(notification_id: str) -> int:
    """The creation time (Unix ms) a UUIDv7 carries in its first 48 bits."""
    return int(notification_id.replace("-", "")[:12], 16)


def floor_id(millis: int) -> str:
    """An id below every UUIDv7 made at `millis` or later."""
    digits = f"{max(millis, 0):012x}"
    return f"{digits[:8]}-{digits[8:]}-0000-0000-000000000000"


class Cursor:
    """What a stream has sent: each notification above `start` once, in id order."""

    def __init__(self, start: str) -> None:
        self.start = start
        self.sent: dict[str, int] = {}  # id -> its millisecond, for the lookback window

    def floor(self) -> str:
        if not self.sent:
            return self.start
        return max(self.start, floor_id(max(self.sent.values()) - LOOKBACK_MS))

    def fresh(self, notification_id: str) -> bool:
        """Not sent yet, and above where the stream looks."""
        return notification_id > self.floor() and notification_id not in self.sent

    def mark(self, notification_id: str) -> None:
        self.sent[notification_id] = millis_of(notification_id)
        oldest_kept = max(self.sent.values()) - LOOKBACK_MS
        self.sent = {i: ms for i, ms in self.sent.items() if ms >= oldest_kept}


def frame(notification: Any) -> str:
    """The SSE frame of a notification: a model object, or its columns as a dict."""
    dumped = _SCHEMA.dump(notification)
    return f"id: {dumped['id']}\nevent: notification\ndata: {jsonio.dumps(dumped)}\n\n"


def query(database: Database, user_id: str, cursor: Cursor) -> tuple[list[Offer], bool]:
    """The user's notifications the stream has not sent, in a short session; and whether
    there are more than one query returns."""
    with database.sessions() as session:
        rows = newer_than(
            session=session, user_id=user_id, after=cursor.floor(), skip=cursor.sent, limit=PAGE
        )
        return [Offer(n.id, n.user_id, frame(n)) for n in rows], len(rows) >= PAGE


def events(
    *,
    database: Database,
    user_id: str,
    after: str | None,
    config: StreamConfig,
    fanout: Fanout | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """The frames of one stream: after `after`, or, without it, only what is newer than now.

    With a `fanout` (PostgreSQL) the stream waits until the fan-out wakes it, or its safety
    poll is due; without one (SQLite) it queries every `poll_seconds`.
    """
    started, sent, waiter = clock(), 0, None
    yield f"retry: {config.retry_ms}\n\n"  # sent at once, so the client knows it is connected
    try:
        with database.sessions() as session:
            cursor = Cursor(after or newest_id(session=session, user_id=user_id) or "")
        if fanout is not None:
            waiter = fanout.add(user_id, cursor.floor())
        for text in _frames(database, user_id, cursor, config, waiter, clock, sleep):
            sent += not text.startswith(":")
            yield text
    except SQLAlchemyError as exc:  # the client reconnects after `retry` and resumes
        log.warning("stream_database_error", user_id=user_id, error=repr(exc))
    finally:
        if waiter is not None and fanout is not None:
            fanout.remove(waiter)
        log.info("stream_closed", user_id=user_id, sent=sent, seconds=round(clock() - started, 1))


def _frames(database, user_id, cursor, config, waiter, clock, sleep) -> Iterator[str]:
    """Notifications and heartbeats until the stream's time is up or the process stops."""
    ends = clock() + config.max_seconds
    # Spread out, so that streams opened together (after a deploy) do not beat and poll
    # together: the first heartbeat and safety poll come at a random point of their period.
    quiet_since = clock() - random.uniform(0, config.heartbeat_seconds)
    due = clock() + random.uniform(0, config.safety_poll_seconds)
    check = True  # at first: what came before the stream joined the fan-out
    while clock() < ends and not lifecycle.stopping():
        offers, more = [], False
        if waiter is not None:
            offers, recheck = waiter.take()
            check = check or recheck
        if check:
            polled, more = query(database, user_id, cursor)
            offers, due = offers + polled, clock() + config.safety_poll_seconds
        fresh = [o for o in sorted(offers, key=lambda o: o.id) if cursor.fresh(o.id)]
        for offer in fresh:
            cursor.mark(offer.id)
            yield offer.text
        if fresh:
            quiet_since = clock()
        elif clock() - quiet_since >= config.heartbeat_seconds:
            quiet_since = clock()
            yield ": keep-alive\n\n"
        if more:
            continue
        if waiter is None:
            sleep(config.poll_seconds)
            continue
        waiter.floor = cursor.floor()
        if waiter.closing:
            return
        waiter.wait(min(due, quiet_since + config.heartbeat_seconds, ends) - clock())
        check = clock() >= due
