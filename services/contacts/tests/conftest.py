from pathlib import Path

import pytest

from services.contacts.app import create_app
from services.contacts.ports.records import FakeRecords
from services.contacts.ports.support import FakeSupport
from services.contacts.storage import LocalStorage
from shared.config import Settings
from shared.testing.fixtures import migrated
from shared.users import FakeUserDirectory

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture
def contacts_db(database_url):
    database = migrated(database_url, MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture
def users():
    return FakeUserDirectory()


@pytest.fixture
def support():
    return FakeSupport()


@pytest.fixture
def records():
    return FakeRecords()


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "attachments")


@pytest.fixture
def client(contacts_db, users, support, records, storage):
    settings = Settings(service="contacts", env="test", database_url=contacts_db.url)
    app = create_app(
        settings,
        database=contacts_db,
        users=users,
        support=support,
        records=records,
        storage=storage,
    )
    return app.test_client()
