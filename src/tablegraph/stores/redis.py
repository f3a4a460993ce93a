"""The shared store for many workers or hosts: Redis through redis-py's asyncio client.

Keys live under a prefix (``tablegraph:`` by default) so one Redis may serve other things.
Single commands are atomic already (``SET NX PX`` for locks); the read-modify-writes are small
Lua scripts, run atomically by the server: a counter whose expiry is set when it is created
(budgets), and compare-and-set (records that change state). Pub/sub is Redis pub/sub; event
logs are streams trimmed by age (``XADD MINID``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from tablegraph.stores.base import Event

_INCR = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return total
"""
_CAS = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return 1
"""


def _ms(ttl: float | None) -> int:
    return 0 if ttl is None else max(1, int(ttl * 1000))


class RedisStore:
    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tablegraph:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._prefix = prefix
        self._clock = clock
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=True)
        self._incr = self._redis.register_script(_INCR)
        self._cas = self._redis.register_script(_CAS)

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> str | None:
        return cast("str | None", await self._redis.get(self._k(key)))

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self._redis.set(self._k(key), value, px=_ms(ttl) or None)

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        return bool(await self._redis.set(self._k(key), value, px=_ms(ttl) or None, nx=True))

    async def delete(self, key: str) -> bool:
        return bool(await self._redis.delete(self._k(key)))

    async def compare_and_set(
        self, key: str, expected: str | None, value: str | None, ttl: float | None = None
    ) -> bool:
        args = [
            "1" if expected is None else "0",
            expected or "",
            "1" if value is None else "0",
            value or "",
            _ms(ttl),
        ]
        return bool(await self._cas(keys=[self._k(key)], args=args))

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return int(await self._incr(keys=[self._k(key)], args=[amount, _ms(ttl)]))

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(self._k(channel), message)

    async def subscribe(self, channel: str) -> _Subscription:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._k(channel))
        # SUBSCRIBE is only sent so far: wait for Redis to confirm it, so that a message
        # published once this returns is heard, as the contract says.
        try:
            async with asyncio.timeout(10.0):
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "subscribe":
                        break
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        return _Subscription(pubsub)

    async def append(self, log: str, data: str, retention: float) -> str:
        oldest = int((self._clock() - retention) * 1000)
        entry_id = await self._redis.xadd(
            self._k(log), {"data": data}, minid=max(oldest, 0), approximate=False
        )
        return str(entry_id)

    async def read(self, log: str, after: str | None = None, limit: int = 100) -> list[Event]:
        low = "-" if after is None else f"({after}"
        rows: list[tuple[str, dict[str, Any]]] = await self._redis.xrange(  # type: ignore[assignment]
            self._k(log), min=low, max="+", count=limit
        )
        return [Event(str(i), str(fields["data"])) for i, fields in rows]

    async def close(self) -> None:
        await self._redis.aclose()


class _Subscription:
    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> str:
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message.get("type") == "message":
                return str(message["data"])
            if not self._pubsub.subscribed:
                raise StopAsyncIteration
            await asyncio.sleep(0)

    async def aclose(self) -> None:
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
