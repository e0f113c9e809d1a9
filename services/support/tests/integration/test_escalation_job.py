"""The escalation job: each breach escalated and announced once, however often and by whom."""

import threading

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from services.support.jobs import escalate_breaches
from services.support.models import Escalation
from services.support.tests.integration.helpers import AGENT, events, make_case, move, ok


def escalated(database, case_id=None) -> list[dict]:
    return [
        e
        for e in events(database, event_type="case.escalated")
        if case_id is None or e["id"] == case_id
    ]


def test_a_missed_first_response_is_escalated_once_however_often_the_job_runs(
    client, contacts, support_db, clock
):
    case = make_case(client, contacts, priority="urgent")
    assert escalate_breaches(support_db, clock=clock) == 0
    clock.advance(hours=1, seconds=1)
    for _ in range(3):
        escalate_breaches(support_db, clock=clock)
    (event,) = escalated(support_db, case["id"])
    assert (event["breach"], event["owner_id"], event["actor_id"]) == (
        "first_response",
        "agent-1",
        None,
    )
    assert event["case_number"] == case["case_number"]  # what notifications shows the owner
    shown = ok(client.get(f"/api/v1/cases/{case['id']}", headers=AGENT))
    assert [e["breach"] for e in shown["escalations"]] == ["first_response"]
    clock.advance(hours=3)
    escalate_breaches(support_db, clock=clock)
    escalate_breaches(support_db, clock=clock)
    assert [e["breach"] for e in escalated(support_db, case["id"])] == [
        "first_response",
        "resolution",
    ]


def test_a_pending_case_is_not_escalated_while_its_clock_is_stopped(
    client, contacts, support_db, clock
):
    case = make_case(client, contacts, priority="urgent")
    ok(move(client, case, "open"))
    ok(move(client, case, "pending"))
    clock.advance(hours=5)
    assert escalate_breaches(support_db, clock=clock) == 0
    ok(move(client, case, "open"))
    assert escalate_breaches(support_db, clock=clock) == 0  # the due times moved by 5 hours
    clock.advance(hours=1, seconds=1)
    assert escalate_breaches(support_db, clock=clock) == 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_processes_running_the_job_at_once_escalate_each_breach_once(
    client, contacts, support_db, clock
):
    cases = [make_case(client, contacts, priority="urgent") for _ in range(30)]
    clock.advance(hours=5)  # both targets missed on every case
    start = threading.Barrier(4)
    errors = []

    def run():
        try:
            start.wait(timeout=30)
            for _ in range(3):
                escalate_breaches(support_db, clock=clock)
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    sent = escalated(support_db)
    assert sorted((e["id"], e["breach"]) for e in sent) == sorted(
        (c["id"], b) for c in cases for b in ("first_response", "resolution")
    )
    with support_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Escalation)) == 60


@pytest.mark.parametrize("backend", ["sqlite"])
def test_each_escalation_is_counted_once(client, contacts, support_db, clock, backend):
    before = REGISTRY.get_sample_value("crm_sla_escalations_total")
    make_case(client, contacts, priority="urgent")
    clock.advance(hours=1, seconds=1)
    assert escalate_breaches(support_db, clock=clock) == 1
    escalate_breaches(support_db, clock=clock)
    assert REGISTRY.get_sample_value("crm_sla_escalations_total") == before + 1
