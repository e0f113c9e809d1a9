from pathlib import Path

import pytest

from services.sales.app import create_app
from services.sales.contacts import FakeContacts
from shared.config import Settings
from shared.testing.fixtures import migrated
from shared.users import FakeUserDirectory

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture
def sales_db(database_url):
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
def client(sales_db, users, contacts):
    settings = Settings(service="sales", env="test", database_url=sales_db.url)
    app = create_app(settings, database=sales_db, users=users, contacts=contacts)
    return app.test_client()
