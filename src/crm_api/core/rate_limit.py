"""Per-API-key rate limiting with the ``limits`` library; a refusal is a 429 with Retry-After.

In-process counters (``memory://``) use the library's synchronous storage: it involves no I/O,
and its asyncio twin schedules a task on every hit that walks every counter to expire old ones,
so each request cost more the more keys were active (159 us a hit with 1,000 keys, 1.3 ms with
10,000; ``python -m bench.rate_limit``). The synchronous one sweeps from a timer thread at most
every 10 ms. Shared storages (Redis and others) go through the asyncio API.
"""

import math
import time

from limits import RateLimitItem, WindowStats, parse
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindow
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from crm_api.core.errors import RateLimited


class RateLimiter:
    def __init__(self, limit: str, storage_uri: str, subject: str = "this API key") -> None:
        self._item: RateLimitItem = parse(limit)
        self._subject = subject
        uri = storage_uri.removeprefix("async+")
        self._local: FixedWindowRateLimiter | None = None
        self._shared: AsyncFixedWindow | None = None
        if uri.startswith("memory://"):
            storage = storage_from_string(uri)
            assert isinstance(storage, Storage)
            self._local = FixedWindowRateLimiter(storage)
        else:
            # limits selects its asyncio storages by an ``async+`` scheme prefix.
            shared = storage_from_string(f"async+{uri}")
            assert isinstance(shared, AsyncStorage)
            self._shared = AsyncFixedWindow(shared)

    async def check(self, *identifiers: str) -> None:
        if self._local is not None:
            if self._local.hit(self._item, *identifiers):
                return
            stats: WindowStats = self._local.get_window_stats(self._item, *identifiers)
        else:
            assert self._shared is not None
            if await self._shared.hit(self._item, *identifiers):
                return
            stats = await self._shared.get_window_stats(self._item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"More than {self._item} requests for {self._subject}; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
