from pathlib import Path

import pytest

from gateway.app import create_app as create_gateway
from gateway.models import User
from gateway.users import ensure_admin
from services.contacts.app import create_app as create_contacts
from services.contacts.storage import LocalStorage
from shared.config import Settings
from shared.testing.fixtures import migrated
from shared.testing.postgres import free_port
from shared.testing.server import ThreadServer

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.test", "correct-horse-battery"


@pytest.fixture
def gateway_db(database_url):
    database = migrated(database_url, ROOT / "gateway/migrations")
    with database.transaction() as session:
        ensure_admin(session=session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    yield database
    database.dispose()


@pytest.fixture
def system(gateway_db, tmp_path, monkeypatch):
    """The gateway and a contacts service talking real HTTP on loopback."""
    monkeypatch.setenv("UPSTREAM_READ_TIMEOUT", "2")
    gateway_port, contacts_port = free_port(), free_port()
    contacts_db = migrated(
        f"sqlite:///{tmp_path}/contacts.db", ROOT / "services/contacts/migrations"
    )
    contacts = ThreadServer(
        create_contacts(
            Settings(
                service="contacts",
                env="test",
                database_url=contacts_db.url,
                users_url=f"http://127.0.0.1:{gateway_port}",
            ),
            database=contacts_db,
            storage=LocalStorage(tmp_path / "attachments"),
        ),
        contacts_port,
    )
    app = create_gateway(
        Settings(service="gateway", env="test", database_url=gateway_db.url),
        database=gateway_db,
        urls={"contacts": contacts.url},
    )
    gateway = ThreadServer(app, gateway_port)
    yield {"gateway": gateway.url, "contacts": contacts}
    gateway.stop()
    contacts.stop()
    contacts_db.dispose()


@pytest.fixture
def admin_headers(system):
    import requests

    response = requests.post(
        f"{system['gateway']}/api/v1/auth/login",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def add_user(database, user_id: str, role: str, *, is_active: bool = True) -> None:
    """A user the gateway knows, for tests that present a token made for `user_id`."""
    with database.transaction() as session:
        session.add(
            User(
                id=user_id,
                email=f"{user_id}@example.test",
                name=user_id,
                role=role,
                password_hash="not-used",
                is_active=is_active,
            )
        )
