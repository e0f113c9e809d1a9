"""GET /reports/cases: open counts, breaches, and business hours to respond and resolve."""

from datetime import timedelta

from services.support.handlers import consumers
from services.support.jobs import escalate_breaches
from services.support.tests.integration.helpers import MANAGER, make_case, move, ok
from shared.config import Settings
from shared.ids import new_id
from shared.testing.events import event_body


def respond(database, case, at):
    consumer = consumers(Settings(service="support", database_url=database.url), database)[0]
    data = {"id": new_id(), "case_id": case["id"], "created_at": at.isoformat()}
    body = event_body(
        event_type="interaction.logged", source="/crm/contacts", subject=None, data=data
    )
    assert consumer.handle(body).kind == "ack"


def test_the_report_counts_open_cases_breaches_and_times(client, contacts, support_db, clock):
    opened = clock.now
    fast = make_case(client, contacts, priority="urgent")
    slow = make_case(client, contacts, priority="urgent")
    waiting = make_case(client, contacts, priority="low")
    respond(support_db, fast, opened + timedelta(minutes=30))
    respond(support_db, slow, opened + timedelta(hours=2))
    for status in ("open", "resolved"):
        clock.advance(hours=1)
        ok(move(client, fast, status))
    ok(move(client, waiting, "open"))
    ok(move(client, waiting, "pending"))
    clock.now = opened + timedelta(hours=5)
    escalate_breaches(support_db, clock=clock)
    report = ok(client.get("/api/v1/reports/cases", headers=MANAGER))
    assert report["open_by_status"] == {"new": 1, "open": 0, "pending": 1}
    assert report["open_by_priority"] == {"low": 1, "medium": 0, "high": 0, "urgent": 1}
    assert report["breaches"] == {"first_response": 1, "resolution": 1}  # slow, on both counts
    assert report["first_response"] == {"count": 2, "mean_hours": 1.25, "p90_hours": 2.0}
    assert report["resolution"] == {"count": 1, "mean_hours": 2.0, "p90_hours": 2.0}
    urgent = ok(client.get("/api/v1/reports/cases?priority=low", headers=MANAGER))
    assert urgent["open_by_priority"]["urgent"] == 0 and urgent["first_response"]["count"] == 0
    later = (opened + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    none = ok(client.get(f"/api/v1/reports/cases?created_from={later}", headers=MANAGER))
    assert none["open_by_status"] == {"new": 0, "open": 0, "pending": 0}
    assert client.get("/api/v1/reports/cases?priority=huge", headers=MANAGER).status_code == 422
