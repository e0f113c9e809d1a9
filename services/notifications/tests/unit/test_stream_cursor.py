"""The stream's bookkeeping: where to resume, and sending each notification once."""

import pytest

from services.notifications.stream import LOOKBACK_MS, Cursor, floor_id, millis_of, resume_point
from shared.errors import ValidationFailed
from shared.ids import new_id


def test_ids_carry_their_millisecond_and_the_floor_id_sorts_below_every_id_of_it():
    made = new_id()
    ms = millis_of(made)
    assert floor_id(ms) < made < floor_id(ms + 1)
    assert floor_id(ms - 1) < floor_id(ms)


def test_a_resume_point_must_look_like_a_notification_id():
    made = new_id()
    assert resume_point(made) == made and resume_point(made.upper()) == made
    assert resume_point(None) is None and resume_point("") is None
    with pytest.raises(ValidationFailed):
        resume_point("42; drop table notifications")


def test_the_cursor_starts_after_the_start_and_looks_back_a_little_once_it_has_sent():
    start = floor_id(1_000_000)
    cursor = Cursor(start)
    assert cursor.floor() == start
    sent = f"{floor_id(1_000_000 + 60_000)[:-1]}1"
    cursor.mark(sent)
    assert cursor.floor() == floor_id(1_000_000 + 60_000 - LOOKBACK_MS)
    assert set(cursor.sent) == {sent}


def test_the_cursor_never_looks_back_before_its_start_and_forgets_what_is_out_of_the_window():
    start = floor_id(2_000_000)
    cursor = Cursor(start)
    cursor.mark(f"{floor_id(2_000_001)[:-1]}1")
    assert cursor.floor() == start
    cursor.mark(f"{floor_id(2_000_001 + 2 * LOOKBACK_MS)[:-1]}1")
    assert len(cursor.sent) == 1
