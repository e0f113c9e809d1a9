import threading
from pathlib import Path
from urllib.parse import urlparse

import pika
import pytest

from services.contacts.app import create_app
from shared.config import Settings
from shared.testing.fixtures import migrated
from shared.users import FakeUserDirectory

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def contacts_db(database_url):
    database = migrated(database_url, ROOT / "services/contacts/migrations")
    yield database
    database.dispose()


@pytest.fixture
def client(contacts_db):
    settings = Settings(service="contacts", env="test", database_url=contacts_db.url)
    return create_app(settings, database=contacts_db, users=FakeUserDirectory()).test_client()


@pytest.fixture
def broker_address(amqp_url):
    parsed = urlparse(amqp_url)
    return parsed.hostname, parsed.port or 5672


@pytest.fixture
def channel(amqp_url):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    yield connection.channel()
    connection.close()


@pytest.fixture
def background():
    """Run `target` on threads; stop them all at the end of the test."""
    stop = threading.Event()
    threads = []

    def start(target):
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        threads.append(thread)
        return thread

    yield stop, start
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
