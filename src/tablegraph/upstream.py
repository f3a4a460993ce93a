"""The upstream HTTP client: one long-lived ``httpx.AsyncClient`` per upstream, wrapped.

It owns, in one place: explicit timeouts and connection limits; the auth hook (headers per
request, one single-flight re-auth and replay on 401); retries with exponential backoff and
full jitter for reads (and for writes only when the caller says the write is idempotent);
``Retry-After`` in the provider's unit; the upstream's circuit breaker; the request-wide
deadline (each attempt and each backoff fits in what is left of it); translation of transport
errors into the gateway's error tree; provenance records; and request counting.

Adapters receive ``httpx.Response`` objects for every status below 500 (other than 429) and
map provider error bodies through their error table (``providers.kit.calls.Caller``); only
transport failures, 429 and exhausted 5xx retries are raised from here. The attempt loop is
one step per concern: admission, timeouts, transport errors, auth replay, status handling.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson
from cachetools import LRUCache

from tablegraph import deadline, inputs, otel, provenance
from tablegraph.breaker import CircuitBreaker
from tablegraph.errors import (
    GatewayError,
    OutcomeUnknown,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tablegraph.routes import route_template
from tablegraph.upstream_transport import CookielessClient, upstream_transport

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
#: Methods that change nothing upstream: retried by default, never ambiguous.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Absolute URLs kept per upstream client (``UpstreamClient._target``).
URLS_KEPT = 1024


class Auth(Protocol):
    """How an upstream authenticates, in the manner of httpx's auth flows: headers for each
    request, and which answers mean "these credentials went stale: refresh and replay once".
    ``refresh`` is single-flight across concurrent requests."""

    #: Statuses that trigger one refresh and replay (usually 401; Libro also sends 403 for an
    #: expired token). A refused request was not applied, so a replay is safe for writes too.
    refresh_statuses: frozenset[int]

    async def headers(self, client: UpstreamClient) -> Mapping[str, str]: ...

    async def refresh(self, client: UpstreamClient, stale: Mapping[str, str]) -> bool:
        """Renew credentials after ``stale`` headers were refused; True means replay."""
        ...


RateLimitHook = Callable[[float | None], None]


class CallObserver(Protocol):
    """Told of every HTTP exchange with an upstream (``tablegraph.metrics``)."""

    def observe_call(
        self, upstream: str, method: str, endpoint: str, status: str, seconds: float
    ) -> None: ...


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
    #: A 429 is a refusal — nothing was applied — so a write may wait for ``Retry-After``
    #: and go again (resOS). Off by default: most providers do not say 429 means "not done".
    retry_refused_writes: bool = False


@dataclass
class _Call:
    """One logical request and what its attempts have learnt so far."""

    method: str
    path: str
    kwargs: dict[str, Any]
    headers: Mapping[str, str]
    authenticated: bool
    retryable: bool
    attempts: int
    attempt: int = 0
    replayed_auth: bool = False
    #: A write was sent at least once without a definite answer: it may have been applied,
    #: so whatever ends this call must say "outcome unknown", never a plain failure.
    uncertain: bool = False
    #: The absolute URL httpx builds for the path and params (``UpstreamClient._target``),
    #: else the path, with ``kwargs["params"]`` for httpx to add.
    target: httpx.URL | str = ""
    #: What the upstream last did wrong before a retry (unreachable, a 5xx): reported when
    #: the request's deadline runs out while retrying, instead of a bare timeout that would
    #: hide it (a reset upstream retried under load read as "timed out").
    failure: GatewayError | None = None

    @property
    def read(self) -> bool:
        return self.method in _READS

    @property
    def may_retry(self) -> bool:
        return self.retryable and self.attempt < self.attempts


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
        on_rate_limited: RateLimitHook | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        self.name = name
        #: Shared by every client of one upstream (the adapter's token and API clients).
        self.breaker = breaker
        self.auth = auth
        self.retry = retry or RetryPolicy()
        #: Told of every 429 with its ``Retry-After`` in seconds (a rate governor listens).
        self.on_rate_limited = on_rate_limited
        #: Told of every exchange: upstream, method, route template, status, seconds.
        self.observer = observer
        self._sleep = sleep
        self._http = CookielessClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport if transport is not None else upstream_transport(max_connections),
            headers=dict(default_headers or {}),
            follow_redirects=False,
        )
        self._timeout = timeout
        #: (path, params) → the absolute URL httpx builds for them (``_target``).
        self._urls: LRUCache[tuple[str, tuple[tuple[str, Any], ...]], httpx.URL] = LRUCache(
            URLS_KEPT
        )
        #: The gateway's own queue for connections; httpx's pool holds as many, so no request
        #: ever waits inside it: httpcore's pool rescans every queued request against every
        #: connection whenever one is added or removed (CPU growing with concurrency, #16),
        #: and a request cancelled while it waits there can lose a connection (see
        #: ``_attempt``).
        self._slots = asyncio.Semaphore(max_connections)
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
        method = method.upper()
        retryable = idempotent if idempotent is not None else method in _READS
        cleaned = _clean_params(params)
        noting = inputs.current()
        read_key = None
        if noting is not None:
            read_key = _read_key(
                method, path, cleaned, headers, json, content, idempotent, authenticated
            )
            given = noting.take(self, read_key) if read_key is not None else None
            if isinstance(given, Exception):
                noting.cannot_repeat("a read failed")
                raise given  # sent for this request already (a failed revalidation)
            if isinstance(given, httpx.Response):
                noting.reads.append(_read(self, read_key, given))
                return given  # fetched for this request already (a failed revalidation)
            if read_key is None:
                noting.cannot_repeat(f"{method} {path} is not a plain read")
        target, query = self._target(path, cleaned)
        call = _Call(
            method=method,
            path=path,
            kwargs={"params": query, "json": json, "content": content},
            headers=dict(headers or {}),
            authenticated=authenticated and self.auth is not None,
            retryable=retryable,
            attempts=self.retry.attempts if retryable else 1,
            target=target,
        )
        try:
            response = await self._send(call)
        except GatewayError as exc:
            record = provenance.current()
            if record is not None:
                record.failed(self.name, exc.code)
            raise
        if noting is not None and read_key is not None:
            noting.reads.append(_read(self, read_key, response))
        return response

    async def read_again(self, key: Hashable) -> httpx.Response:
        """The read ``key`` (``_read_key``) stands for, sent again."""
        assert isinstance(key, tuple)
        method, path, params, headers, idempotent, authenticated = key
        return await self.request(
            method,
            path,
            params=dict(params),
            headers=dict(headers),
            idempotent=idempotent,
            authenticated=authenticated,
        )

    def _target(
        self, path: str, params: dict[str, Any] | None
    ) -> tuple[httpx.URL | str, dict[str, Any] | None]:
        """``path`` with ``params`` as the absolute URL httpx builds for them, built once per
        (path, params): httpx parses and encodes URLs in pure Python, ~0.2 ms a request, and
        a polled day asks for the same URL again and again (#16). Params holding a list are
        not kept (not hashable): httpx builds those each time."""
        key = (path, tuple(params.items()) if params else ())
        try:
            url = self._urls.get(key)
        except TypeError:
            return path, params
        if url is None:
            url = self._urls[key] = self._http.build_request("GET", path, params=params).url
        return url, None

    # ---- the attempt loop: each concern in its own step --------------------------------

    async def _send(self, call: _Call) -> httpx.Response:
        while True:
            call.attempt += 1
            sent_headers, auth_headers = await self._admit(call)
            try:
                response = await self._attempt(
                    call.method, call.path, call.target, headers=sent_headers, **call.kwargs
                )
            except (httpx.TimeoutException, TimeoutError) as exc:
                await self._after_timeout(call, exc)
                continue
            except httpx.TransportError as exc:
                await self._after_transport_error(call, exc)
                continue
            self.counts[f"{call.method} {response.status_code}"] += 1
            if await self._replay_after_auth(call, response, auth_headers):
                continue
            if await self._after_response(call, response):
                continue
            return response

    async def _admit(self, call: _Call) -> tuple[dict[str, str], dict[str, str]]:
        """Deadline, then auth, then breaker (after auth: a token request may be the probe).
        Returns the headers to send and the auth headers among them."""
        sent: dict[str, str] = dict(call.headers)  # the traceparent: per exchange, in _attempt
        auth_headers: dict[str, str] = {}
        try:
            self._check_deadline(call.method)
            if call.authenticated:
                assert self.auth is not None
                auth_headers = dict(await self.auth.headers(self))
                sent.update(auth_headers)
            if self.breaker is not None:
                self.breaker.admit()
        except GatewayError as exc:
            if call.uncertain:  # an earlier attempt may have landed
                raise self._unknown(call.method) from None
            if call.failure is not None and exc.details.get("deadlineExceeded"):
                raise call.failure from None
            raise
        return sent, auth_headers

    async def _after_timeout(self, call: _Call, exc: BaseException) -> None:
        """Return to retry; raise to end the call."""
        self.counts[f"{call.method} timeout"] += 1
        sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        call.uncertain = call.uncertain or (sent and not call.read)
        if call.may_retry and await self._backoff(call.attempt):
            return
        if call.uncertain:
            raise self._unknown(call.method) from None
        left = deadline.remaining()
        if call.failure is not None and left is not None and left <= 0:
            raise call.failure from None  # the deadline ran out retrying that failure
        raise UpstreamTimeout(f"{self.name} timed out", upstream=self.name) from None

    async def _after_transport_error(self, call: _Call, exc: httpx.TransportError) -> None:
        """Return to retry; raise to end the call. A refused connection sent nothing, so it
        may be retried even for a write."""
        self.counts[f"{call.method} transport-error"] += 1
        never_sent = isinstance(exc, httpx.ConnectError)
        call.uncertain = call.uncertain or (not never_sent and not call.read)
        may_retry = (call.retryable or never_sent) and call.attempt < call.attempts
        call.failure = UpstreamUnavailable(f"{self.name} is unreachable", upstream=self.name)
        if may_retry and await self._backoff(call.attempt):
            return
        if call.uncertain:
            raise self._unknown(call.method) from None
        raise call.failure from None

    async def _replay_after_auth(
        self, call: _Call, response: httpx.Response, auth_headers: Mapping[str, str]
    ) -> bool:
        """One refresh and replay when the auth flow says the credentials went stale."""
        if not call.authenticated or call.replayed_auth:
            return False
        assert self.auth is not None
        if response.status_code not in self.auth.refresh_statuses:
            return False
        call.replayed_auth = True
        if await self._refresh_auth(auth_headers):
            call.attempt -= 1  # the replay does not use up a retry
            return True
        return False

    async def _after_response(self, call: _Call, response: httpx.Response) -> bool:
        """True to retry; False to hand the response to the adapter; raises to end."""
        status = response.status_code
        call.uncertain = call.uncertain or (status >= 500 and not call.read)
        if status >= 500:
            call.failure = UpstreamUnavailable(f"{self.name} answered {status}", upstream=self.name)
        if status == 429:
            return await self._after_rate_limit(call, response)
        if (
            status in self.retry.retry_statuses
            and call.may_retry
            and await self._backoff(call.attempt, at_least=self._retry_after(response))
        ):
            return True
        if call.failure is not None and status >= 500:  # the failure recorded above
            if call.uncertain:  # a write that failed server-side may have been applied
                raise self._unknown(call.method)
            raise call.failure
        return False

    async def _after_rate_limit(self, call: _Call, response: httpx.Response) -> bool:
        wait = self._retry_after(response)
        if self.on_rate_limited is not None:
            self.on_rate_limited(wait)
        # A 429 was refused, not applied: a write may go again where the policy allows it.
        may_retry = call.retryable or (not call.read and self.retry.retry_refused_writes)
        if (
            may_retry
            and call.attempt < self.retry.attempts
            and (wait is None or wait <= self.retry.max_retry_after)
            and await self._backoff(call.attempt, at_least=wait)
        ):
            return True
        if call.uncertain:
            raise self._unknown(call.method)
        raise UpstreamRateLimited(
            f"{self.name} is rate limiting the gateway",
            upstream=self.name,
            retry_after=wait,
            details={"retryAfterSeconds": wait} if wait is not None else None,
        )

    async def _attempt(
        self,
        method: str,
        path: str,
        target: httpx.URL | str,
        *,
        headers: Mapping[str, str],
        **kwargs: Any,
    ) -> httpx.Response:
        """One HTTP exchange, cut to the deadline, reported to the breaker, provenance and the
        observer (``/metrics``), inside its span (``otel``: the ``traceparent`` it sends).

        The breaker hears only about the upstream: its answers, its own timeout, a refused
        or broken connection. A call cut short by the caller's deadline, cancelled, or that
        never got a connection from the gateway's own pool is abandoned, not failed — a
        hurried or overloaded client must not open the circuit for everyone.

        The deadline cuts the wait for a connection (the gateway's own queue, ``_slots``) by
        cancelling it, and the exchange itself through httpx's own timeouts, shortened to
        what is left. A request is never cancelled inside httpx: httpcore can lose a
        connection for good when a request is cancelled between getting it and sending on
        it (encode/httpcore#1093), until every call to the upstream times out.
        """
        writes = _writes.get()
        if writes is not None and method not in _READS:
            writes.append(f"{self.name} {method} {path}")
        route = route_template(path)
        started = provenance.now()
        healthy: bool | None = None  # None: no verdict about the upstream
        status = "timeout"
        with otel.upstream_call(self.name, method, route) as exchange:
            try:
                await self._take_slot()
                try:
                    timeout, cut = self._timeout_now()
                    if timeout.read is not None and timeout.read <= 0:
                        raise httpx.PoolTimeout(
                            f"the deadline passed before {self.name} was called"
                        )
                    healthy, status = False, "transport-error"
                    response = await self._http.request(
                        method,
                        target,
                        headers={**exchange.headers, **headers},
                        timeout=timeout,
                        **kwargs,
                    )
                    # Read and closed; its stream refers back to it, a cycle that kept every
                    # answer (and its request) for the cyclic garbage collector (#16).
                    response.stream = httpx.ByteStream(response.content)
                    healthy = response.status_code < 500
                    status = str(response.status_code)
                    return response
                except httpx.TimeoutException:
                    status = "timeout"
                    if cut:
                        healthy = None  # the caller's deadline, not the upstream's own timeout
                    raise
                finally:
                    self._slots.release()
            except asyncio.CancelledError:
                healthy, status = None, "cancelled"
                raise
            finally:
                self._report(healthy)
                ended = provenance.now()
                record = provenance.current()
                if record is not None:
                    record.called(self.name, started, ended, None)
                exchange.status(status)
                if self.observer is not None:
                    self.observer.observe_call(self.name, method, route, status, ended - started)

    async def _take_slot(self) -> None:
        """A connection's worth of room, or ``httpx.PoolTimeout`` (nothing was sent) when
        none comes free within the request's deadline or the client's timeout (httpx's own
        pool timeout)."""
        if not self._slots.locked():  # room now: taken at once, no timer to arm and cancel
            await self._slots.acquire()
            return
        left = deadline.remaining()
        wait = self._timeout if left is None else min(left, self._timeout)
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(f"no connection to {self.name} free in time") from None

    def _timeout_now(self) -> tuple[httpx.Timeout, bool]:
        """httpx's timeouts for an exchange starting now, and whether the request's deadline
        (rather than the upstream's configured timeout) bounds them."""
        left = deadline.remaining()
        if left is None or left >= self._timeout:
            return httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)), False
        left = max(left, 0.0)
        return httpx.Timeout(left, connect=min(left, 5.0)), True

    def _report(self, healthy: bool | None) -> None:
        if self.breaker is None:
            return
        if healthy is None:
            self.breaker.abandoned()
        elif healthy:
            self.breaker.succeeded()
        else:
            self.breaker.failed()

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
        """Single-flight: the first refusal re-authenticates, concurrent ones reuse it."""
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


def _read_key(
    method: str,
    path: str,
    params: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None,
    json: Any,
    content: bytes | None,
    idempotent: bool | None,
    authenticated: bool,
) -> Hashable | None:
    """What identifies a plain read (``inputs.Read``), and is all ``read_again`` needs; None
    for anything else: a write, a body, parameters that cannot be a key."""
    if method not in _READS or json is not None or content is not None:
        return None
    key = (
        method,
        path,
        tuple(params.items()) if params else (),
        tuple(sorted(headers.items())) if headers else (),
        idempotent,
        authenticated,
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _read(client: UpstreamClient, key: Hashable, response: httpx.Response) -> inputs.Read:
    return inputs.Read(client, key, response.status_code, response.content)


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
        # orjson: the body is UTF-8, as JSON must be; anything else goes through httpx's
        # decoding (it guesses the charset).
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        pass
    try:
        return response.json()
    except ValueError:
        raise UpstreamBadResponse(
            f"{upstream} sent a body that is not JSON (HTTP {response.status_code})",
            upstream=upstream,
        ) from None
