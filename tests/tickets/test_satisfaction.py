"""CSAT (one 1-5 rating per solved ticket, from its requester) and NPS (0-10, many per contact),
stored as survey responses; and custom fields on tickets."""

from httpx import AsyncClient

from tests.factories import (
    Workspace,
    make_contact,
    make_custom_field,
    make_nps,
    make_ticket,
)
from tests.problems import assert_problem


async def test_csat_rates_a_solved_ticket_once(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    headers = workspace.headers
    ticket = await make_ticket(client, workspace)
    rating = {"kind": "csat", "ticket_id": ticket["id"], "score": 4, "comment": "Quick, thanks"}
    early = await client.post("/v1/survey-responses", json=rating, headers=headers)
    assert assert_problem(early, 409)["allowed"] == ["closed", "solved"]

    await client.patch(f"/v1/tickets/{ticket['id']}", json={"status": "solved"}, headers=headers)
    for score in (0, 6):
        wrong = await client.post(
            "/v1/survey-responses", json={**rating, "score": score}, headers=headers
        )
        assert_problem(wrong, 422, field="score")
    created = await client.post("/v1/survey-responses", json=rating, headers=headers)
    assert created.status_code == 201, created.text
    csat = created.json()
    assert created.headers["Location"] == f"/v1/survey-responses/{csat['id']}"
    assert (csat["kind"], csat["score"], csat["contact_id"]) == ("csat", 4, ticket["requester_id"])
    again = await client.post("/v1/survey-responses", json=rating, headers=headers)
    assert assert_problem(again, 409, field="ticket_id")["existing_id"] == csat["id"]

    foreign = await make_ticket(client, other_workspace)
    stranger = await client.post(
        "/v1/survey-responses", json={**rating, "ticket_id": foreign["id"]}, headers=headers
    )
    assert_problem(stranger, 422, field="ticket_id")
    events = await client.get(
        f"/v1/events?type=survey_response.created&resource_id={csat['id']}", headers=headers
    )
    assert events.json()["data"][0]["data"]["score"] == 4


async def test_nps_answers_are_many_per_contact_and_filterable(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    headers = workspace.headers
    contact = await make_contact(client, workspace)
    other = await make_contact(client, workspace, email="other@example.com")
    for score, when in ((3, "2026-01-10T10:00:00Z"), (9, "2026-02-10T10:00:00Z")):
        await make_nps(client, workspace, contact_id=contact["id"], score=score, responded_at=when)
    await make_nps(client, workspace, contact_id=other["id"], score=10, comment="Love it")
    assert_problem(
        await client.post(
            "/v1/survey-responses",
            json={"kind": "nps", "contact_id": contact["id"], "score": 11},
            headers=headers,
        ),
        422,
        field="score",
    )
    foreign = await make_contact(client, other_workspace)
    assert_problem(
        await client.post(
            "/v1/survey-responses",
            json={"kind": "nps", "contact_id": foreign["id"], "score": 5},
            headers=headers,
        ),
        422,
        field="contact_id",
    )
    assert_problem(
        await client.post(
            "/v1/survey-responses", json={"kind": "ces", "score": 5}, headers=headers
        ),
        422,
    )

    async def scores(query: str) -> list[int]:
        response = await client.get(f"/v1/survey-responses?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [item["score"] for item in response.json()["data"]]

    assert await scores(f"contact_id={contact['id']}") == [9, 3]
    assert await scores(f"contact_id={contact['id']}&sort=responded_at") == [3, 9]
    assert await scores("kind=nps&score_gte=9") == [10, 9]
    assert await scores("responded_at_lte=2026-01-31T00:00:00Z") == [3]
    assert await scores("kind=csat") == []
    page = await client.get("/v1/survey-responses?limit=2", headers=headers)
    rest = await client.get(
        f"/v1/survey-responses?limit=2&cursor={page.json()['next_cursor']}", headers=headers
    )
    assert len(page.json()["data"]) + len(rest.json()["data"]) == 3
    one = page.json()["data"][0]
    fetched = await client.get(f"/v1/survey-responses/{one['id']}", headers=headers)
    assert fetched.json() == one


async def test_tickets_carry_custom_fields(client: AsyncClient, workspace: Workspace) -> None:
    headers = workspace.headers
    await make_custom_field(
        client, workspace, entity="ticket", key="product", field_type="enum", options=["app", "api"]
    )
    await make_custom_field(client, workspace, entity="ticket", key="seats", field_type="number")
    ticket = await make_ticket(client, workspace, custom_fields={"product": "api", "seats": 12})
    assert ticket["custom_fields"] == {"product": "api", "seats": 12}
    await make_ticket(client, workspace, custom_fields={"product": "app", "seats": 3})
    bad = await client.post(
        "/v1/tickets",
        json={
            "subject": "x",
            "requester_id": ticket["requester_id"],
            "custom_fields": {"product": "fax"},
        },
        headers=headers,
    )
    assert_problem(bad, 422, field="product")
    unknown = await client.patch(
        f"/v1/tickets/{ticket['id']}", json={"custom_fields": {"colour": "red"}}, headers=headers
    )
    assert_problem(unknown, 422, field="colour")
    patched = await client.patch(
        f"/v1/tickets/{ticket['id']}", json={"custom_fields": {"seats": None}}, headers=headers
    )
    assert patched.json()["custom_fields"] == {"product": "api"}

    listed = await client.get("/v1/tickets?custom_fields.product=app", headers=headers)
    assert [item["custom_fields"]["seats"] for item in listed.json()["data"]] == [3]
    ranged = await client.get("/v1/tickets?custom_fields.seats_gte=1", headers=headers)
    assert len(ranged.json()["data"]) == 1
    wrong = await client.get("/v1/tickets?custom_fields.nothing=1", headers=headers)
    assert_problem(wrong, 422)
