"""Signed webhook deliveries (DOC ``webhooks/*.md``).

Libro POSTs the changed resource document with ``X-Libro-Signature: t=<unix>,v1=<hex>``,
``v1`` = HMAC-SHA256 of ``"{t}.{raw body}"`` keyed by the signing secret. The event header
``X-Libro-Event: booking.updated`` is our invention (Libro does not document event names).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tablegraph.simulators.common import Clock


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


@dataclass
class WebhookSender:
    clock: Clock
    secret: str | None = None
    urls: list[str] = field(default_factory=list)
    #: (url, HTTP status or error text) per delivery attempt, for tests.
    deliveries: list[tuple[str, int | str]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None

    def send(self, document: dict[str, Any], event: str = "booking.updated") -> None:
        if not self.urls:
            return
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json", "X-Libro-Event": event}
        if self.secret:
            headers["X-Libro-Signature"] = sign(
                self.secret, int(self.clock.now().timestamp()), body
            )
        for url in self.urls:
            task = asyncio.get_running_loop().create_task(self._post(url, body, headers))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(url, data=body, headers=headers) as resp:
                self.deliveries.append((url, resp.status))
        except aiohttp.ClientError as exc:
            self.deliveries.append((url, type(exc).__name__))

    async def flush(self) -> None:
        """Wait for every delivery in flight (tests call it instead of sleeping)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def close(self) -> None:
        await self.flush()
        if self._session is not None:
            await self._session.close()
            self._session = None
