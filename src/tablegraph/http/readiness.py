"""``/readyz`` probes from a short cache: at most one probe per upstream per interval.

Every caller of ``/readyz`` within ``[http] readyz_cache_seconds`` of a probe gets that probe's
result, and callers arriving while a probe runs wait for it (single flight), so anonymous
callers cannot turn the endpoint into load on the upstreams.
"""

from __future__ import annotations

import asyncio
import time

from tablegraph.cache import AsyncTTLCache, Timer
from tablegraph.gateway import Gateway

Check = tuple[bool, str | None, float]  # ok, error code, latency in ms


class ReadinessProbes:
    def __init__(self, gateway: Gateway, interval: float, timer: Timer = time.monotonic) -> None:
        self._gateway = gateway
        self._results: AsyncTTLCache[Check] = AsyncTTLCache(interval, timer=timer)

    async def checks(self) -> dict[str, Check]:
        names = list(self._gateway.providers)
        results = await asyncio.gather(*(self._check(name) for name in names))
        return dict(zip(names, results, strict=True))

    async def _check(self, name: str) -> Check:
        return await self._results.get_or_load(name, lambda: self._gateway.check(name))
