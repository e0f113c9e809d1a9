"""The relay in batches, without a broker: FakePublisher, an SQLite file, the confirm book."""

import threading

import pytest
from sqlalchemy import event, func, select

from services.contacts.models import Base, OutboxEvent
from shared.db import Database
from shared.leader import FileLeaderLock
from shared.outbox import Outbox
from shared.publisher import Confirms, NotConfirmed
from shared.relay import FakePublisher, Relay
from shared.testing.helpers import eventually


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/batches.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def record(database, n, per_transaction=1000):
    outbox, ids = Outbox(OutboxEvent, "unit"), []
    for start in range(0, n, per_transaction):
        with database.transaction() as session:
            ids += [
                outbox.record(session, "thing.happened", {"id": f"t{i}", "n": i})
                for i in range(start, min(n, start + per_transaction))
            ]
    return ids


def relay_for(database, tmp_path, connect=FakePublisher, stop=None, **kwargs):
    return Relay(
        database=database,
        model=OutboxEvent,
        connect=connect,
        lock=FileLeaderLock(f"{tmp_path}/lock"),
        stop=stop or threading.Event(),
        **kwargs,
    )


def unpublished(database) -> int:
    with database.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )


def test_rows_go_out_in_batches_of_batch_size_in_seq_order(database, tmp_path):
    ids = record(database, 1200)
    publisher = FakePublisher()
    relay = relay_for(database, tmp_path, batch_size=500)
    assert [relay.publish_pending(publisher) for _ in range(4)] == [500, 500, 200, 0]
    assert publisher.batches == [500, 500, 200]
    assert [m.message_id for m in publisher.messages] == ids
    assert unpublished(database) == 0


def test_a_batch_is_marked_published_with_one_update(database, tmp_path):
    record(database, 300)
    updates = []

    @event.listens_for(database.engine, "before_cursor_execute")
    def count_updates(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    assert relay_for(database, tmp_path).publish_pending(FakePublisher()) == 300
    assert len(updates) == 1 and "outbox" in updates[0]


def test_only_the_confirmed_prefix_is_marked_and_the_rest_is_sent_again_in_order(
    database, tmp_path
):
    ids = record(database, 10)
    publisher = FakePublisher()
    relay = relay_for(database, tmp_path)
    publisher.confirm_at_most = 6
    with pytest.raises(NotConfirmed, match="6 of 10"):
        relay.publish_pending(publisher)
    assert unpublished(database) == 4
    publisher.fail_next = 1  # the broker takes nothing: nothing more is marked
    with pytest.raises(NotConfirmed, match="0 of 4"):
        relay.publish_pending(publisher)
    assert unpublished(database) == 4
    assert relay.publish_pending(publisher) == 4
    assert [m.message_id for m in publisher.messages] == ids


def test_a_running_relay_on_sqlite_polls_and_publishes_what_commits_later(database, tmp_path):
    publisher, stop = FakePublisher(), threading.Event()
    relay = relay_for(database, tmp_path, connect=lambda: publisher, stop=stop, poll_seconds=0.01)
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        eventually(lambda: relay.connected)
        ids = record(database, 3)
        eventually(lambda: [m.message_id for m in publisher.messages] == ids, timeout=30)
    finally:
        stop.set()
        thread.join(30)


def book(n, first=1):
    confirms = Confirms()
    confirms.start(first, [f"m{i}" for i in range(n)])
    return confirms


def test_acks_with_multiple_settle_every_tag_up_to_theirs():
    confirms = book(5, first=11)
    confirms.settle(13, multiple=True, ok=True)
    assert not confirms.settled() and confirms.confirmed_prefix() == 3
    confirms.settle(15, multiple=False, ok=True)
    assert confirms.confirmed_prefix() == 3  # 14 is still open
    confirms.settle(14, multiple=False, ok=True)
    assert confirms.settled() and confirms.confirmed_prefix() == 5 and not confirms.failed()


def test_a_nack_ends_the_confirmed_prefix_even_if_later_ones_are_acked():
    confirms = book(5)
    confirms.settle(2, multiple=True, ok=True)
    confirms.settle(3, multiple=False, ok=False)
    confirms.settle(5, multiple=True, ok=True)
    assert confirms.settled() and confirms.failed() and confirms.confirmed_prefix() == 2


def test_a_returned_message_counts_as_not_taken_though_its_ack_follows():
    confirms = book(4)
    confirms.returned("m1")  # basic.return comes before the ack of the same message
    confirms.settle(4, multiple=True, ok=True)
    assert confirms.settled() and confirms.confirmed_prefix() == 1


def test_confirms_for_tags_of_an_earlier_batch_are_ignored():
    confirms = book(3, first=101)
    confirms.settle(100, multiple=True, ok=False)
    confirms.returned("not-in-this-batch")
    assert confirms.confirmed_prefix() == 0 and not confirms.failed()
    confirms.settle(103, multiple=True, ok=True)
    assert confirms.confirmed_prefix() == 3


class DroppedListener:
    """A LISTEN connection that was lost: the next `connect` succeeds; a `wait` is recorded
    and stops the relay, so a relay that waits ends its wait at once."""

    def __init__(self, stop):
        self.listening, self.waits, self.stop = False, [], stop

    def connect(self):
        self.listening = True
        return True

    def wait(self, seconds):
        self.waits.append(seconds)
        self.stop.set()
        return False

    def check(self):
        pass


def test_a_relay_that_listens_again_looks_at_the_outbox_before_it_waits(database, tmp_path):
    """A commit between the lost LISTEN and the new one sent its NOTIFY to nobody."""
    relay = relay_for(database, tmp_path, safety_poll_seconds=600)
    relay.listener = DroppedListener(relay.stop)
    relay.wait_for_commit(FakePublisher())
    assert relay.listener.listening
    assert relay.listener.waits == []
