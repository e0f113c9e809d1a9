"""The fan-out: a wake offers each notified user's streams that user's rows, from one query."""

from services.notifications.fanout import Fanout, Offer
from services.notifications.listener import Listener, live_streams
from shared.db import Database


class FakeInbox:
    """The fan-out's query: what it was asked, and the stored rows it answers with."""

    def __init__(self, rows=(), fails=False) -> None:
        self.rows = list(rows)
        self.fails = fails
        self.asked: list[dict[str, str]] = []

    def __call__(self, floors, limit):
        self.asked.append(dict(floors))
        if self.fails:
            raise OSError("database gone")
        wanted = [r for r in self.rows if r.user_id in floors and r.id > floors[r.user_id]]
        return sorted(wanted, key=lambda r: r.id)[:limit]


class FakeFeeder:
    def __init__(self) -> None:
        self.starts = self.stops = 0

    def start(self) -> None:
        self.starts += 1

    def stop(self) -> None:
        self.stops += 1


def offer(number: int, user: str) -> Offer:
    return Offer(f"id-{number:03d}", user, f"frame {number}")


def test_a_wake_hands_each_stream_of_a_notified_user_its_rows_and_wakes_nobody_else():
    inbox = FakeInbox([offer(1, "ann"), offer(2, "bob"), offer(3, "ann")])
    fanout = Fanout(inbox)
    ann_tab, ann_phone, bob, cy = (fanout.add(u, "") for u in ("ann", "ann", "bob", "cy"))
    fanout.wake(["ann", "bob", "ann"])
    assert len(inbox.asked) == 1 and set(inbox.asked[0]) == {"ann", "bob"}
    for waiter in (ann_tab, ann_phone):
        assert waiter.wait(0) and waiter.take() == ([offer(1, "ann"), offer(3, "ann")], False)
    assert bob.take() == ([offer(2, "bob")], False)
    assert not cy.wait(0) and cy.take() == ([], False)


def test_the_query_starts_each_user_where_the_furthest_behind_of_their_streams_is():
    inbox = FakeInbox()
    fanout = Fanout(inbox)
    fanout.add("ann", "id-005")
    fanout.add("ann", "id-002")
    fanout.add("bob", "id-009")
    fanout.wake(["ann", "bob"])
    assert inbox.asked == [{"ann": "id-002", "bob": "id-009"}]


def test_a_wake_for_users_with_no_open_stream_asks_the_database_nothing():
    inbox = FakeInbox([offer(1, "ann")])
    fanout = Fanout(inbox)
    fanout.add("bob", "")
    fanout.wake(["ann", "dan"])
    assert inbox.asked == []


def test_a_removed_stream_is_no_longer_woken_nor_asked_for():
    inbox = FakeInbox([offer(1, "ann")])
    fanout = Fanout(inbox)
    waiter = fanout.add("ann", "")
    fanout.remove(waiter)
    fanout.wake(["ann"])
    assert inbox.asked == [] and not waiter.wait(0) and fanout.waiting() == 0


def test_a_full_page_or_a_failed_query_asks_the_streams_to_look_for_themselves():
    fanout = Fanout(FakeInbox([offer(n, "ann") for n in range(5)]), limit=3)
    waiter = fanout.add("ann", "")
    fanout.wake(["ann"])
    offers, recheck = waiter.take()
    assert len(offers) == 3 and recheck
    broken = Fanout(FakeInbox(fails=True))
    waiter = broken.add("ann", "")
    broken.wake(["ann"])
    assert waiter.wait(0) and waiter.take() == ([], True)


def test_waking_everyone_covers_every_user_with_a_stream_in_batches():
    inbox = FakeInbox()
    fanout = Fanout(inbox, batch=2)
    waiters = [fanout.add(user, "") for user in ("ann", "bob", "cy", "dan", "eve")]
    fanout.wake_all()
    assert [sorted(floors) for floors in inbox.asked] == [["ann", "bob"], ["cy", "dan"], ["eve"]]
    assert all(w.wait(0) for w in waiters)


def test_the_first_stream_starts_the_feeder_and_stopping_ends_every_stream():
    feeder = FakeFeeder()
    fanout = Fanout(FakeInbox())
    fanout.feeder = feeder
    first, second = fanout.add("ann", ""), fanout.add("bob", "")
    assert feeder.starts == 2  # start() is a no-op for a feeder that runs already
    fanout.stop()
    assert feeder.stops == 1 and first.closing and second.closing and second.wait(0)


class ScriptedListener(Listener):
    """A listener whose connection attempts follow a script; each connection is lost at once."""

    def __init__(self, fanout, attempts) -> None:
        super().__init__("", fanout, retry_seconds=(0.001, 0.002))
        self.attempts = list(attempts)
        self.listened = 0

    def connect(self) -> bool:
        if not self.attempts:
            self._stop.set()
            return False
        return self.attempts.pop(0)

    def listen(self) -> None:
        self.listened += 1


def test_the_listener_wakes_every_stream_each_time_it_listens_again():
    inbox = FakeInbox()
    fanout = Fanout(inbox)
    waiter = fanout.add("ann", "")
    listener = ScriptedListener(fanout, [True, False, False, True])
    listener.run()
    assert listener.listened == 2
    assert inbox.asked == [{"ann": ""}, {"ann": ""}]  # once per connection, none while down
    assert waiter.closing  # the listener stopped: its streams end, their clients reconnect


def test_streams_poll_on_sqlite_and_listen_on_postgresql_directly_when_told_where():
    assert live_streams(Database("sqlite://")) is None
    pooled = Database("postgresql://crm@pooler:6432/notifications")
    assert live_streams(pooled).feeder.conninfo == "postgresql://crm@pooler:6432/notifications"
    direct = live_streams(pooled, "postgresql+psycopg://crm@db:5432/notifications")
    assert direct.feeder.conninfo == "postgresql://crm@db:5432/notifications"
