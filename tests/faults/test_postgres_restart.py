"""PostgreSQL restarted mid-traffic: the web answers 503 at once, recovers, and no event strands."""

from __future__ import annotations

import threading
from itertools import cycle

import pytest
import requests
from sqlalchemy import select

from services.contacts.models import Company, OutboxEvent
from shared.testing.helpers import auth, delete_consumer_queues, eventually, unique
from shared.testing.processes import base_env, start_web, start_worker
from tests.faults.conftest import unpublished

pytestmark = pytest.mark.integration


class Traffic:
    """Creates companies through the web processes in turn, noting every answer."""

    def __init__(self, webs) -> None:
        self.webs = cycle(webs)
        self.headers = auth("account_manager")
        self.answers: list[requests.Response] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        while not self.stop.is_set():
            self.answers.append(self.create(next(self.webs)))

    def create(self, web) -> requests.Response:
        # A generous timeout: the claim is that it answers, not how fast.
        return requests.post(
            f"{web.url}/api/v1/companies",
            json={"name": unique("co")},
            headers=self.headers,
            timeout=30,
        )

    def created(self) -> set[str]:
        return {r.json()["id"] for r in self.answers if r.status_code == 201}

    def statuses(self) -> set[int]:
        return {r.status_code for r in self.answers}


def test_web_answers_503_while_postgres_restarts_then_recovers_and_every_event_goes_out(
    fault_postgres, service_db, amqp_url, processes, tmp_path
):
    database = service_db("contacts")
    queue = unique("faults-contacts") + ".references"
    env = base_env(database.url, amqp_url, CRM_CONTACTS_QUEUE=queue)
    webs = [start_web("contacts", env, tmp_path, f"contacts-web-{n}") for n in (1, 2)]
    workers = [start_worker("contacts", env, tmp_path, f"contacts-worker-{n}") for n in (1, 2)]
    processes.extend(webs + workers)
    traffic = Traffic(webs)
    try:
        for process in webs + workers:
            process.wait_ready()
        traffic.thread.start()
        eventually(lambda: len(traffic.created()) >= 20, timeout=60)

        fault_postgres.stop_server()
        for web in webs:  # each answers, and says the storage is away for now
            [refused] = eventually(lambda web=web: _refused(traffic.create(web)), timeout=30)
            assert refused.json()["type"] == "/problems/storage-unavailable"
            assert int(refused.headers["Retry-After"]) > 0
        before = len(traffic.answers)
        eventually(lambda: len(traffic.answers) > before + 10, timeout=30)  # still answering
        fault_postgres.start_server()

        for web in webs:  # the same processes, no restart
            eventually(lambda web=web: traffic.create(web).status_code == 201, timeout=60)
        before = len(traffic.created())
        eventually(lambda: len(traffic.created()) > before + 10, timeout=60)
        traffic.stop.set()
        traffic.thread.join(60)

        assert traffic.statuses() <= {201, 503}, traffic.statuses()
        assert all(p.alive() for p in webs + workers)
        eventually(lambda: unpublished(database, OutboxEvent) == 0, timeout=60)
        with database.sessions() as session:  # every 201 was kept, with its event
            kept = set(session.scalars(select(Company.id)))
            announced = set(session.scalars(select(OutboxEvent.subject)))
        assert traffic.created() <= kept and traffic.created() <= announced
    finally:
        if not fault_postgres.running():
            fault_postgres.start_server()  # for the suite's other tests
        traffic.stop.set()
        if traffic.thread.is_alive():
            traffic.thread.join(60)
        delete_consumer_queues(amqp_url, queue)


def _refused(response: requests.Response) -> list[requests.Response]:
    """[the response] if it is a 503 problem, else [] (a Response is falsy when not ok)."""
    if response.status_code == 503:
        assert response.headers["Content-Type"].startswith("application/problem+json")
        return [response]
    return []
