"""The upstream HTTP client: one long-lived ``httpx.AsyncClient`` per upstream, wrapped.

It owns, in one place: explicit timeouts and connection limits; the auth hook (headers per
request, one single-flight re-auth and replay on 401); retries with exponential backoff and
full jitter for reads (and for writes only when the caller says the write is idempotent);
``Retry-After`` in the provider's unit; the upstream's circuit breaker; the request-wide
deadline (each attempt and each backoff fits in what is left of it); translation of transport
errors into the gateway's error tree; provenance records; and request counting.

Adapters receive ``httpx.Response`` objects for every HTTP status and map provider error
bodies themselves (one table per adapter); only transport failures, 429 and exhausted 5xx
retries are raised from here.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tablegraph import deadline, provenance
from tablegraph.breaker import CircuitBreaker
from tablegraph.errors import (
    GatewayError,
    OutcomeUnknown,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
#: Methods that change nothing upstream: retried by default, never ambiguous.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Auth(Protocol):
    """How an upstream authenticates. ``refresh`` is called (single-flight) after a 401."""

    async def headers(self, client: UpstreamClient) -> Mapping[str, str]: ...

    async def refresh(self, client: UpstreamClient, stale: Mapping[str, str]) -> bool:
        """Renew credentials after ``stale`` headers were refused; True means replay."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # total tries for a retryable request
    base_delay: float = 0.05
    max_delay: float = 2.0
    #: ``Retry-After`` values are multiplied by this to get seconds (resOS: 0.001).
    retry_after_unit: float = 1.0
    #: Wait at most this long for a ``Retry-After``; longer waits raise instead.
    max_retry_after: float = 5.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})


class UpstreamClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: float = 10.0,
        max_connections: int = 20,
        auth: Auth | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        default_headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.name = name
        #: Shared by every client of one upstream (the adapter's token and API clients).
        self.breaker = breaker
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            headers=dict(default_headers or {}),
            follow_redirects=False,
        )
        self._refresh_lock = asyncio.Lock()
        self._auth_generation = 0
        #: Requests actually sent, by method and status (``"GET 200"``); tests and /metrics.
        self.counts: Counter[str] = Counter()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def requests_sent(self) -> int:
        return sum(self.counts.values())

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """Send a request; retry where safe; return the final response whatever its status.

        Only GET, HEAD and OPTIONS are retried unless the caller passes ``idempotent=True``.
        Every attempt is admitted by the breaker and cut to the request-wide deadline.
        """
        try:
            return await self._send(
                method.upper(),
                path,
                params=params,
                json=json,
                content=content,
                headers=headers,
                idempotent=idempotent,
                authenticated=authenticated,
            )
        except GatewayError as exc:
            record = provenance.current()
            if record is not None:
                record.failed(self.name, exc.code)
            raise

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        idempotent: bool | None,
        authenticated: bool,
    ) -> httpx.Response:
        read = method in _READS
        retryable = idempotent if idempotent is not None else read
        attempts = self.retry.attempts if retryable else 1
        replayed_auth = False
        attempt = 0
        #: A write was sent at least once without a definite answer: it may have been applied,
        #: so whatever ends this call must say "outcome unknown", never a plain failure.
        uncertain = False
        while True:
            attempt += 1
            sent_headers: dict[str, str] = dict(headers or {})
            auth_headers: dict[str, str] = {}
            try:
                self._check_deadline(method)
                if authenticated and self.auth is not None:
                    auth_headers = dict(await self.auth.headers(self))
                    sent_headers.update(auth_headers)
                if self.breaker is not None:  # after auth: a token request may be the probe
                    self.breaker.admit()
            except GatewayError:
                if uncertain:  # an earlier attempt may have landed
                    raise self._unknown(method) from None
                raise
            try:
                response = await self._attempt(
                    method,
                    path,
                    params=_clean_params(params),
                    json=json,
                    content=content,
                    headers=sent_headers,
                )
            except (httpx.TimeoutException, TimeoutError) as exc:
                self.counts[f"{method} timeout"] += 1
                sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                uncertain = uncertain or (sent and not read)
                if retryable and attempt < attempts and await self._backoff(attempt):
                    continue
                if uncertain:
                    raise self._unknown(method) from None
                raise UpstreamTimeout(f"{self.name} timed out", upstream=self.name) from None
            except httpx.TransportError as exc:
                self.counts[f"{method} transport-error"] += 1
                never_sent = isinstance(exc, httpx.ConnectError)
                uncertain = uncertain or (not never_sent and not read)
                if (
                    (retryable or never_sent)
                    and attempt < attempts
                    and await self._backoff(attempt)
                ):
                    continue
                if uncertain:
                    raise self._unknown(method) from None
                raise UpstreamUnavailable(
                    f"{self.name} is unreachable", upstream=self.name
                ) from None
            self.counts[f"{method} {response.status_code}"] += 1
            status = response.status_code
            if status == 401 and authenticated and self.auth is not None and not replayed_auth:
                replayed_auth = True
                if await self._refresh_auth(auth_headers):
                    attempt -= 1  # the replay does not use up a retry
                    continue
                return response
            uncertain = uncertain or (status >= 500 and not read)
            if status == 429:
                wait = self._retry_after(response)
                if (
                    retryable
                    and attempt < attempts
                    and (wait is None or wait <= self.retry.max_retry_after)
                    and await self._backoff(attempt, at_least=wait)
                ):
                    continue
                if uncertain:
                    raise self._unknown(method)
                raise UpstreamRateLimited(
                    f"{self.name} is rate limiting the gateway",
                    upstream=self.name,
                    retry_after=wait,
                    details={"retryAfterSeconds": wait} if wait is not None else None,
                )
            if (
                status in self.retry.retry_statuses
                and retryable
                and attempt < attempts
                and await self._backoff(attempt, at_least=self._retry_after(response))
            ):
                continue
            if status >= 500:
                if uncertain:  # a write that failed server-side may have been applied
                    raise self._unknown(method)
                raise UpstreamUnavailable(f"{self.name} answered {status}", upstream=self.name)
            return response

    async def _attempt(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange, cut to the deadline, reported to the breaker and provenance."""
        writes = _writes.get()
        if writes is not None and method not in _READS:
            writes.append(f"{self.name} {method} {path}")
        started = provenance.now()
        healthy: bool | None = False  # None: no verdict (the caller was cancelled)
        try:
            async with asyncio.timeout(deadline.remaining()):
                response = await self._http.request(method, path, **kwargs)
            healthy = response.status_code < 500
            return response
        except asyncio.CancelledError:
            healthy = None
            raise
        finally:
            if self.breaker is not None:
                if healthy is None:
                    self.breaker.abandoned()
                elif healthy:
                    self.breaker.succeeded()
                else:
                    self.breaker.failed()
            record = provenance.current()
            if record is not None:
                record.called(self.name, started, provenance.now(), None)

    def _unknown(self, method: str) -> OutcomeUnknown:
        return OutcomeUnknown(
            f"{self.name} gave no clear answer to a {method}; its outcome is unknown",
            upstream=self.name,
        )

    def _check_deadline(self, method: str) -> None:
        left = deadline.remaining()
        if left is not None and left <= 0:
            raise UpstreamTimeout(
                f"{self.name}: the request's deadline passed before the {method} was sent",
                upstream=self.name,
                details={"deadlineExceeded": True},
            )

    async def _refresh_auth(self, stale: Mapping[str, str]) -> bool:
        """Single-flight: the first 401 re-authenticates, concurrent ones reuse its result."""
        assert self.auth is not None
        generation = self._auth_generation
        async with self._refresh_lock:
            if self._auth_generation != generation:
                return True  # someone refreshed while we waited
            ok = await self.auth.refresh(self, stale)
            if ok:
                self._auth_generation += 1
            return ok

    def _retry_after(self, response: httpx.Response) -> float | None:
        raw = response.headers.get("Retry-After")
        if raw is None:
            return None
        try:
            return max(0.0, float(raw) * self.retry.retry_after_unit)
        except ValueError:
            return None

    async def _backoff(self, attempt: int, *, at_least: float | None = None) -> bool:
        """Wait before retry ``attempt + 1``; False (no wait) if the deadline leaves no time."""
        cap = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        delay = random.uniform(0, cap)  # full jitter
        if at_least is not None:
            delay = max(delay, at_least)
        left = deadline.remaining()
        if left is not None and delay >= left:
            return False
        await self._sleep(delay)
        return True


_writes: ContextVar[list[str] | None] = ContextVar("tablegraph_writes", default=None)


@contextmanager
def watching_writes() -> Iterator[list[str]]:
    """Collect the write requests sent (or started) from here on in this task and its
    children, so a caller can tell "failed before writing anything" from "may have written"."""
    sent: list[str] = []
    token = _writes.set(sent)
    try:
        yield sent
    finally:
        _writes.reset(token)


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = value
    return out


def json_body(response: httpx.Response, upstream: str) -> Any:
    """The decoded JSON body, or ``UpstreamBadResponse`` (without echoing the body)."""
    try:
        return response.json()
    except ValueError:
        raise UpstreamBadResponse(
            f"{upstream} sent a body that is not JSON (HTTP {response.status_code})",
            upstream=upstream,
        ) from None
