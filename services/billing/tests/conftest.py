from pathlib import Path

import pytest

from services.billing import handlers
from services.billing.app import create_app
from services.billing.ports.clock import FakeClock
from services.billing.ports.sales import FakeSales
from shared.config import Settings
from shared.testing.fixtures import migrated

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture
def billing_db(database_url):
    database = migrated(database_url, MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture
def sales():
    return FakeSales()


@pytest.fixture
def clock(monkeypatch):
    """One fake clock for the app and the consumer's handlers (new drafts are issued 'today')."""
    fake = FakeClock()
    monkeypatch.setattr(handlers, "clock", fake)
    return fake


@pytest.fixture
def app(billing_db, sales, clock):
    settings = Settings(service="billing", env="test", database_url=billing_db.url)
    return create_app(settings, database=billing_db, sales=sales, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()
