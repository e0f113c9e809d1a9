"""Per-account login throttling, counted in the gateway's database so every process agrees."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import and_, case, delete, insert, literal, null, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.models import LoginFailure
from shared.db import Database, UTCDateTime, utcnow
from shared.errors import TooManyRequests
from shared.logs import get_logger

#: At most this many expired rows go per prune.
PRUNE_BATCH = 500
log = get_logger("gateway.login")


def normalised(email: str) -> str:
    """The account an email names, as the users table spells it."""
    return email.strip().lower()[:254]


class LoginThrottle:
    """After `max_failures` wrong passwords within the window, an account is locked for a while.

    Unknown emails are counted like known ones, so a lock says nothing about which accounts
    exist. A count starts again once its window has passed or its lock has ended; a successful
    login forgets it.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_failures: int = 10,
        window_seconds: float = 900,
        lockout_seconds: float = 900,
        prune_every: int = 100,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_seconds)
        self.lockout = timedelta(seconds=lockout_seconds)
        self.prune_every = prune_every
        self.clock = clock
        self.failures_seen = count(1)

    @classmethod
    def from_env(cls, database: Database, environ: Mapping[str, str] = os.environ) -> LoginThrottle:
        return cls(
            database,
            max_failures=int(environ.get("CRM_LOGIN_MAX_FAILURES", 10)),
            window_seconds=float(environ.get("CRM_LOGIN_FAILURE_WINDOW_SECONDS", 900)),
            lockout_seconds=float(environ.get("CRM_LOGIN_LOCKOUT_SECONDS", 900)),
        )

    def check(self, email: str) -> None:
        """Raise TooManyRequests while the account is locked."""
        now = self.clock()
        with self.database.sessions() as session:
            until = session.scalar(
                select(LoginFailure.locked_until).where(
                    LoginFailure.email == normalised(email), LoginFailure.locked_until > now
                )
            )
        if until is not None:
            raise TooManyRequests(
                "Too many failed logins for this account; try again later.",
                retry_after=max(1, math.ceil((until - now).total_seconds())),
            )

    def failed(self, email: str, address: str | None) -> None:
        """Count a wrong password; the one that reaches the limit locks the account."""
        email = normalised(email)
        now = self.clock()
        until = now + self.lockout
        with self.database.transaction() as session:
            failures, locked_until = self._count(session, email, now)
            locked = failures >= self.max_failures and locked_until is None
            if locked:
                session.execute(
                    update(LoginFailure)
                    .where(LoginFailure.email == email)
                    .values(locked_until=until)
                    .execution_options(synchronize_session=False)
                )
        if locked:
            log.warning(
                "login_locked",
                email=email,
                address=address,
                failures=failures,
                locked_until=until.isoformat(),
            )
        nth = next(self.failures_seen)
        if locked or nth % self.prune_every == 0:
            self.prune()

    def succeeded(self, email: str, session: Session) -> None:
        """Forget the account's failures, in the login's own transaction (SQLite has one writer)."""
        session.execute(
            delete(LoginFailure)
            .where(LoginFailure.email == normalised(email))
            .execution_options(synchronize_session=False)
        )

    def prune(self) -> int:
        """Delete up to PRUNE_BATCH rows that no longer count; how many went."""
        now = self.clock()
        expired = self._expired(now)
        batch = select(LoginFailure.email).where(expired).limit(PRUNE_BATCH)
        with self.database.transaction() as session:
            result = session.execute(
                delete(LoginFailure)
                .where(LoginFailure.email.in_(batch), expired)
                .execution_options(synchronize_session=False)
            )
        return result.rowcount

    def _expired(self, now: datetime):
        """A row whose lock has ended, or that was never locked and whose window has passed."""
        return or_(
            LoginFailure.locked_until <= now,
            and_(
                LoginFailure.locked_until.is_(None),
                LoginFailure.first_failed_at <= now - self.window,
            ),
        )

    def _count(self, session: Session, email: str, now: datetime) -> tuple[int, datetime | None]:
        """One more failure, atomically across processes: the failures and lock after it."""
        expired = self._expired(now)
        increment = (
            update(LoginFailure)
            .where(LoginFailure.email == email)
            .values(
                failures=case((expired, 1), else_=LoginFailure.failures + 1),
                first_failed_at=case(
                    (expired, literal(now, UTCDateTime())), else_=LoginFailure.first_failed_at
                ),
                locked_until=case((expired, null()), else_=LoginFailure.locked_until),
            )
            .returning(LoginFailure.failures, LoginFailure.locked_until)
            .execution_options(synchronize_session=False)
        )
        while True:
            row = session.execute(increment).one_or_none()
            if row is not None:
                return row.failures, row.locked_until
            try:
                with session.begin_nested():
                    session.execute(
                        insert(LoginFailure).values(email=email, failures=1, first_failed_at=now)
                    )
                return 1, None
            except IntegrityError:  # another process inserted it first: count on its row
                continue
