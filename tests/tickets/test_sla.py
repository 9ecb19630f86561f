"""SLA clocks on tickets through the API: due times, remaining time, pauses, reopenings, business
hours across a DST change, breach lists, and `ticket.sla_breached` once per target.

The clock is moved with time-machine; the breach sweep is called as the service calls it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import time_machine
from fastapi import FastAPI
from httpx import AsyncClient

from crm_api.tickets.service import sweep_sla_breaches
from tests.factories import Workspace, make_member, make_sla_policy, make_ticket
from tests.problems import assert_problem

ALL_PRIORITIES = {
    priority: {"first_response_minutes": 60, "resolution_minutes": 240}
    for priority in ("low", "normal", "high", "urgent")
}
BERLIN_OFFICE = {
    "timezone": "Europe/Berlin",
    "weekly_hours": {
        day: [{"opens": "09:00", "closes": "17:00"}]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
    "holidays": ["2026-04-03", "2026-04-06"],  # Good Friday, Easter Monday
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@contextmanager
def clock(when: str) -> Iterator[None]:
    with time_machine.travel(at(when), tick=False):
        yield


async def _get(client: AsyncClient, workspace: Workspace, ticket: dict[str, Any]) -> Any:
    response = await client.get(f"/v1/tickets/{ticket['id']}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _patch(
    client: AsyncClient, workspace: Workspace, ticket: dict[str, Any], **body: Any
) -> Any:
    response = await client.patch(
        f"/v1/tickets/{ticket['id']}", json=body, headers=workspace.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _say(
    client: AsyncClient, workspace: Workspace, ticket: dict[str, Any], body: str, **fields: Any
) -> None:
    response = await client.post(
        f"/v1/tickets/{ticket['id']}/messages",
        # The requester's words unless a member is named.
        json={"body": body, "author": "member" if fields else "requester", **fields},
        headers=workspace.headers,
    )
    assert response.status_code == 201, response.text


async def _events(client: AsyncClient, workspace: Workspace, ticket_id: str, kind: str) -> Any:
    response = await client.get(
        f"/v1/events?resource_id={ticket_id}&type={kind}&limit=100", headers=workspace.headers
    )
    return response.json()["data"]


async def test_a_calendar_time_clock_runs_breaches_once_and_escalates(
    app: FastAPI, client: AsyncClient, workspace: Workspace
) -> None:
    await make_sla_policy(client, workspace, is_default=True, targets=ALL_PRIORITIES)
    senior = await make_member(client, workspace, role="agent", escalation_target=True)
    with clock("2026-03-02T09:00:00+00:00"):
        ticket = await make_ticket(client, workspace)
    first = ticket["sla"]["first_response"]
    assert first["state"] == "running"
    assert at(first["due_at"]) == at("2026-03-02T10:00:00+00:00")
    assert first["remaining_seconds"] == 3600
    assert at(ticket["sla"]["resolution"]["due_at"]) == at("2026-03-02T13:00:00+00:00")

    with clock("2026-03-02T09:45:00+00:00"):
        assert (await _get(client, workspace, ticket))["sla"]["first_response"][
            "remaining_seconds"
        ] == 900
        assert await sweep_sla_breaches(app.state.sessionmaker) == 0

    with clock("2026-03-02T10:30:00+00:00"):
        overdue = (await _get(client, workspace, ticket))["sla"]["first_response"]
        assert overdue["breached"] is True
        assert overdue["remaining_seconds"] == -1800
        assert await _events(client, workspace, ticket["id"], "ticket.sla_breached") == []
        assert await sweep_sla_breaches(app.state.sessionmaker) == 1
        assert await sweep_sla_breaches(app.state.sessionmaker) == 0
        swept = await _get(client, workspace, ticket)

    breaches = await _events(client, workspace, ticket["id"], "ticket.sla_breached")
    assert [event["data"]["breached_target"] for event in breaches] == ["first_response"]
    assert breaches[0]["actor_type"] == "system"
    assert at(swept["sla"]["first_response"]["breached_at"]) == at("2026-03-02T10:00:00+00:00")
    # The breach escalated the ticket: a step up in priority, to the escalation target.
    assert swept["priority"] == "high"
    assert swept["assignee_id"] == senior["id"]
    assert swept["escalation_reason"] == "first_response_breached"
    escalated = await _events(client, workspace, ticket["id"], "ticket.escalated")
    assert len(escalated) == 1
    assert escalated[0]["previous"]["priority"] == "normal"

    with clock("2026-03-02T13:30:00+00:00"):
        assert await sweep_sla_breaches(app.state.sessionmaker) == 1  # resolution, now
        assert await sweep_sla_breaches(app.state.sessionmaker) == 0
        final = await _get(client, workspace, ticket)
    breaches = await _events(client, workspace, ticket["id"], "ticket.sla_breached")
    assert sorted(event["data"]["breached_target"] for event in breaches) == [
        "first_response",
        "resolution",
    ]
    assert final["priority"] == "urgent"
    assert final["escalation_reason"] == "resolution_breached"


async def test_pending_pauses_and_the_customer_answer_resumes(
    app: FastAPI, client: AsyncClient, workspace: Workspace
) -> None:
    await make_sla_policy(client, workspace, is_default=True, targets=ALL_PRIORITIES)
    with clock("2026-03-02T09:00:00+00:00"):
        ticket = await make_ticket(client, workspace)
    with clock("2026-03-02T09:20:00+00:00"):
        await _patch(client, workspace, ticket, status="pending")
    with clock("2026-03-02T10:30:00+00:00"):
        paused = (await _get(client, workspace, ticket))["sla"]["first_response"]
        assert paused == {
            "target_minutes": 60,
            "state": "paused",
            "due_at": None,
            "remaining_seconds": 2400,
            "breached": False,
            "breached_at": None,
        }
        assert await sweep_sla_breaches(app.state.sessionmaker) == 0
    with clock("2026-03-02T11:00:00+00:00"):
        await _say(client, workspace, ticket, "Here is the invoice number you asked for.")
        resumed = await _get(client, workspace, ticket)
    assert resumed["status"] == "open"
    assert resumed["sla"]["first_response"]["state"] == "running"
    assert at(resumed["sla"]["first_response"]["due_at"]) == at("2026-03-02T11:40:00+00:00")
    assert at(resumed["sla"]["resolution"]["due_at"]) == at("2026-03-02T14:40:00+00:00")


async def test_solving_meets_resolution_and_a_reopening_resumes_it(
    client: AsyncClient, workspace: Workspace
) -> None:
    await make_sla_policy(client, workspace, is_default=True, targets=ALL_PRIORITIES)
    agent = await make_member(client, workspace, role="agent")
    with clock("2026-03-02T09:00:00+00:00"):
        ticket = await make_ticket(client, workspace)
    with clock("2026-03-02T09:30:00+00:00"):
        await _say(client, workspace, ticket, "Looking into it.", author_member_id=agent["id"])
    with clock("2026-03-02T10:00:00+00:00"):
        solved = await _patch(client, workspace, ticket, status="solved")
    assert solved["sla"]["first_response"]["state"] == "met"
    assert solved["sla"]["first_response"]["remaining_seconds"] == 1800
    assert solved["sla"]["resolution"]["state"] == "met"
    assert solved["sla"]["resolution"]["remaining_seconds"] == 3 * 3600
    with clock("2026-03-03T12:00:00+00:00"):
        await _say(client, workspace, ticket, "It happens again.")
        reopened = await _get(client, workspace, ticket)
    assert reopened["status"] == "open"
    resolution = reopened["sla"]["resolution"]
    assert resolution["state"] == "running"
    # 60 of 240 minutes ran before solving; the day and more spent solved do not count.
    assert at(resolution["due_at"]) == at("2026-03-03T15:00:00+00:00")
    assert resolution["remaining_seconds"] == 3 * 3600
    assert reopened["sla"]["first_response"]["state"] == "met"


async def test_a_target_met_late_is_breached_once_without_escalation(
    client: AsyncClient, workspace: Workspace
) -> None:
    await make_sla_policy(client, workspace, is_default=True, targets=ALL_PRIORITIES)
    agent = await make_member(client, workspace, role="agent")
    await make_member(client, workspace, role="agent", escalation_target=True)
    with clock("2026-03-02T09:00:00+00:00"):
        ticket = await make_ticket(client, workspace)
    with clock("2026-03-02T10:15:00+00:00"):
        await _say(client, workspace, ticket, "Sorry for the wait.", author_member_id=agent["id"])
        await _say(client, workspace, ticket, "One more thing.", author_member_id=agent["id"])
        late = await _get(client, workspace, ticket)
    first = late["sla"]["first_response"]
    assert (first["state"], first["breached"], first["remaining_seconds"]) == ("met", True, -900)
    assert at(first["breached_at"]) == at("2026-03-02T10:00:00+00:00")
    breaches = await _events(client, workspace, ticket["id"], "ticket.sla_breached")
    assert len(breaches) == 1
    assert late["priority"] == "normal"
    assert late["escalation_reason"] is None


async def test_business_hours_skip_nights_weekends_holidays_and_follow_dst(
    client: AsyncClient, workspace: Workspace
) -> None:
    policy = await make_sla_policy(
        client, workspace, targets=ALL_PRIORITIES, business_hours=BERLIN_OFFICE
    )
    # Friday 27 March 2026, 16:30 in Berlin (CET, UTC+1). Europe moves to CEST (UTC+2) on the
    # Sunday, so Monday's 09:30 in Berlin is 07:30 UTC.
    with clock("2026-03-27T15:30:00+00:00"):
        ticket = await make_ticket(client, workspace, sla_policy_id=policy["id"])
    assert at(ticket["sla"]["first_response"]["due_at"]) == at("2026-03-30T07:30:00+00:00")
    # 30 minutes on Friday, then Monday 09:00 to 12:30 CEST.
    assert at(ticket["sla"]["resolution"]["due_at"]) == at("2026-03-30T10:30:00+00:00")
    with clock("2026-03-28T12:00:00+00:00"):  # Saturday: the clock stands still
        weekend = (await _get(client, workspace, ticket))["sla"]["first_response"]
    assert weekend["remaining_seconds"] == 1800

    # Thursday 2 April, 16:00 CEST; Good Friday and Easter Monday are holidays.
    with clock("2026-04-02T14:00:00+00:00"):
        holiday = await make_ticket(client, workspace, sla_policy_id=policy["id"])
    assert at(holiday["sla"]["first_response"]["due_at"]) == at("2026-04-02T15:00:00+00:00")
    assert at(holiday["sla"]["resolution"]["due_at"]) == at("2026-04-07T10:00:00+00:00")


async def test_breached_and_at_risk_lists_sorted_by_due_time(
    client: AsyncClient, workspace: Workspace
) -> None:
    await make_sla_policy(client, workspace, is_default=True, targets=ALL_PRIORITIES)
    with clock("2026-03-02T09:00:00+00:00"):
        await make_ticket(client, workspace, subject="early")
    with clock("2026-03-02T09:40:00+00:00"):
        later = await make_ticket(client, workspace, subject="later")
        no_sla = await make_ticket(client, workspace, subject="none", sla_policy_id=None)
    assert no_sla["sla"] is None

    def subjects(response: Any) -> list[str]:
        assert response.status_code == 200, response.text
        return [ticket["subject"] for ticket in response.json()["data"]]

    with clock("2026-03-02T10:10:00+00:00"):
        get = client.get
        breached = await get("/v1/tickets?sla=breached", headers=workspace.headers)
        assert subjects(breached) == ["early"]
        at_risk = await get(
            "/v1/tickets?sla=at_risk&at_risk_within_minutes=30", headers=workspace.headers
        )
        assert subjects(at_risk) == ["later"]
        by_due = await get("/v1/tickets?sort=sla_due_at&limit=1", headers=workspace.headers)
        assert subjects(by_due) == ["early"]
        cursor = by_due.json()["next_cursor"]
        page_two = await get(
            f"/v1/tickets?sort=sla_due_at&limit=1&cursor={cursor}", headers=workspace.headers
        )
        assert subjects(page_two) == ["later"]
        due_soon = await get(
            "/v1/tickets?sla_due_at_lte=2026-03-02T10:45:00Z", headers=workspace.headers
        )
        assert subjects(due_soon) == ["later", "early"]
    assert later["sla"]["first_response"]["due_at"] is not None


async def test_policies_are_validated_and_changes_reach_their_tickets(
    client: AsyncClient, workspace: Workspace
) -> None:
    headers = workspace.headers
    for body, field in (
        ({"timezone": "Mars/Olympus", "weekly_hours": {"monday": []}}, "timezone"),
        (
            {
                "timezone": "Europe/Berlin",
                "weekly_hours": {"monday": [{"opens": "17:00", "closes": "09:00"}]},
            },
            "weekly_hours",
        ),
        ({"timezone": "UTC", "weekly_hours": {"funday": []}}, "weekly_hours"),
    ):
        refused = await client.post(
            "/v1/sla-policies",
            json={"name": "Bad", "targets": {}, "business_hours": body},
            headers=headers,
        )
        assert_problem(refused, 422, field=field)
    assert_problem(
        await client.post(
            "/v1/sla-policies",
            json={"name": "Bad", "targets": {"critical": {"first_response_minutes": 5}}},
            headers=headers,
        ),
        422,
        field="targets",
    )

    one_hour_a_week = {
        "timezone": "UTC",
        "weekly_hours": {"monday": [{"opens": "09:00", "closes": "10:00"}]},
    }
    unreachable = await client.post(
        "/v1/sla-policies",
        json={
            "name": "Slow",
            "targets": {"low": {"resolution_minutes": 200_000}},
            "business_hours": one_hour_a_week,
        },
        headers=headers,
    )
    assert_problem(unreachable, 422, field="targets")

    first = await make_sla_policy(client, workspace, name="Standard", is_default=True)
    duplicate = await client.post(
        "/v1/sla-policies", json={"name": "Standard", "targets": {}}, headers=headers
    )
    assert assert_problem(duplicate, 409)["existing_id"] == first["id"]
    second = await make_sla_policy(client, workspace, name="Premium", is_default=True)
    reread = await client.get(f"/v1/sla-policies/{first['id']}", headers=headers)
    assert reread.json()["is_default"] is False
    assert second["is_default"] is True

    with clock("2026-03-02T09:00:00+00:00"):
        ticket = await make_ticket(client, workspace)
    assert ticket["sla_policy_id"] == second["id"]
    url = f"/v1/sla-policies/{second['id']}"
    stale = await client.patch(url, json={"name": "x"}, headers={**headers, "If-Match": '"99"'})
    assert_problem(stale, 412)
    current = await client.get(url, headers=headers)
    with clock("2026-03-02T09:10:00+00:00"):
        changed = await client.patch(
            url,
            json={"targets": {"normal": {"first_response_minutes": 30}}},
            headers={**headers, "If-Match": current.headers["ETag"]},
        )
        assert changed.status_code == 200, changed.text
        moved = await _get(client, workspace, ticket)
    assert at(moved["sla"]["first_response"]["due_at"]) == at("2026-03-02T09:30:00+00:00")
    assert moved["sla"]["resolution"] is None

    deleted = await client.delete(url, headers=headers)
    assert deleted.status_code == 204
    gone = await _get(client, workspace, ticket)
    assert (gone["sla_policy_id"], gone["sla"]) == (None, None)
    assert_problem(
        await client.post(
            "/v1/tickets",
            json={
                "subject": "x",
                "requester_id": ticket["requester_id"],
                "sla_policy_id": url[-36:],
            },
            headers=headers,
        ),
        422,
        field="sla_policy_id",
    )


async def test_another_workspaces_policy_cannot_be_used(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    foreign = await make_sla_policy(client, other_workspace)
    ticket = await make_ticket(client, workspace)
    refused = await client.patch(
        f"/v1/tickets/{ticket['id']}",
        json={"sla_policy_id": foreign["id"]},
        headers=workspace.headers,
    )
    assert_problem(refused, 422, field="sla_policy_id")


async def test_a_ticket_read_by_id_shows_what_its_write_answered_sla_included(
    client: AsyncClient, workspace: Workspace
) -> None:
    """GET reads a ticket and its policy's calendar in one statement, without ORM objects; at
    the same instant it answers what the write did, running and paused clocks alike."""
    policy = await make_sla_policy(
        client, workspace, targets=ALL_PRIORITIES, business_hours=BERLIN_OFFICE
    )
    with clock("2026-03-27T15:30:00+00:00"):
        running = await make_ticket(client, workspace, sla_policy_id=policy["id"])
        plain = await make_ticket(client, workspace)
        read = await client.get(f"/v1/tickets/{running['id']}", headers=workspace.headers)
        assert read.json() == running
        assert read.json()["sla"]["first_response"]["state"] == "running"
        read = await client.get(f"/v1/tickets/{plain['id']}", headers=workspace.headers)
        assert read.json() == plain
    with clock("2026-03-30T08:00:00+00:00"):
        paused = await client.patch(
            f"/v1/tickets/{running['id']}",
            json={"status": "pending"},
            headers={**workspace.headers, "If-Match": f'"{running["version"]}"'},
        )
        assert paused.status_code == 200, paused.text
        read = await client.get(f"/v1/tickets/{running['id']}", headers=workspace.headers)
    assert read.json() == paused.json()
    assert read.json()["sla"]["resolution"]["state"] == "paused"
