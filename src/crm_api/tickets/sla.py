"""A ticket's SLA clocks: what its policy's targets mean for it now.

Each target (first response, resolution) is a clock that starts when the ticket is created and
runs in the policy's time (around the clock, or the opening hours of its business calendar). It
pauses while the ticket waits on the customer (pending) and while it is solved or closed, so a
reopened ticket resumes where it stopped. The first response clock is met by a member's first
public reply; the resolution clock by solving the ticket.

The evaluation is stored on the ticket at every change (and by the breach sweep): due times of
running clocks and breach times as columns the SLA lists can filter and sort on, and each clock's
state and elapsed time for reading. The arithmetic itself is in ``business_time``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any, Literal

from crm_api.models import SlaPolicy, Ticket

from .business_time import BusinessCalendar, Interval, due_at, elapsed

Target = Literal["first_response", "resolution"]
ClockState = Literal["running", "paused", "met"]
TARGETS: tuple[Target, ...] = ("first_response", "resolution")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PAUSED_IN = frozenset({"pending", "solved", "closed"})


@dataclass(frozen=True, slots=True)
class Clock:
    target: Target
    minutes: int
    state: ClockState
    elapsed: timedelta  # open time run until now, or until the target was met
    due_at: datetime | None  # when the target runs out; None when it never will from here
    breached_at: datetime | None  # due_at, when it passed before the clock stopped


def policy_calendar(policy: SlaPolicy | SimpleNamespace) -> BusinessCalendar | None:
    """The policy's calendar, parsed once per loaded policy (a page of tickets shares it)."""
    cached: tuple[int, BusinessCalendar | None] | None = policy.__dict__.get("_calendar")
    if cached is None or cached[0] != policy.version:
        cached = (policy.version, calendar_of(policy.business_hours))
        policy.__dict__["_calendar"] = cached
    return cached[1]


def calendar_of(business_hours: Mapping[str, Any] | None) -> BusinessCalendar | None:
    """The business calendar a policy stores, or None for calendar time."""
    if business_hours is None:
        return None
    weekly = {
        WEEKDAYS.index(day): [
            (time.fromisoformat(hours["opens"]), time.fromisoformat(hours["closes"]))
            for hours in intervals
        ]
        for day, intervals in business_hours["weekly_hours"].items()
    }
    holidays = frozenset(date.fromisoformat(day) for day in business_hours.get("holidays", ()))
    return BusinessCalendar(business_hours["timezone"], weekly, holidays)


def target_minutes(policy: SlaPolicy, priority: str, target: Target) -> int | None:
    minutes: int | None = policy.targets.get(priority, {}).get(f"{target}_minutes")
    return minutes


def pauses_of(history: Sequence[tuple[str, datetime]]) -> list[Interval]:
    """The intervals a ticket spent pending, solved or closed, from its (status, entered at)
    history in order; the last is open-ended while the ticket is still in one of them."""
    pauses: list[Interval] = []
    paused_since: datetime | None = None
    for status, entered_at in history:
        if status in PAUSED_IN:
            if paused_since is None:
                paused_since = entered_at
        elif paused_since is not None:
            pauses.append((paused_since, entered_at))
            paused_since = None
    if paused_since is not None:
        pauses.append((paused_since, None))
    return pauses


def met_at(ticket: Ticket, target: Target) -> datetime | None:
    if target == "first_response":
        return ticket.first_responded_at
    return ticket.solved_at if ticket.status in {"solved", "closed"} else None


def evaluate(
    policy: SlaPolicy, ticket: Ticket, history: Sequence[tuple[str, datetime]], now: datetime
) -> list[Clock]:
    calendar = policy_calendar(policy)
    pauses = pauses_of(history)
    clocks = []
    for target in TARGETS:
        minutes = target_minutes(policy, ticket.priority, target)
        if minutes is None:
            continue
        met = met_at(ticket, target)
        end = met or now
        state: ClockState = "met" if met else "paused" if ticket.status in PAUSED_IN else "running"
        due = due_at(calendar, ticket.created_at, timedelta(minutes=minutes), pauses)
        clocks.append(
            Clock(
                target=target,
                minutes=minutes,
                state=state,
                elapsed=elapsed(calendar, ticket.created_at, end, pauses),
                due_at=due,
                breached_at=due if due is not None and due < end else None,
            )
        )
    return clocks


def store(ticket: Ticket, clocks: Sequence[Clock]) -> list[Clock]:
    """Keep the evaluation on the ticket; the clocks breached for the first time are returned
    (a breach is recorded once per target and never taken back)."""
    newly_breached = []
    by_target = {clock.target: clock for clock in clocks}
    for target in TARGETS:
        clock = by_target.get(target)
        running_due = clock.due_at if clock is not None and clock.state == "running" else None
        setattr(ticket, f"{target}_due_at", running_due)
        recorded = getattr(ticket, f"{target}_breached_at")
        if clock is not None and clock.breached_at is not None and recorded is None:
            setattr(ticket, f"{target}_breached_at", clock.breached_at)
            newly_breached.append(clock)
    upcoming = [
        due
        for target in TARGETS
        if (due := getattr(ticket, f"{target}_due_at")) is not None
        and getattr(ticket, f"{target}_breached_at") is None
    ]
    breaches = [
        breached
        for target in TARGETS
        if (breached := getattr(ticket, f"{target}_breached_at")) is not None
    ]
    ticket.sla_due_at = min(upcoming, default=None)
    ticket.sla_breached_at = min(breaches, default=None)
    ticket.sla_clocks = {
        clock.target: {
            "minutes": clock.minutes,
            "state": clock.state,
            "elapsed_seconds": int(clock.elapsed.total_seconds()),
        }
        for clock in clocks
    }
    return newly_breached


def view(ticket: Ticket | SimpleNamespace, now: datetime) -> dict[str, Any] | None:
    """The SLA block of a ticket as read at ``now``, from what ``store`` kept (a ticket, or a
    row of its columns with ``sla_policy`` as its policy's id, version and business hours)."""
    policy = ticket.sla_policy
    if policy is None:
        return None
    calendar = policy_calendar(policy)
    block: dict[str, Any] = {"policy_id": policy.id}
    for target in TARGETS:
        stored = ticket.sla_clocks.get(target)
        if stored is None:
            block[target] = None
            continue
        due: datetime | None = getattr(ticket, f"{target}_due_at")
        breached_at: datetime | None = getattr(ticket, f"{target}_breached_at")
        if stored["state"] == "running" and due is not None:
            if now <= due:
                remaining = elapsed(calendar, now, due)
            else:
                remaining = -elapsed(calendar, due, now)
                breached_at = breached_at or due
        else:
            remaining = timedelta(minutes=stored["minutes"], seconds=-stored["elapsed_seconds"])
        block[target] = {
            "target_minutes": stored["minutes"],
            "state": stored["state"],
            "due_at": due,
            "remaining_seconds": int(remaining.total_seconds()),
            "breached": breached_at is not None,
            "breached_at": breached_at,
        }
    return block
