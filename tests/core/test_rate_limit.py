"""The in-process rate limiter does its bookkeeping without a task per request."""

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

import pytest

from crm_api.core.errors import RateLimited
from crm_api.core.rate_limit import RateLimiter


async def test_in_process_counts_schedule_no_task_per_hit() -> None:
    limiter = RateLimiter("5/minute", "memory://")
    # Many active keys: the asyncio storage walked all of them in a task of every hit.
    for key in range(2_000):
        await limiter.check("api_key", str(key))
    created = 0
    loop = asyncio.get_running_loop()

    def counting(
        loop: asyncio.AbstractEventLoop,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        nonlocal created
        created += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        for _ in range(5):
            await limiter.check("api_key", "busy")
            await asyncio.sleep(0)  # as between two requests
    finally:
        loop.set_task_factory(None)
    assert created == 0
    with pytest.raises(RateLimited) as refused:
        await limiter.check("api_key", "busy")
    assert int(refused.value.headers["Retry-After"]) >= 1
    await limiter.check("api_key", "another")
