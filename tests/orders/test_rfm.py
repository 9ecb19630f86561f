"""RFM scores and segments, computed from paid and fulfilled orders, hand-checked."""

from datetime import datetime

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
    # C5 is now the most recent (R 5); its 3 orders tie with C3's, broken by contact id (F 3).
    refreshed = await client.get("/v1/rfm?segment=potential_loyalist", headers=headers)
    [row] = refreshed.json()["data"]
    assert (row["contact_id"], row["r_score"], row["f_score"]) == (contacts["c5"]["id"], 5, 3)
