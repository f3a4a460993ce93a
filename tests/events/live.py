"""Subscribers over the wire for the event tests: a graphql-transport-ws client (aiohttp) and
a GraphQL-over-SSE client (httpx), plus a gateway started with an ``authenticate``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
from aiohttp import web

from tablegraph.app import create_app
from tablegraph.auth.config import AuthSettings, ClientConfig
from tablegraph.auth.identity import Tenancy
from tablegraph.auth.keys import hash_key
from tablegraph.auth.scopes import ALL_SCOPES, Scope
from tablegraph.events.model import BookingEvent
from tablegraph.gateway import Gateway
from tablegraph.settings import GatewaySettings, UpstreamConfig
from tablegraph.simulators.common import serve
from tablegraph.stores import Store

from ..graphql.conftest import Api

EVENTS = """
subscription($ids: [ID!]!, $kinds: [BookingEventKind!], $after: ID) {
  bookingEvents(restaurantIds: $ids, kinds: $kinds, afterEventId: $after) {
    id kind source occurredAt
    changes { field old new }
    booking { id status start partySize guest { firstName email phone } }
    restaurant { name }
  }
}"""

WAIT = 15.0  # seconds a test waits for one event before it fails (never slept)


def key_of(client: str) -> str:
    return f"tgk_{client}-0123456789abcdef"


def bearer(client: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key_of(client)}"}


def _client(name: str, scopes: frozenset[Scope], restaurants: list[str] | None = None) -> Any:
    tenancy = Tenancy.everything() if restaurants is None else Tenancy.parse(restaurants)
    return ClientConfig(name, scopes, (hash_key(key_of(name)),), tenancy)


#: The subscribers of these tests: every scope; one restaurant; no guest contact details; no
#: bookings at all.
CLIENTS = AuthSettings(
    clients=(
        _client("all", ALL_SCOPES),
        _client("oslo-only", ALL_SCOPES, ["vardvik-oslo:rst_2/loc_3"]),
        _client("no-pii", ALL_SCOPES - {Scope.GUESTS_READ}),
        _client("no-bookings", ALL_SCOPES - {Scope.BOOKINGS_READ}),
    )
)


async def start_live(
    upstreams: list[UpstreamConfig], *, store: Store | None = None, **settings: Any
) -> tuple[web.AppRunner, Api]:
    """A gateway over ``upstreams``; give several the same ``store`` (each its own handle)
    and they are workers of one deployment."""
    settings.setdefault("auth", CLIENTS)
    gateway = Gateway(GatewaySettings(upstreams=tuple(upstreams), **settings), store=store)
    app = create_app(gateway)
    runner, url = await serve(app)
    http = httpx.AsyncClient(base_url=url, timeout=30, headers=bearer("all"))
    return runner, Api(http, gateway, app)


async def until(check: Callable[[], bool], timeout: float = WAIT) -> None:
    """Wait (bounded) for a condition the gateway reaches on its own."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@dataclass
class WsSubscriber:
    session: aiohttp.ClientSession
    ws: aiohttp.ClientWebSocketResponse

    @classmethod
    async def connect(cls, api: Api, payload: dict[str, Any] | None = None) -> WsSubscriber:
        """A socket sending ``payload`` (default: the all-scopes client's key) in
        ``connection_init``; the upgrade itself carries no credentials, as in a browser."""
        session = aiohttp.ClientSession()
        url = api.url("/graphql").replace("http://", "ws://")
        ws = await session.ws_connect(url, protocols=("graphql-transport-ws",))
        await ws.send_json(
            {"type": "connection_init", "payload": bearer("all") if payload is None else payload}
        )
        return cls(session, ws)

    async def acked(self) -> None:
        message = await self.ws.receive_json(timeout=WAIT)
        assert message["type"] == "connection_ack", message

    async def subscribe(self, variables: dict[str, Any], op: str = "1") -> None:
        await self.ws.send_json(
            {"id": op, "type": "subscribe", "payload": {"query": EVENTS, "variables": variables}}
        )

    async def message(self) -> dict[str, Any]:
        while True:
            msg = await self.ws.receive(timeout=WAIT)
            if msg.type is aiohttp.WSMsgType.TEXT:
                data: dict[str, Any] = json.loads(msg.data)
                if data["type"] in ("ping", "pong"):
                    continue
                return data
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return {"type": "closed", "code": self.ws.close_code}
            raise AssertionError(f"unexpected frame {msg.type}")

    async def event(self) -> dict[str, Any]:
        message = await self.message()
        assert message["type"] == "next" and "errors" not in message["payload"], message
        event: dict[str, Any] = message["payload"]["data"]["bookingEvents"]
        return event

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


@dataclass
class SseSubscriber:
    """A GraphQL-over-SSE subscription read frame by frame in a background task."""

    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    status: int | None = None
    task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, api: Api, variables: dict[str, Any], headers: dict[str, str] | None = None
    ) -> SseSubscriber:
        sub = cls()
        opened = asyncio.Event()

        async def read() -> None:
            body = {"query": EVENTS, "variables": variables}
            hdrs = {"Accept": "text/event-stream", **(headers or {})}
            async with api.http.stream("POST", "/graphql", json=body, headers=hdrs) as response:
                sub.status = response.status_code
                opened.set()
                frame: dict[str, Any] = {}
                async for line in response.aiter_lines():
                    if line == "":
                        if frame:
                            await sub.frames.put(frame)
                        frame = {}
                    elif line.startswith(":"):
                        continue
                    else:
                        name, _, value = line.partition(":")
                        frame[name] = value.strip()

        sub.task = asyncio.create_task(read())
        await asyncio.wait_for(opened.wait(), WAIT)
        return sub

    async def frame(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), WAIT)

    async def event(self) -> dict[str, Any]:
        frame = await self.frame()
        assert frame.get("event") == "next", frame
        payload = json.loads(frame["data"])
        assert "errors" not in payload, payload
        event: dict[str, Any] = payload["data"]["bookingEvents"]
        assert frame.get("id") == event["id"]
        return event

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


async def events_of(sub: WsSubscriber | SseSubscriber, n: int) -> list[dict[str, Any]]:
    return [await sub.event() for _ in range(n)]


class RecordingBus:
    """A bus that keeps what is published (for tests of the feed's side of it)."""

    def __init__(self) -> None:
        self.events: list[BookingEvent] = []

    async def publish(self, event: BookingEvent) -> bool:
        self.events.append(event)
        return True
