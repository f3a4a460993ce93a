"""resOS HTTP plumbing: Basic auth through the rate governor, 429 observation, errors.

Every attempt the ``UpstreamClient`` makes (retries included) asks the key's governor for
budget first, at the priority set for the current task (``priority``), so the budget counts
what is really sent. Error bodies are bare JSON strings; they are never echoed.
"""

from __future__ import annotations

import base64
import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from tablegraph.errors import (
    GatewayError,
    InvalidInput,
    NotFound,
    SlotUnavailable,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
)
from tablegraph.providers.resos.governor import READ, RateGovernor
from tablegraph.upstream import UpstreamClient

_priority: contextvars.ContextVar[int] = contextvars.ContextVar("resos_priority", default=READ)

#: HTTP status → (error class, message); bodies are never echoed.
ERRORS: dict[int, tuple[type[GatewayError], str]] = {
    400: (UpstreamBadResponse, "resOS refused the request as malformed"),
    401: (UpstreamAuthError, "resOS refused the API key"),
    403: (UpstreamAuthError, "resOS refused the API key"),
    404: (NotFound, "not found at resOS"),
    405: (UpstreamBadResponse, "resOS does not allow this method"),
    415: (UpstreamBadResponse, "resOS refused the content type"),
    422: (InvalidInput, "resOS refused the booking data"),
}
#: 422 descriptions that mean "no room" rather than "bad data".
FULL_MARKERS = ("no available table", "fully booked", "not available")


class GovernedBasicAuth:
    """Basic auth for one key; every attempt (retries included) first waits for budget."""

    refresh_statuses: frozenset[int] = frozenset()  # a static key: a 401 is final

    def __init__(self, api_key: str, governor: RateGovernor) -> None:
        token = base64.b64encode(f"{api_key}:".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}"}
        self.governor = governor

    async def headers(self, client: UpstreamClient) -> Mapping[str, str]:
        try:
            await self.governor.acquire(_priority.get())
        except TimeoutError:
            wait = round(self.governor.resets_in(), 3)
            raise UpstreamRateLimited(
                f"{client.name}: its request budget has no room before this request's deadline",
                upstream=client.name,
                retry_after=wait,
                details={"retryAfterSeconds": wait},
            ) from None
        return self._headers

    async def refresh(self, client: UpstreamClient, stale: Mapping[str, str]) -> bool:
        return False  # a static key: a 401 is final


class RateLimitObserver(httpx.AsyncBaseTransport):
    """Feeds the key's governor what resOS says: ``Retry-After`` on every answer aligns the
    budget window with resOS' minute; a 429 holds the queue until the reset, instead of each
    queued request drawing its own 429 (another process may share the key)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, governor: RateGovernor) -> None:
        self._inner = inner
        self._governor = governor

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        try:
            wait: float | None = float(response.headers.get("Retry-After", "")) / 1000
        except ValueError:
            wait = None
        if response.status_code == 429:
            self._governor.exhaust(wait)
        elif wait is not None:
            self._governor.sync(wait)  # every answer says when the upstream's minute ends
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextmanager
def priority(level: int) -> Iterator[None]:
    """Requests made in this block ask for budget at ``level`` (``MUTATION`` or ``READ``)."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


def error_from(response: httpx.Response, upstream: str) -> GatewayError:
    """The gateway error for a resOS 4xx/5xx answer (one table, no body echoed)."""
    status = response.status_code
    cls, message = ERRORS.get(status, (UpstreamError, f"resOS answered {status}"))
    description = ""
    try:
        body = response.json()
        description = body[:200].lower() if isinstance(body, str) else ""
    except ValueError:
        pass
    if status == 422 and any(m in description for m in FULL_MARKERS):
        return SlotUnavailable("the requested time is no longer available", upstream=upstream)
    return cls(message, upstream=upstream, details={"httpStatus": status})
