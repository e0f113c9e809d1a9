"""The SLA clock over HTTP: due times per priority, recomputed, paused while pending."""

from datetime import datetime, timedelta

from services.support.tests.integration.helpers import AGENT, make_case, move, ok


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_an_urgent_case_is_due_in_an_hour_and_resolved_in_four(client, contacts, clock):
    case = make_case(client, contacts, priority="urgent")
    assert at(case["first_response_due_at"]) == clock.now + timedelta(hours=1)
    assert at(case["resolution_due_at"]) == clock.now + timedelta(hours=4)


def test_raising_the_priority_recomputes_the_due_times(client, contacts, clock):
    opened = clock.now
    case = make_case(client, contacts, priority="low")
    clock.advance(minutes=30)
    url = f"/api/v1/cases/{case['id']}"
    raised = ok(client.patch(url, json={"priority": "high"}, headers=AGENT))
    assert at(raised["first_response_due_at"]) == opened + timedelta(hours=4)
    assert at(raised["resolution_due_at"]) == opened + timedelta(days=1)


def test_pending_stops_the_clock_and_resuming_moves_the_due_times(client, contacts, clock):
    case = make_case(client, contacts, priority="urgent")
    first_due, resolution_due = at(case["first_response_due_at"]), at(case["resolution_due_at"])
    ok(move(client, case, "open"))
    clock.advance(minutes=10)
    ok(move(client, case, "pending"))
    clock.advance(hours=3)
    resumed = ok(move(client, case, "open"))
    assert at(resumed["first_response_due_at"]) == first_due + timedelta(hours=3)
    assert at(resumed["resolution_due_at"]) == resolution_due + timedelta(hours=3)
    clock.advance(minutes=30)
    ok(move(client, case, "pending"))
    clock.advance(minutes=45)
    again = ok(move(client, case, "open"))
    assert at(again["resolution_due_at"]) == resolution_due + timedelta(hours=3, minutes=45)
