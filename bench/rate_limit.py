"""What one rate-limit check costs as the number of active API keys grows:
`python -m bench.rate_limit`.

Compares crm-api's limiter (``limits``' synchronous memory storage) with the library's asyncio
memory storage, yielding to the event loop between checks as requests do.
"""

import asyncio
import time

from limits import parse
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from crm_api.core.rate_limit import RateLimiter

CHECKS = 20_000


async def _measure(active_keys: int) -> tuple[float, float]:
    item = parse("1000000000/minute")
    ours = RateLimiter("1000000000/minute", "memory://")
    theirs = FixedWindowRateLimiter(storage_from_string("async+memory://"))
    for key in range(active_keys):
        await ours.check("api_key", str(key))
        await theirs.hit(item, "api_key", str(key))
    started = time.perf_counter()
    for _ in range(CHECKS):
        await ours.check("api_key", "busy")
        await asyncio.sleep(0)
    ours_us = (time.perf_counter() - started) / CHECKS * 1e6
    started = time.perf_counter()
    for _ in range(CHECKS):
        await theirs.hit(item, "api_key", "busy")
        await asyncio.sleep(0)
    theirs_us = (time.perf_counter() - started) / CHECKS * 1e6
    return ours_us, theirs_us


def main() -> None:
    print("active keys | crm-api us/check | limits asyncio memory storage us/check")
    for active_keys in (1, 1_000, 10_000):
        ours_us, theirs_us = asyncio.run(_measure(active_keys))
        print(f"{active_keys:>11,} | {ours_us:16.1f} | {theirs_us:.1f}")


if __name__ == "__main__":
    main()
