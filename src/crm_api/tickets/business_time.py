"""SLA clock arithmetic: how much open time has run, and when a target falls due.

No library fits well: businesstimedelta, the one that handles time zones, has not been released
since 2019. So the arithmetic lives here, small and tested case by case (weekends, holidays, a
DST change, pauses, reopenings).

Opening hours are local wall-clock times in the calendar's time zone, turned into UTC day by
day, so a DST change moves them with the clock on the wall. Time spent paused (pending on the
customer, or between solving and reopening) never counts. Without a calendar the clock runs
around the clock.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime | None]  # aware datetimes; None: open-ended
MIDNIGHT = time(0)
_HORIZON_DAYS = 3660  # a target further away than ten years of opening hours is a mistake


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    # Weekday (0 = Monday) -> local opening intervals; an interval ending at 00:00 ends at
    # midnight of the next day.
    weekly_hours: Mapping[int, Sequence[tuple[time, time]]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not any(self.weekly_hours.values()):
            raise ValueError("a business calendar needs opening hours on some day")

    def open_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals (in UTC) from ``start`` on, in order."""
        zone = ZoneInfo(self.timezone)
        day = start.astimezone(zone).date() - timedelta(days=1)
        for _ in range(_HORIZON_DAYS):
            if day not in self.holidays:
                for opens, closes in self.weekly_hours.get(day.weekday(), ()):
                    closes_on = day + timedelta(days=1) if closes == MIDNIGHT else day
                    begin = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
                    end = datetime.combine(closes_on, closes, tzinfo=zone).astimezone(UTC)
                    if end > start:
                        yield max(begin, start), end
            day += timedelta(days=1)
        raise ValueError("no opening hours within ten years")


def _open_within(
    calendar: BusinessCalendar | None, start: datetime, end: datetime | None
) -> Iterator[tuple[datetime, datetime | None]]:
    """The open parts of [start, end)."""
    if calendar is None:
        yield start, end
        return
    for begin, finish in calendar.open_from(start):
        if end is not None and begin >= end:
            return
        yield begin, finish if end is None else min(finish, end)


def running(start: datetime, pauses: Sequence[Interval]) -> Iterator[Interval]:
    """[start, forever) less the paused intervals; the last is open-ended unless a pause is."""
    cursor: datetime | None = start
    for pause_start, pause_end in sorted(pauses, key=lambda pause: pause[0]):
        if cursor is None:
            return
        if pause_end is not None and pause_end <= cursor:
            continue
        if pause_start > cursor:
            yield cursor, pause_start
        cursor = None if pause_end is None else max(cursor, pause_end)
    if cursor is not None:
        yield cursor, None


def elapsed(
    calendar: BusinessCalendar | None,
    start: datetime,
    now: datetime,
    pauses: Sequence[Interval] = (),
) -> timedelta:
    """Open time that has run between ``start`` and ``now``, pauses excluded."""
    total = timedelta()
    for run_start, run_end in running(start, pauses):
        if run_start >= now:
            break
        stop = now if run_end is None else min(run_end, now)
        for begin, end in _open_within(calendar, run_start, stop):
            total += (stop if end is None else end) - begin
    return total


def due_at(
    calendar: BusinessCalendar | None,
    start: datetime,
    target: timedelta,
    pauses: Sequence[Interval] = (),
) -> datetime | None:
    """When ``target`` of open time will have run; None while the clock is paused for good."""
    remaining = target
    for run_start, run_end in running(start, pauses):
        for begin, end in _open_within(calendar, run_start, run_end):
            if end is None or end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
    return None
