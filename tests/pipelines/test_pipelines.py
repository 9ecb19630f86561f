"""Pipelines: the default one, ordered stages added, renamed, reordered and deleted."""

from httpx import AsyncClient

from tests.factories import Workspace, make_deal, make_pipeline
from tests.problems import assert_problem


async def test_a_new_workspace_has_the_default_sales_pipeline(
    client: AsyncClient, workspace: Workspace
) -> None:
    pipelines = (await client.get("/v1/pipelines", headers=workspace.headers)).json()["data"]
    assert [p["name"] for p in pipelines] == ["Sales pipeline"]
    stages = pipelines[0]["stages"]
    assert [s["name"] for s in stages] == [
        "New",
        "Qualified",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ]
    assert [s["position"] for s in stages] == list(range(6))
    assert [s["kind"] for s in stages][-2:] == ["won", "lost"]


async def test_create_rename_and_duplicate_names(client: AsyncClient, workspace: Workspace) -> None:
    pipeline = await make_pipeline(client, workspace, name="Partners")
    url = f"/v1/pipelines/{pipeline['id']}"
    duplicate = await client.post(
        "/v1/pipelines",
        json={"name": "Partners", "stages": [{"name": "A", "probability": 1}]},
        headers=workspace.headers,
    )
    assert assert_problem(duplicate, 409, field="name")["existing_id"] == pipeline["id"]
    same_stage_twice = await client.post(
        "/v1/pipelines",
        json={"name": "X", "stages": [{"name": "A", "probability": 1}] * 2},
        headers=workspace.headers,
    )
    assert_problem(same_stage_twice, 422, field="name")
    renamed = await client.patch(
        url, json={"name": "Resellers"}, headers={**workspace.headers, "If-Match": '"1"'}
    )
    assert renamed.json()["name"] == "Resellers"
    assert renamed.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"name": "Y"}, headers={**workspace.headers, "If-Match": '"1"'}
    )
    assert_problem(stale, 412)


async def test_probability_and_kind_are_checked(client: AsyncClient, workspace: Workspace) -> None:
    for stage, field in (
        ({"name": "A", "probability": 101}, "probability"),
        ({"name": "A", "probability": 10, "kind": "maybe"}, "kind"),
    ):
        response = await client.post(
            "/v1/pipelines", json={"name": "Bad", "stages": [stage]}, headers=workspace.headers
        )
        assert_problem(response, 422, field=field)


async def test_stages_are_added_renamed_and_reordered(
    client: AsyncClient, workspace: Workspace
) -> None:
    pipeline = await make_pipeline(client, workspace)
    url = f"/v1/pipelines/{pipeline['id']}"
    added = await client.post(
        f"{url}/stages",
        json={"name": "Demo", "probability": 40, "position": 1},
        headers=workspace.headers,
    )
    names = [s["name"] for s in added.json()["stages"]]
    assert names == ["Open", "Demo", "Later", "Won", "Lost"]
    assert [s["position"] for s in added.json()["stages"]] == list(range(5))
    demo = added.json()["stages"][1]
    renamed = await client.patch(
        f"{url}/stages/{demo['id']}", json={"name": "Live demo"}, headers=workspace.headers
    )
    assert renamed.json()["stages"][1]["name"] == "Live demo"
    clash = await client.patch(
        f"{url}/stages/{demo['id']}", json={"name": "Open"}, headers=workspace.headers
    )
    assert_problem(clash, 422, field="name")
    order = [s["id"] for s in reversed(renamed.json()["stages"])]
    reordered = await client.post(
        f"{url}/stages/reorder", json={"stage_ids": order}, headers=workspace.headers
    )
    assert [s["id"] for s in reordered.json()["stages"]] == order
    partial = await client.post(
        f"{url}/stages/reorder", json={"stage_ids": order[:2]}, headers=workspace.headers
    )
    assert_problem(partial, 422, field="stage_ids")


async def test_a_stage_holding_deals_moves_them_before_it_goes(
    client: AsyncClient, workspace: Workspace
) -> None:
    pipeline = await make_pipeline(client, workspace)
    url = f"/v1/pipelines/{pipeline['id']}"
    first, later = pipeline["stages"][0], pipeline["stages"][1]
    deal = await make_deal(client, workspace, pipeline_id=pipeline["id"])
    assert deal["stage_id"] == first["id"]
    refused = await client.delete(f"{url}/stages/{first['id']}", headers=workspace.headers)
    assert_problem(refused, 409)
    other = await make_pipeline(client, workspace)
    elsewhere = await client.delete(
        f"{url}/stages/{first['id']}?move_deals_to={other['stages'][0]['id']}",
        headers=workspace.headers,
    )
    assert_problem(elsewhere, 422, field="move_deals_to")
    moved = await client.delete(
        f"{url}/stages/{first['id']}?move_deals_to={later['id']}", headers=workspace.headers
    )
    assert moved.status_code == 204
    after = (await client.get(f"/v1/deals/{deal['id']}", headers=workspace.headers)).json()
    assert after["stage_id"] == later["id"]
    stages = (await client.get(url, headers=workspace.headers)).json()["stages"]
    assert [s["position"] for s in stages] == list(range(3))
    history = await client.get(f"/v1/deals/{deal['id']}/stage-history", headers=workspace.headers)
    assert [h["to_stage_id"] for h in history.json()["data"]] == [first["id"], later["id"]]


async def test_a_pipeline_with_deals_cannot_be_deleted(
    client: AsyncClient, workspace: Workspace
) -> None:
    pipeline = await make_pipeline(client, workspace)
    url = f"/v1/pipelines/{pipeline['id']}"
    deal = await make_deal(client, workspace, pipeline_id=pipeline["id"])
    assert_problem(await client.delete(url, headers=workspace.headers), 409)
    await client.post(f"/v1/deals/{deal['id']}/archive", headers=workspace.headers)
    await client.delete(f"/v1/deals/{deal['id']}", headers=workspace.headers)
    assert (await client.delete(url, headers=workspace.headers)).status_code == 204
    assert_problem(await client.get(url, headers=workspace.headers), 404)
