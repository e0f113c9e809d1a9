"""Old idempotency keys and inbox rows go; recent ones stay."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase

from shared.db import Database, utcnow
from shared.housekeeping import prune, retentions
from shared.idempotency import IdempotencyMixin
from shared.outbox import InboxMixin


class Base(DeclarativeBase):
    pass


class Key(IdempotencyMixin, Base):
    __tablename__ = "idempotency_keys"


class Inbox(InboxMixin, Base):
    __tablename__ = "inbox"


def key(name: str, age: timedelta) -> Key:
    return Key(
        caller="u",
        key=name,
        fingerprint="f",
        status_code=201,
        body="{}",
        headers="{}",
        created_at=utcnow() - age,
    )


def handled(event_id: str, age: timedelta) -> Inbox:
    return Inbox(consumer="c", event_id=event_id, event_type="t", handled_at=utcnow() - age)


def test_keys_older_than_a_day_and_inbox_rows_older_than_a_month_are_pruned(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/h.db")
    Base.metadata.create_all(database.engine)
    with database.transaction() as session:
        session.add_all([key("old", timedelta(hours=25)), key("new", timedelta(hours=23))])
        session.add_all([handled("old", timedelta(days=31)), handled("new", timedelta(days=29))])

    removed = prune(database, retentions(idempotency_model=Key, inbox_model=Inbox))

    assert removed == {"idempotency_keys": 1, "inbox": 1}
    with database.sessions() as session:
        assert list(session.scalars(select(Key.key))) == ["new"]
        assert list(session.scalars(select(Inbox.event_id))) == ["new"]
    database.dispose()


def test_the_windows_are_configurable():
    policies = retentions(
        idempotency_model=Key,
        inbox_model=Inbox,
        extra={"CRM_IDEMPOTENCY_KEEP_HOURS": "2", "CRM_INBOX_KEEP_DAYS": "90"},
    )
    assert [p.keep for p in policies] == [timedelta(hours=2), timedelta(days=90)]
    assert retentions() == []
