"""Signed webhook deliveries (WH): fire-and-forget, but tracked so tests can await them.

Each delivery is one ``POST`` with ``x-webhook-event`` and
``x-webhook-signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">``; ``t`` comes from
the simulator clock. Any 2xx within 5 s is "delivered"; anything else is "failed" and logged
(the documented retry schedule is not simulated).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import httpx

from tablegraph.simulators.common import Clock
from tablegraph.simulators.vardvik.model import Webhook, iso


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class WebhookDispatcher:
    def __init__(self, clock: Clock, timeout: float = 5.0) -> None:
        self.clock = clock
        self.timeout = timeout
        self.deliveries: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[dict[str, Any]]] = set()
        self._client: httpx.AsyncClient | None = None
        self._events = 0

    def event(self, event_type: str, restaurant_id: str, data: dict[str, Any]) -> dict[str, Any]:
        self._events += 1
        return {
            "id": f"evt_{self._events:012x}",
            "type": event_type,
            "restaurantId": restaurant_id,
            "createdAt": iso(self.clock.now()),
            "data": data,
        }

    def emit(self, hooks: list[Webhook], event: dict[str, Any]) -> None:
        """Schedule one delivery per subscribed hook without waiting for it."""
        for hook in hooks:
            if hook.wants(event["type"]):
                task = asyncio.get_running_loop().create_task(self.deliver(hook, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def deliver(self, hook: Webhook, event: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(event, separators=(",", ":")).encode()
        stamp = int(self.clock.now().timestamp())
        headers = {
            "content-type": "application/json",
            "x-webhook-event": event["type"],
            "x-webhook-signature": sign(hook.secret, stamp, body),
        }
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        code: int | None = None
        excerpt = ""
        try:
            response = await self._client.post(hook.url, content=body, headers=headers)
            code, excerpt = response.status_code, response.text[:200]
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a bad URL is a failed delivery too
            excerpt = type(exc).__name__
        delivery = {
            "webhookId": hook.id,
            "eventId": event["id"],
            "eventType": event["type"],
            "status": "delivered" if code is not None and 200 <= code < 300 else "failed",
            "responseCode": code,
            "bodyExcerpt": excerpt,
            "attemptedAt": iso(self.clock.now()),
        }
        self.deliveries.append(delivery)
        return delivery

    async def drain(self) -> None:
        """Wait until every scheduled delivery has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
