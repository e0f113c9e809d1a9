from pathlib import Path

import pytest

from services.notifications.app import create_app
from services.notifications.handlers import consumers
from shared.config import Settings
from shared.consumer import Consumer
from shared.ids import new_id
from shared.testing.events import event_body
from shared.testing.fixtures import migrated

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
#: A stream that polls fast and ends soon, so tests read it whole.
FAST_STREAM = {
    "CRM_SSE_POLL_SECONDS": "0.05",
    "CRM_SSE_HEARTBEAT_SECONDS": "0.3",
    "CRM_SSE_MAX_SECONDS": "1.0",
}


def settings_for(url: str, **extra: str) -> Settings:
    return Settings(
        service="notifications", env="test", database_url=url, extra={**FAST_STREAM, **extra}
    )


def lead_event(owner_id, actor_id, *, event_type="lead.assigned", event_id=None, **data) -> bytes:
    """A lead.* CloudEvent as the sales service publishes it."""
    lead_id = data.pop("id", new_id())
    state = {
        "id": lead_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone_number": None,
        "company_name": "Analytical Engines",
        "lead_source": "website",
        "status": "new",
        "owner_id": owner_id,
        "campaign_id": None,
        "actor_id": actor_id,
        **data,
    }
    if event_type == "lead.assigned":
        state.setdefault("assigned_by", actor_id)
        state.setdefault("previous_owner_id", actor_id)
    return event_body(
        event_type=event_type,
        source="/crm/sales",
        subject=lead_id,
        data=state,
        event_id=event_id,
        correlation_id="req-lead-1",
    )


@pytest.fixture
def notifications_db(database_url):
    database = migrated(database_url, MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture
def app(notifications_db):
    app = create_app(settings_for(notifications_db.url), database=notifications_db)
    yield app
    stop_streams(app)


def stop_streams(app) -> None:
    """End the app's open streams and its listener (PostgreSQL), if a stream started it."""
    if app.extensions["fanout"] is not None:
        app.extensions["fanout"].stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def consumer(notifications_db) -> Consumer:
    """The worker's real consumer, driven without a broker through `handle(body)`."""
    return consumers(settings_for(notifications_db.url), notifications_db)[0]
