"""Job runs and consumer outcomes are counted under bounded labels."""

import threading
from types import SimpleNamespace

from prometheus_client import REGISTRY

from shared.consumer import Consumer, Outcome
from shared.jobs import PeriodicJob
from shared.metrics import counted_stream
from shared.testing.helpers import unique


def runs(service: str, job: str, outcome: str) -> float | None:
    return REGISTRY.get_sample_value(
        "crm_job_runs_total", {"service": service, "job": job, "outcome": outcome}
    )


def test_a_job_run_is_counted_ok_or_error():
    service, stop, ticks = unique("svc"), threading.Event(), []

    def tick():
        ticks.append(1)
        if len(ticks) == 2:
            raise RuntimeError("boom")
        if len(ticks) == 3:
            stop.set()

    PeriodicJob("sweep", 0, tick).run(stop, service)
    assert runs(service, "sweep", "ok") == 2
    assert runs(service, "sweep", "error") == 1


class Channel:
    def basic_ack(self, _tag):
        pass

    def basic_publish(self, **_kwargs):
        pass


def test_a_delivery_is_counted_by_outcome_and_an_unknown_type_as_other():
    queue = unique("q")
    consumer = Consumer(
        queue=queue,
        bindings=[],
        handlers={"known.type": lambda *_: None},
        database=None,
        inbox_model=object,  # type: ignore[arg-type]
    )
    consumer.handle = lambda _body: Outcome("duplicate")  # type: ignore[method-assign]
    for key in ("known.type", "made.up-by-a-sender"):
        method = SimpleNamespace(routing_key=key, delivery_tag=1)
        properties = SimpleNamespace(headers=None, message_id="m", type=None)
        consumer.deliver(Channel(), method, properties, b"{}")

    def counted(event_type):
        return REGISTRY.get_sample_value(
            "crm_consumer_events_total",
            {"queue": queue, "event_type": event_type, "outcome": "duplicate"},
        )

    assert counted("known.type") == 1
    assert counted("other") == 1
    assert counted("made.up-by-a-sender") is None


def test_an_event_stream_is_open_from_its_first_frame_until_it_is_closed():
    service = unique("svc")

    def open_streams():
        return REGISTRY.get_sample_value("crm_sse_streams_open", {"service": service}) or 0

    frames = counted_stream(service, iter(["retry: 1\n\n", ": keep-alive\n\n"]))
    assert next(frames) == "retry: 1\n\n"
    assert open_streams() == 1
    frames.close()
    assert open_streams() == 0
    list(counted_stream(service, iter(["a"])))
    assert open_streams() == 0
