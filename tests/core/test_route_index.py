"""RouteIndex answers as Starlette's own routing does: the first full match in registration
order, else the first partial one (405), else Starlette's handling of a miss."""

from collections.abc import Awaitable, Callable

from httpx import ASGITransport, AsyncClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from crm_api.core.routing import index_routes


def _answer(text: str) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{text} {dict(request.path_params)}")

    return endpoint


def _app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/v1/contacts", _answer("list"), methods=["GET"]),
            Route("/v1/contacts/duplicates", _answer("duplicates"), methods=["GET"]),
            Route("/v1/contacts/{contact_id:uuid}", _answer("contact"), methods=["GET"]),
            Route("/v1/contacts/{name}", _answer("named"), methods=["GET", "DELETE"]),
            Route("/v1/{anything}/x", _answer("loose"), methods=["GET"]),
            Route("/healthz", _answer("health"), methods=["GET"]),
        ]
    )
    index_routes(app.router)
    return app


async def test_the_first_route_that_matches_answers_in_registration_order() -> None:
    app = _app()
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/v1/contacts")).text == "list {}"
        assert (await client.get("/v1/contacts/duplicates")).text == "duplicates {}"
        uuid_read = await client.get("/v1/contacts/01a21d56-37b3-7593-832d-915bb3b3b9b4")
        assert uuid_read.text.startswith("contact {'contact_id': UUID(")
        assert (await client.get("/v1/contacts/ada")).text == "named {'name': 'ada'}"
        # A route with fewer fixed segments is still tried, in its place.
        assert (await client.get("/v1/contacts/x")).text == "named {'name': 'x'}"
        assert (await client.get("/v1/deals/x")).text == "loose {'anything': 'deals'}"
        assert (await client.get("/healthz")).text == "health {}"


async def test_a_partial_match_is_a_405_and_a_miss_is_starlettes() -> None:
    app = _app()
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        wrong_method = await client.post("/v1/contacts/duplicates")
        assert wrong_method.status_code == 405
        assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD"}
        assert (await client.get("/v1/nothing/here/at/all")).status_code == 404
        redirected = await client.get("/healthz/", follow_redirects=False)
        assert redirected.status_code == 307
        assert redirected.headers["location"] == "http://t/healthz"


async def test_a_route_added_later_is_found() -> None:
    app = _app()
    app.router.routes.append(Route("/v2/later", _answer("later"), methods=["GET"]))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/v2/later")).text == "later {}"
