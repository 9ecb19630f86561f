"""RFM scores and segments, computed from paid and fulfilled orders, hand-checked."""

from datetime import datetime
from typing import Any

import time_machine
from fastapi import FastAPI
from httpx import AsyncClient

from crm_api.rfm.service import recompute_stale
from tests.factories import Workspace, make_contact, make_product


async def test_quintiles_and_segments(
    app: FastAPI, client: AsyncClient, workspace: Workspace
) -> None:
    """Five customers, every score distinct: by recency C5 < C4 < C3 < C2 < C1; by frequency
    and money C2 (1 order, 50) < C5 (2, 200) < C3 (3, 300) < C4 (4, 400) < C1 (5, 500)."""
    headers = workspace.headers
    product = await make_product(client, workspace)
    plan = {
        "c1": ["2026-05-26", "2026-05-27", "2026-05-28", "2026-05-29", "2026-05-30"],
        "c2": ["2026-05-25"],
        "c3": ["2026-03-30", "2026-03-31", "2026-04-01"],
        "c4": ["2026-01-12", "2026-01-13", "2026-01-14", "2026-01-15"],
        "c5": ["2025-11-30", "2025-12-01"],
    }
    contacts = {}
    for name, days in plan.items():
        contacts[name] = await make_contact(client, workspace, email=f"{name}@example.com")
        for day in days:
            line = {"product_id": product["id"], "quantity": 1}
            if name == "c2":
                line["unit_price"] = "50.00"
            response = await client.post(
                "/v1/orders",
                json={
                    "contact_id": contacts[name]["id"],
                    "status": "paid",
                    "placed_at": f"{day}T10:00:00Z",
                    "lines": [line],
                },
                headers=headers,
            )
            assert response.status_code == 201, response.text
    with time_machine.travel(datetime.fromisoformat("2026-06-01T00:00:00+00:00"), tick=False):
        computed = await client.post("/v1/rfm/compute", headers=headers)
    assert computed.json()["customers"] == 5

    scores = (await client.get("/v1/rfm?limit=10", headers=headers)).json()["data"]
    by_contact = {row["contact_id"]: row for row in scores}
    expected = {
        "c1": (5, 5, 5, "champions", "500.00", 1),
        "c2": (4, 1, 1, "promising", "50.00", 6),
        "c3": (3, 3, 3, "loyal", "300.00", 60),
        "c4": (2, 4, 4, "at_risk", "400.00", 136),
        "c5": (1, 2, 2, "lost", "200.00", 181),
    }
    for name, (r, f, m, segment, monetary, recency) in expected.items():
        row = by_contact[contacts[name]["id"]]
        assert (row["r_score"], row["f_score"], row["m_score"]) == (r, f, m), name
        assert (row["segment"], row["monetary"], row["recency_days"]) == (
            segment,
            monetary,
            recency,
        ), name
    assert [row["monetary"] for row in scores] == ["500.00", "400.00", "300.00", "200.00", "50.00"]

    at_risk = await client.get("/v1/contacts?rfm_segment=at_risk", headers=headers)
    assert [c["id"] for c in at_risk.json()["data"]] == [contacts["c4"]["id"]]
    champions = await client.get("/v1/rfm?segment=champions&segment=loyal", headers=headers)
    assert len(champions.json()["data"]) == 2

    # A new order marks the scores stale; the worker recomputes them.
    response = await client.post(
        "/v1/orders",
        json={
            "contact_id": contacts["c5"]["id"],
            "status": "paid",
            "lines": [{"product_id": product["id"], "quantity": 9}],
        },
        headers=headers,
    )
    assert response.status_code == 201
    assert await recompute_stale(app.state.sessionmaker) >= 1
    assert await recompute_stale(app.state.sessionmaker) == 0
    # C5 is now the most recent (R 5); its 3 orders tie with C3's: equal values, equal scores.
    refreshed = await client.get("/v1/rfm?segment=potential_loyalist", headers=headers)
    [row] = refreshed.json()["data"]
    assert (row["contact_id"], row["r_score"], row["f_score"]) == (contacts["c5"]["id"], 5, 2)
    everyone = (await client.get("/v1/rfm?limit=10", headers=headers)).json()["data"]
    [c3] = [score for score in everyone if score["contact_id"] == contacts["c3"]["id"]]
    assert c3["f_score"] == 2


async def test_equal_values_score_equally_and_money_stays_in_its_currency(
    client: AsyncClient, workspace: Workspace
) -> None:
    """Ten customers: pairs with the same last order day and the same number of orders score
    the same; a customer who paid only in USD in a EUR workspace has their USD spend, ranked
    among USD customers."""
    headers = workspace.headers
    product = await make_product(client, workspace)
    days = ["2026-05-30", "2026-05-30", "2026-05-01", "2026-05-01", "2026-03-01", "2026-03-01"]
    days += ["2026-02-01", "2026-02-01", "2026-01-01", "2026-01-01"]
    contacts = []
    for number, day in enumerate(days):
        contact = await make_contact(client, workspace, email=f"t{number}@example.com")
        contacts.append(contact)
        line: dict[str, Any] = {"product_id": product["id"], "quantity": 1 + number % 2}
        body: dict[str, Any] = {
            "contact_id": contact["id"],
            "status": "paid",
            "placed_at": f"{day}T10:00:00Z",
            "lines": [line],
        }
        if number == 9:
            body["currency"] = "USD"
            line["unit_price"] = "70.00"
        response = await client.post("/v1/orders", json=body, headers=headers)
        assert response.status_code == 201, response.text
    with time_machine.travel(datetime.fromisoformat("2026-06-01T00:00:00+00:00"), tick=False):
        computed = await client.post("/v1/rfm/compute", headers=headers)
    assert computed.json()["customers"] == 10
    rows = (await client.get("/v1/rfm?limit=20", headers=headers)).json()["data"]
    by_contact = {row["contact_id"]: row for row in rows}
    scores = [by_contact[contact["id"]] for contact in contacts]
    for first, second in zip(scores[0::2], scores[1::2], strict=True):
        assert first["recency_days"] == second["recency_days"]
        assert first["r_score"] == second["r_score"], (first, second)
    assert [score["r_score"] for score in scores[0::2]] == [5, 4, 3, 2, 1]
    assert len({score["f_score"] for score in scores}) == 1  # one order each
    usd = scores[9]
    assert (usd["monetary"], usd["currency"], usd["m_score"]) == ("140.00", "USD", 1)
    assert all(score["currency"] == "EUR" for score in scores[:9])
