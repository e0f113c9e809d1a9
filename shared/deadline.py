"""Caller deadlines: a service call that has given up must not take effect later.

A caller that waits at most N seconds sends `X-Request-Deadline: <unix time>`. The callee
refuses a request that arrives after it, and rolls back a change it would commit after it,
so a timed-out call (a hung or paused callee that wakes up later) never leaves a change
the caller does not know about. Clocks within one deployment are assumed NTP-synchronised.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from sqlalchemy.orm import Session

from shared.errors import DomainError
from shared.web import before_commit

HEADER = "X-Request-Deadline"


class DeadlinePassed(DomainError):
    status, slug = 504, "deadline-passed"


def deadline_header(timeout_seconds: float) -> dict[str, str]:
    """The header a caller that waits `timeout_seconds` sends."""
    return {HEADER: f"{time.time() + timeout_seconds:.3f}"}


def register_deadlines(app: Flask) -> None:
    @app.before_request
    def honour_deadline():
        raw = request.headers.get(HEADER)
        if not raw:
            return
        try:
            deadline = float(raw)
        except ValueError:
            return
        if time.time() > deadline:
            raise DeadlinePassed("The caller stopped waiting before this request arrived.")
        g.deadline = deadline

        def still_waited_for(_session: Session, _response: Response) -> None:
            if time.time() > deadline:
                raise DeadlinePassed("The caller stopped waiting; nothing was changed.")

        before_commit(still_waited_for)
