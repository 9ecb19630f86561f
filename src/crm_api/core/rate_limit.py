"""Per-API-key rate limiting with the ``limits`` library; a refusal is a 429 with Retry-After."""

import math
import time

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from crm_api.core.errors import RateLimited


class RateLimiter:
    def __init__(self, limit: str, storage_uri: str, subject: str = "this API key") -> None:
        self._item = parse(limit)
        self._subject = subject
        # limits selects its asyncio storages by an ``async+`` scheme prefix.
        storage = storage_from_string(f"async+{storage_uri.removeprefix('async+')}")
        assert isinstance(storage, Storage)
        self._limiter = FixedWindowRateLimiter(storage)

    async def check(self, *identifiers: str) -> None:
        if await self._limiter.hit(self._item, *identifiers):
            return
        stats = await self._limiter.get_window_stats(self._item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"More than {self._item} requests for {self._subject}; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
