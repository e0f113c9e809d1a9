from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.support.app import create_app
from services.support.ports.contacts import FakeContacts
from shared.config import Settings
from shared.testing.fixtures import migrated
from shared.users import FakeUserDirectory

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


class FakeClock:
    """A clock a test moves by hand; nothing ever sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def support_db(database_url):
    database = migrated(database_url, MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture
def users():
    return FakeUserDirectory()


@pytest.fixture
def contacts():
    return FakeContacts()


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
def client(support_db, users, contacts, clock):
    settings = Settings(service="support", env="test", database_url=support_db.url)
    app = create_app(settings, database=support_db, users=users, contacts=contacts, clock=clock)
    return app.test_client()
