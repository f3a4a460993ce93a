"""Fault injection shared by every simulator, switchable at run time.

Every simulator app (built by ``common.new_app``) holds a ``FaultInjector`` under ``FAULTS``
and serves ``/_sim/chaos``:

| request | does |
|---|---|
| ``GET /_sim/chaos`` | ``{"faults": [...], "hits": {kind: n}}`` |
| ``POST /_sim/chaos`` | one fault object, or ``{"faults": [...]}``; 201 with the new state, |
| | 400 ``{"error": ...}`` on a bad body (nothing is added then) |
| ``DELETE /_sim/chaos`` | removes every fault and releases requests hanging now |

A fault object has camelCase keys: ``kind``, ``rate``, ``count``, ``method``, ``path``,
``latencyMs``, ``jitterMs``, ``status``, ``retryAfterSeconds`` (meanings on ``Fault``); the
``hits`` that ``GET`` adds to each is ignored, so its faults can be posted back as they are.
``create_app(..., faults=[Fault(...)])`` installs faults from the start.

Kinds and what a hit request gets:

- ``latency``: a delay of ``latency_ms`` plus uniform(0, ``jitter_ms``), then normal handling.
- ``expire_credentials``: the credentials the simulator issued expire first (Libro's OAuth
  access tokens, LibreBooking's sessions), so this request and later ones get the provider's
  own 401 until the client authenticates again. Refused (``ValueError``, 400 at the endpoint)
  by simulators whose credentials never expire (Vardvik's and resOS's API keys).
- ``error``: ``status`` with the provider's error body; the request is not handled.
- ``rate_limit``: a 429 in the provider's shape with ``Retry-After`` in the provider's unit
  (seconds rounded up, milliseconds for resOS); the request is not handled.
- ``malformed``: 200, ``Content-Type: application/json``, a body that is not JSON; not handled.
- ``truncated``: handled for real (its side effects happen), then the first half of the
  answer's body is sent with a matching ``Content-Length``: a parse error, not a transport one.
- ``drop_response``: handled for real (a create stores the booking), then the connection is
  reset without an answer.
- ``reset``: the connection is reset before handling; nothing happens upstream.
- ``hang``: no answer until the client gives up (disconnects) or ``clear()``/``DELETE``
  releases it; then the connection is closed without an answer. Not handled.

Latency and expire_credentials combine with the others; of the rest, the first matching fault
(in the order added) that hits decides. ``rate`` is drawn from a seeded RNG, so a run is
repeatable; a fault with ``count`` retires after that many hits. ``/_sim/...`` requests are
never faulted. Faulted requests are still counted in ``REQUEST_COUNTS``; ``hits`` counts them
by kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import random
import re
import socket
import struct
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

KINDS = frozenset(
    {
        "latency",
        "error",
        "hang",
        "rate_limit",
        "malformed",
        "truncated",
        "drop_response",
        "reset",
        "expire_credentials",
    }
)
#: Kinds that act before handling and let the request go on (they combine with the others).
_PRELUDES = frozenset({"latency", "expire_credentials"})
CONTROL_PREFIX = "/_sim/"
MALFORMED_BODY = b'{"data": ['
_JSON_KEYS = {
    "kind": "kind",
    "rate": "rate",
    "count": "count",
    "method": "method",
    "path": "path",
    "latencyMs": "latency_ms",
    "jitterMs": "jitter_ms",
    "status": "status",
    "retryAfterSeconds": "retry_after_seconds",
}


@dataclass
class Fault:
    """One kind of misbehaviour, for the requests it matches (see the module docstring)."""

    kind: str
    rate: float = 1.0  # probability that a matching request is hit (seeded RNG)
    count: int | None = None  # hit at most this many requests, then retire; None: until cleared
    method: str | None = None  # match only this HTTP method
    path: str | None = None  # match only paths where this regex is found (re.search)
    latency_ms: float = 0.0  # "latency": added delay...
    jitter_ms: float = 0.0  # ...plus uniform(0, jitter_ms)
    status: int = 503  # "error": the HTTP status, in the provider's error-body shape
    retry_after_seconds: float = 1.0  # "rate_limit": Retry-After, in the provider's unit

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(sorted(KINDS))}")
        _number(self.rate, "rate", 0.0, 1.0)
        if self.count is not None and (
            isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1
        ):
            raise ValueError("count must be a whole number of at least 1 (or null)")
        _number(self.latency_ms, "latencyMs", 0.0, 600_000.0)
        _number(self.jitter_ms, "jitterMs", 0.0, 600_000.0)
        _number(self.retry_after_seconds, "retryAfterSeconds", 0.0, 86_400.0)
        if (
            isinstance(self.status, bool)
            or not isinstance(self.status, int)
            or not (400 <= self.status <= 599)
        ):
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.method is not None:
            if not isinstance(self.method, str) or not self.method.isalpha():
                raise ValueError("method must be an HTTP method name")
            self.method = self.method.upper()
        if self.path is not None:
            if not isinstance(self.path, str):
                raise ValueError("path must be a regular expression (a string)")
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path is not a valid regular expression: {exc}") from None

    def matches(self, request: web.BaseRequest) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        return self.path is None or re.search(self.path, request.path) is not None

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, attr) for key, attr in _JSON_KEYS.items()}

    @classmethod
    def from_json(cls, body: Any) -> Fault:
        """A fault from its camelCase JSON object; ``ValueError``/``TypeError`` say what
        is wrong."""
        if not isinstance(body, dict):
            raise TypeError("a fault must be a JSON object")
        body = {k: v for k, v in body.items() if k != "hits"}  # as GET shows it: read-only
        unknown = sorted(set(body) - set(_JSON_KEYS))
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        if "kind" not in body:
            raise ValueError("a fault needs a kind")
        return cls(**{_JSON_KEYS[key]: value for key, value in body.items()})


def _number(value: Any, name: str, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}")


@dataclass(frozen=True)
class FaultProfile:
    """How one provider's faults look on the wire."""

    provider: str
    #: The provider's error answer for an HTTP status (headers other than Retry-After included).
    error: Callable[[int], web.StreamResponse]
    #: The provider's 429 answer for a wait of so many seconds; the injector adds
    #: ``Retry-After`` (in the provider's unit).
    rate_limited: Callable[[float], web.StreamResponse]
    #: ``Retry-After`` in milliseconds (resOS) instead of whole seconds.
    retry_after_ms: bool = False
    #: Expires every credential the simulator issued; None: its credentials never expire.
    expire_credentials: Callable[[web.Application], None] | None = None

    def retry_after(self, seconds: float) -> str:
        return str(round(seconds * 1000)) if self.retry_after_ms else str(math.ceil(seconds))


def _plain_error(status: int) -> web.StreamResponse:
    return web.json_response({"error": "simulated failure"}, status=status)


GENERIC_PROFILE = FaultProfile("simulator", _plain_error, lambda _seconds: _plain_error(429))


@dataclass
class _Active:
    fault: Fault
    hits: int = 0


@dataclass
class FaultInjector:
    """The faults an app applies now, and how many requests each kind has hit."""

    profile: FaultProfile = GENERIC_PROFILE
    seed: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    #: Requests hanging now (``hang`` faults not yet released or abandoned by their client).
    hanging: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._active: list[_Active] = []
        self._rng = random.Random(self.seed)
        self._release = asyncio.Event()

    def check(self, fault: Fault) -> None:
        """Raise ``ValueError`` when this simulator cannot apply ``fault``."""
        if fault.kind == "expire_credentials" and self.profile.expire_credentials is None:
            raise ValueError(
                f"{self.profile.provider} credentials do not expire: "
                "expire_credentials does not apply"
            )

    def add(self, fault: Fault) -> None:
        self.check(fault)
        self._active.append(_Active(dataclasses.replace(fault)))

    def clear(self) -> None:
        """Remove every fault, release any request hanging now, and start the seeded draws
        over: what a fault does after ``clear`` does not depend on what came before it."""
        self._active.clear()
        self._rng = random.Random(self.seed)
        self.release()

    def release(self) -> None:
        """Let requests hanging now go (their connections close without an answer)."""
        self._release.set()
        self._release = asyncio.Event()

    @property
    def idle(self) -> bool:
        return not self._active

    @property
    def faults(self) -> list[Fault]:
        return [a.fault for a in self._active]

    def to_json(self) -> dict[str, Any]:
        return {
            "faults": [{**a.fault.to_json(), "hits": a.hits} for a in self._active],
            "hits": dict(self.hits),
            "hanging": self.hanging,
        }

    def pick(self, request: web.BaseRequest) -> list[Fault]:
        """The faults that hit this request: preludes in order, then at most one outcome."""
        chosen: list[Fault] = []
        outcome = False
        for active in list(self._active):
            fault = active.fault
            if fault.kind not in _PRELUDES and outcome:
                continue
            if not fault.matches(request) or not self._roll(fault.rate):
                continue
            active.hits += 1
            self.hits[fault.kind] += 1
            if fault.count is not None and active.hits >= fault.count:
                self._active.remove(active)
            outcome = outcome or fault.kind not in _PRELUDES
            chosen.append(fault)
        return chosen

    def delay(self, fault: Fault) -> float:
        """Seconds a latency fault adds to one request (its jitter drawn from the RNG)."""
        return (fault.latency_ms + self._rng.uniform(0.0, fault.jitter_ms)) / 1000

    def _roll(self, rate: float) -> bool:
        if rate >= 1.0:
            return True
        return rate > 0.0 and self._rng.random() < rate

    async def hang(self, request: web.BaseRequest) -> None:
        """Wait until the client disconnects or the hang is released (aiohttp does not cancel a
        handler whose client went away, so the transport is looked at every 50 ms)."""
        released = self._release
        self.hanging += 1
        try:
            while not released.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(released.wait(), 0.05)
        finally:
            self.hanging -= 1


FAULTS = web.AppKey("faults", FaultInjector)


def _reset(request: web.BaseRequest) -> web.Response:
    """Cut the connection with a TCP reset; the returned answer is never sent."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # aiohttp's attempt to write this to the closed transport is a quiet ConnectionError.
    return web.Response(status=204)


def _truncate(response: web.StreamResponse) -> web.StreamResponse:
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response
    body = response.body
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return web.Response(
        status=response.status,
        reason=response.reason,
        body=body[: len(body) // 2],
        headers=headers,
    )


@web.middleware
async def inject_faults(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Apply the faults that hit this request (installed by ``common.new_app``)."""
    injector = request.app[FAULTS]
    if injector.idle or request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    profile = injector.profile
    outcome: Fault | None = None
    for fault in injector.pick(request):
        if fault.kind == "latency":
            await asyncio.sleep(injector.delay(fault))
        elif fault.kind == "expire_credentials":
            assert profile.expire_credentials is not None  # refused by add()
            profile.expire_credentials(request.app)
        else:
            outcome = fault
    if outcome is None:
        return await handler(request)
    kind = outcome.kind
    if kind == "error":
        return profile.error(outcome.status)
    if kind == "rate_limit":
        response = profile.rate_limited(outcome.retry_after_seconds)
        response.headers["Retry-After"] = profile.retry_after(outcome.retry_after_seconds)
        return response
    if kind == "malformed":
        return web.Response(status=200, body=MALFORMED_BODY, content_type="application/json")
    if kind == "reset":
        return _reset(request)
    if kind == "hang":
        await injector.hang(request)
        return _reset(request)
    response = await handler(request)  # truncated, drop_response: the request takes effect
    if kind == "drop_response":
        return _reset(request)
    return _truncate(response)


# ---- the admin endpoint ------------------------------------------------------------------------


async def _get_chaos(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS].to_json())


async def _post_chaos(request: web.Request) -> web.Response:
    injector = request.app[FAULTS]
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "the body must be JSON"}, status=400)
    try:
        rows = body.get("faults") if isinstance(body, dict) and "faults" in body else [body]
        if not isinstance(rows, list):
            raise TypeError("faults must be a list of fault objects")
        faults = [Fault.from_json(row) for row in rows]
        for fault in faults:
            injector.check(fault)
    except (TypeError, ValueError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    for fault in faults:
        injector.add(fault)
    return web.json_response(injector.to_json(), status=201)


async def _delete_chaos(request: web.Request) -> web.Response:
    injector = request.app[FAULTS]
    injector.clear()
    return web.json_response(injector.to_json())


def install(
    app: web.Application, profile: FaultProfile | None = None, faults: Iterable[Fault] = ()
) -> FaultInjector:
    """Give ``app`` an injector with ``faults`` and the ``/_sim/chaos`` routes (the middleware
    ``inject_faults`` must be in the app's list: ``new_app`` puts it there)."""
    injector = FaultInjector(profile or GENERIC_PROFILE)
    for fault in faults:
        injector.add(fault)
    app[FAULTS] = injector
    app.router.add_get("/_sim/chaos", _get_chaos)
    app.router.add_post("/_sim/chaos", _post_chaos)
    app.router.add_delete("/_sim/chaos", _delete_chaos)

    async def release_hangs(_app: web.Application) -> None:
        injector.release()

    app.on_shutdown.append(release_hangs)
    return injector
