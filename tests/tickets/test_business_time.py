"""SLA clock arithmetic, case by case: exact instants, in the calendar's own time zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_api.tickets.business_time import BusinessCalendar, due_at, elapsed, running

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = {day: [(time(9), time(17))] for day in range(5)}
WEEKDAYS = BusinessCalendar("Europe/Berlin", NINE_TO_FIVE)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)  # type: ignore[misc]


def hours(count: float) -> timedelta:
    return timedelta(hours=count)


def test_calendar_time_runs_around_the_clock() -> None:
    start = datetime(2026, 11, 20, 22, tzinfo=UTC)
    assert due_at(None, start, hours(4)) == datetime(2026, 11, 21, 2, tzinfo=UTC)
    assert elapsed(None, start, start + hours(30)) == hours(30)


def test_a_target_crosses_the_weekend() -> None:
    friday_four_pm = berlin(2026, 11, 20, 16)
    assert due_at(WEEKDAYS, friday_four_pm, hours(4)) == berlin(2026, 11, 23, 12)
    assert elapsed(WEEKDAYS, friday_four_pm, berlin(2026, 11, 23, 12)) == hours(4)


def test_a_ticket_opened_out_of_hours_starts_at_the_next_opening() -> None:
    saturday = berlin(2026, 11, 21, 11)
    assert due_at(WEEKDAYS, saturday, hours(1)) == berlin(2026, 11, 23, 10)
    assert elapsed(WEEKDAYS, saturday, berlin(2026, 11, 23, 9)) == timedelta(0)


def test_holidays_are_skipped() -> None:
    calendar = BusinessCalendar(
        "Europe/Berlin", NINE_TO_FIVE, frozenset({date(2026, 12, 24), date(2026, 12, 25)})
    )
    wednesday = berlin(2026, 12, 23, 15)
    # 2 h on Wednesday, Thursday and Friday are holidays, the weekend is closed: Monday 11:00.
    assert due_at(calendar, wednesday, hours(4)) == berlin(2026, 12, 28, 11)


def test_opening_hours_follow_the_wall_clock_across_a_dst_change() -> None:
    # Berlin moves from +01:00 to +02:00 on Sunday 2026-03-29.
    friday = berlin(2026, 3, 27, 16)
    due = due_at(WEEKDAYS, friday, hours(2))
    assert due == berlin(2026, 3, 30, 10)
    assert due is not None
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 8, tzinfo=UTC)  # +02:00 now
    assert friday.astimezone(UTC) == datetime(2026, 3, 27, 15, tzinfo=UTC)  # +01:00 then


def test_a_round_the_clock_calendar_loses_an_hour_on_the_dst_night() -> None:
    always = BusinessCalendar("Europe/Berlin", {day: [(time(0), time(0))] for day in range(7)})
    saturday_noon = berlin(2026, 3, 28, 12)
    # 24 hours of real time end at 13:00 on the wall clock, which skipped 02:00-03:00.
    assert due_at(always, saturday_noon, hours(24)) == berlin(2026, 3, 29, 13)
    autumn = berlin(2026, 10, 24, 12)  # the wall clock repeats 02:00-03:00 that night
    assert due_at(always, autumn, hours(24)) == berlin(2026, 10, 25, 11)


def test_pending_time_does_not_count() -> None:
    monday_nine = berlin(2026, 11, 23, 9)
    pending = [(berlin(2026, 11, 23, 10), berlin(2026, 11, 23, 14))]
    assert due_at(WEEKDAYS, monday_nine, hours(3), pending) == berlin(2026, 11, 23, 16)
    assert elapsed(WEEKDAYS, monday_nine, berlin(2026, 11, 23, 15), pending) == hours(2)


def test_a_clock_paused_now_has_no_due_time_and_stops() -> None:
    monday_nine = berlin(2026, 11, 23, 9)
    waiting = [(berlin(2026, 11, 23, 11), None)]
    assert due_at(WEEKDAYS, monday_nine, hours(4), waiting) is None
    assert elapsed(WEEKDAYS, monday_nine, berlin(2026, 11, 25, 12), waiting) == hours(2)


def test_solved_then_reopened_counts_only_the_open_stretches() -> None:
    start = datetime(2026, 11, 23, 8, tzinfo=UTC)
    solved_to_reopened = (
        datetime(2026, 11, 23, 9, tzinfo=UTC),
        datetime(2026, 11, 24, 9, tzinfo=UTC),
    )
    pending = (datetime(2026, 11, 24, 10, tzinfo=UTC), datetime(2026, 11, 24, 11, tzinfo=UTC))
    pauses = [pending, solved_to_reopened]  # in any order
    assert due_at(None, start, hours(3), pauses) == datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert list(running(start, pauses)) == [
        (start, solved_to_reopened[0]),
        (solved_to_reopened[1], pending[0]),
        (pending[1], None),
    ]


def test_a_pause_before_the_start_is_ignored() -> None:
    start = datetime(2026, 11, 23, 8, tzinfo=UTC)
    earlier = [(start - hours(5), start - hours(1))]
    assert due_at(None, start, hours(1), earlier) == start + hours(1)


def test_a_calendar_without_opening_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="opening hours"):
        BusinessCalendar("Europe/Berlin", {})
