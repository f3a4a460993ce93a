"""The fuzz target: all four simulators and the gateway on 127.0.0.1, on an event loop the
harness owns, so synchronous hypothesis tests can drive one request per example.

Rate limits of the simulators (and resOS' client-side budget) are lifted: the fuzzer aims at
input handling, and a budget that waits for the next minute would stall the run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx
from aiohttp import web

from tablegraph import ids
from tablegraph.app import create_app
from tablegraph.gateway import Gateway
from tablegraph.providers import KINDS
from tablegraph.settings import GatewaySettings, UpstreamConfig
from tablegraph.simulators import simulator_module
from tablegraph.simulators.common import serve
from tablegraph.simulators.harness import harness_of
from tests.auth_support import AUTH_HEADERS, all_scopes_auth

SEED = 11
T = TypeVar("T")

#: Loggers watched for failures; records propagate to the root handler installed here.
WATCHED_LOGGERS = ("tablegraph", "aiohttp", "strawberry", "asyncio")


class LogCapture(logging.Handler):
    """Every record at WARNING or above (ERROR and above are failures), plus loop errors."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        record = logging.LogRecord(
            "asyncio.loop",
            logging.ERROR,
            __file__,
            0,
            str(context.get("message")),
            None,
            (type(exc), exc, exc.__traceback__) if exc else None,
        )
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        out, self.records = self.records, []
        return out


@dataclass
class Known:
    """Ids of objects that exist in the seeded demo, by GraphQL type."""

    restaurants: list[str] = field(default_factory=list)
    bookings: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    reviews: list[str] = field(default_factory=list)
    upstreams: list[str] = field(default_factory=list)
    natives: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return self.restaurants + self.bookings + self.guests + self.reviews


@dataclass
class Reply:
    status: int
    text: str
    content_type: str


class FuzzEnv:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.logs = LogCapture()
        self.loop.set_exception_handler(self.logs.loop_error)
        self.runners: list[web.AppRunner] = []
        self.upstreams: list[UpstreamConfig] = []
        self.sim_urls: list[str] = []
        self.known = Known()
        self.http: httpx.AsyncClient | None = None
        self.gateway_url = ""

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        root = logging.getLogger()
        root.addHandler(self.logs)
        self._saved_levels = {n: logging.getLogger(n).level for n in WATCHED_LOGGERS}
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self.run(self._start())
        self.logs.take()  # start-up chatter is not a request's fault

    async def _start(self) -> None:
        for kind in KINDS:
            module = simulator_module(kind)
            harness = harness_of(kind)
            options = {**getattr(module, "DEMO_OPTIONS", {}), **harness.unlimited}
            runner, url = await serve(module.create_app(SEED, **options))
            assert url.startswith("http://127.0.0.1:")
            self.runners.append(runner)
            self.sim_urls.append(url)
            for config in module.demo_upstreams(url):
                extra = harness.unlimited_upstream
                self.upstreams.append(replace(config, options={**config.options, **extra}))
        gateway = Gateway(GatewaySettings(upstreams=tuple(self.upstreams), auth=all_scopes_auth()))
        runner, url = await serve(create_app(gateway))
        assert url.startswith("http://127.0.0.1:")
        self.runners.append(runner)
        self.gateway_url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=60, headers=AUTH_HEADERS)
        await self._collect_known()

    def stop(self) -> None:
        async def _stop() -> None:
            if self.http is not None:
                await self.http.aclose()
            for runner in reversed(self.runners):
                await runner.cleanup()

        try:
            self.run(_stop())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
            logging.getLogger().removeHandler(self.logs)
            for name, level in self._saved_levels.items():
                logging.getLogger(name).setLevel(level)

    # -- requests --------------------------------------------------------------------------

    async def _post(self, payload: Any, **kw: Any) -> Reply:
        assert self.http is not None
        # Serialised here, ASCII-escaped: httpx's own encoder refuses lone surrogates, and the
        # fuzzer wants to send them.
        body = json.dumps(payload)
        response = await self.http.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}, **kw
        )
        return Reply(response.status_code, response.text, response.headers.get("content-type", ""))

    def post(self, payload: Any) -> Reply:
        return self.run(self._post(payload))

    def request(
        self,
        method: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        async def go() -> Reply:
            assert self.http is not None
            response = await self.http.request(
                method, "/graphql", params=params, content=content, headers=headers
            )
            return Reply(
                response.status_code, response.text, response.headers.get("content-type", "")
            )

        return self.run(go())

    async def _data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = await self._post({"query": query, "variables": variables or {}})
        body: dict[str, Any] = json.loads(reply.text)
        return body.get("data") or {}

    async def _collect_known(self) -> None:
        k = self.known
        k.upstreams = [u.name for u in self.upstreams]
        data = await self._data("{ restaurants(first: 100) { nodes { id } } }")
        k.restaurants = [n["id"] for n in data["restaurants"]["nodes"]]
        assert len(k.restaurants) >= len(KINDS), data
        k.natives = [ids.decode(r).native_id for r in k.restaurants]
        today = datetime.now(UTC).date()
        for rid in k.restaurants:
            for day in (today + timedelta(days=1), today + timedelta(days=3)):
                page = await self._data(
                    "query($r: ID!, $d: Date!) { bookings(restaurantId: $r, date: $d, first: 5)"
                    " { nodes { id guest { id } } } }",
                    {"r": rid, "d": day.isoformat()},
                )
                for node in (page.get("bookings") or {}).get("nodes", []):
                    k.bookings.append(node["id"])
                    if node.get("guest"):
                        k.guests.append(node["guest"]["id"])
            reviews = await self._data(
                "query($r: ID!) { reviews(restaurantId: $r, first: 3) { nodes { id } } }",
                {"r": rid},
            )
            k.reviews += [n["id"] for n in (reviews.get("reviews") or {}).get("nodes", [])]
        assert k.bookings and k.guests, "the seeded demo should have bookings and guests"


def today() -> date:
    return datetime.now(UTC).date()
