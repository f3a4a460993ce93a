"""A rate budget every worker draws from together: N calls per window, counted in the store.

resOS allows 100 calls a minute per API key. With several workers each keeping its own
count, together they would spend N times that; here each call takes one unit from a counter
in the store (``incr`` with the window's expiry, atomic in every implementation) named by the
budget and the window's index. A take that finds the window over its limit gives its unit
back at once, so a refusal never spends budget another worker could use.

The window's index is the caller's to choose (``take_in``): resOS' governor follows the
upstream's own minute, which need not start on the local clock's. ``take`` is the simple
form on the local clock. Per client, the units taken and the clients seen in a window are
counted too, so a caller can divide the window fairly between clients across workers.

Fixed windows admit up to twice the rate across a window boundary in the worst case; callers
that must never exceed the upstream's own sliding window keep a small margin (``limit``
below the provider's figure).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tablegraph.stores.base import Store


class SharedBudget:
    def __init__(
        self,
        store: Store,
        name: str,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.name, self.limit, self.window = store, name, limit, window
        self._clock = clock

    def _key(self, index: int, client: str | None = None) -> str:
        base = f"budget:{self.name}:{index}"
        return base if client is None else f"{base}:client:{client}"

    async def take(self) -> float:
        """Take one unit: 0.0 if granted, else the seconds until the next window opens."""
        now = self._clock()
        index = int(now // self.window)
        if (await self.take_in(index))[0]:
            return 0.0
        return (index + 1) * self.window - now

    async def left(self) -> int:
        """Units left in the current window (for /metrics and health details)."""
        index = int(self._clock() // self.window)
        return max(self.limit - await self.used(index), 0)

    async def used(self, index: int) -> int:
        return int(await self.store.get(self._key(index)) or 0)

    async def take_in(
        self,
        index: int,
        *,
        limit: int | None = None,
        client: str | None = None,
        past_share: int | None = None,
    ) -> tuple[bool, int]:
        """Take one unit of window ``index`` unless that makes more than ``limit`` (default:
        the budget's): whether it was taken, and the window's total as this take found it
        (its own unit included, given back when refused).

        A ``client``'s units are counted too. Past its fair share — the budget divided by one
        more than the clients seen in the window, itself included — it may only take up to
        ``past_share`` (when given), but only while other clients use the budget (in this
        window or the one before): a lone client has no one to leave room for. Its unit is
        counted before the check, so concurrent takes of one client, in any worker, each see
        a different count.
        """
        ttl = self.window * 2
        limit = self.limit if limit is None else limit
        mine = clients = 0
        if client is not None:
            mine = await self.store.incr(self._key(index, client), 1, ttl=ttl)
            if mine == 1:
                clients = await self.store.incr(self._key(index, "*"), 1, ttl=ttl)
                await self.store.set(self._seen(index, client), "1", ttl=ttl)
            else:
                clients = await self._clients(index, client)
            past = past_share is not None and mine > self.limit // (clients + 1)
            if past and await self._others(index, client, clients):
                limit = min(limit, past_share or 0)
        total = await self.store.incr(self._key(index), 1, ttl=ttl)
        if total > limit:
            await self.store.incr(self._key(index), -1, ttl=ttl)
            if client is not None:
                await self.store.incr(self._key(index, client), -1, ttl=ttl)
                if mine == 1:  # no longer counted among the clients: say so first
                    await self.store.delete(self._seen(index, client))
                    await self.store.incr(self._key(index, "*"), -1, ttl=ttl)
            return False, total
        return True, total

    def _seen(self, index: int, client: str) -> str:
        """Set once ``client`` is counted among window ``index``'s clients."""
        return f"{self._key(index, client)}:seen"

    async def _clients(self, index: int, client: str) -> int:
        """The clients of window ``index``, ``client`` among them, for a take that is not the
        client's first. That first take counts the client (``*``) after counting its unit, so
        a take of the same client in another worker can find ``*`` without it: read before
        the count, the mark says whether the count includes the client. (Counted meanwhile, it
        is counted twice for this one take: stricter, never looser.)"""
        seen = await self.store.get(self._seen(index, client))
        counted = int(await self.store.get(self._key(index, "*")) or 0)
        return max(counted if seen else counted + 1, 1)

    async def _others(self, index: int, client: str, clients: int) -> bool:
        """Whether clients other than ``client`` took units in window ``index`` (where
        ``clients`` counts it) or in the window before."""
        if clients > 1:
            return True
        before = int(await self.store.get(self._key(index - 1, "*")) or 0)
        if not before:
            return False
        return before > 1 or not await self.store.get(self._key(index - 1, client))

    async def give_back(self, index: int, client: str | None = None) -> None:
        """Return a unit taken but not used (its request was abandoned before it was sent)."""
        await self.store.incr(self._key(index), -1, ttl=self.window * 2)
        if client is not None:
            await self.store.incr(self._key(index, client), -1, ttl=self.window * 2)

    async def add(self, index: int, amount: int) -> None:
        """Count ``amount`` units in window ``index`` without asking (calls already made)."""
        if amount:
            await self.store.incr(self._key(index), amount, ttl=self.window * 2)
