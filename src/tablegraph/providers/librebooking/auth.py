"""LibreBooking session auth for ``UpstreamClient``.

``POST Authentication/Authenticate`` with the configured account gives ``sessionToken``,
``userId`` and ``sessionExpires`` (UTC, 30 minutes, sliding on a real server); every call
then sends ``X-Booked-SessionToken`` and ``X-Booked-UserId``. The session is renewed before
``sessionExpires``; a 401 (LibreBooking's answer to an expired, signed-out or bad token
alike) renews it once, single-flight, and the client replays the request. A refused login
comes back as HTTP 200 with ``isAuthenticated: false``: that is an ``UpstreamAuthError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from tablegraph.errors import (
    OutcomeUnknown,
    UpstreamAuthError,
    UpstreamBadResponse,
    UpstreamUnavailable,
)
from tablegraph.providers.librebooking.parse import to_datetime, to_str_id
from tablegraph.upstream import UpstreamClient, json_body

TOKEN_HEADER = "X-Booked-SessionToken"
USER_HEADER = "X-Booked-UserId"
#: LibreBooking's session life (sliding; observed 30 minutes).
SESSION_LIFE = timedelta(minutes=30)
#: Renew this long before ``sessionExpires``.
RENEW_MARGIN = timedelta(minutes=2)
#: After a refused login, calls fail at once for this long instead of retrying it.
FAILED_LOGIN_PAUSE = timedelta(seconds=30)


class SessionAuth:
    refresh_statuses: frozenset[int] = frozenset({401})

    def __init__(
        self,
        upstream: str,
        credentials: Callable[[], tuple[str, str]],
        prefix: str,
        now: Callable[[], datetime],
    ) -> None:
        self._upstream = upstream
        self._credentials = credentials
        self._prefix = prefix
        self._now = now
        self._token: str | None = None
        self._user_id: str | None = None
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()
        self._refused: tuple[datetime, UpstreamAuthError] | None = None
        #: Logins performed (tests and health details).
        self.logins = 0

    @property
    def user_id(self) -> str | None:
        return self._user_id

    def _stale(self) -> bool:
        if self._token is None:
            return True
        return self._expires is not None and self._now() >= self._expires - RENEW_MARGIN

    async def headers(self, client: UpstreamClient) -> Mapping[str, str]:
        if self._stale():
            async with self._lock:
                if self._stale():
                    await self._login(client)
        assert self._token is not None and self._user_id is not None
        return {TOKEN_HEADER: self._token, USER_HEADER: self._user_id}

    async def refresh(self, client: UpstreamClient, stale: Mapping[str, str]) -> bool:
        async with self._lock:
            if self._token is not None and stale.get(TOKEN_HEADER) != self._token:
                return True  # another request already renewed the session
            await self._login(client)
            return True

    async def _login(self, client: UpstreamClient) -> None:
        if self._refused is not None and self._now() < self._refused[0] + FAILED_LOGIN_PAUSE:
            raise self._refused[1]
        self._token = None
        try:
            await self._authenticate(client)
        except UpstreamAuthError as exc:
            self._refused = (self._now(), exc)
            raise
        self._refused = None

    async def _authenticate(self, client: UpstreamClient) -> None:
        username, password = self._credentials()
        try:
            response = await client.request(
                "POST",
                f"{self._prefix}Authentication/Authenticate",
                json={"username": username, "password": password},
                authenticated=False,
                idempotent=True,  # a login may be repeated safely
            )
        except OutcomeUnknown:
            raise UpstreamUnavailable(
                f"{self._upstream}: the login did not complete", upstream=self._upstream
            ) from None
        self.logins += 1
        if response.status_code != 200:
            raise UpstreamAuthError(
                f"{self._upstream} refused the login (HTTP {response.status_code})",
                upstream=self._upstream,
            )
        body: Any = json_body(response, self._upstream)
        if not isinstance(body, dict):
            raise UpstreamBadResponse(
                f"{self._upstream} sent an unexpected login answer", upstream=self._upstream
            )
        token, user_id = body.get("sessionToken"), to_str_id(body.get("userId"))
        if body.get("isAuthenticated") is not True or not token or not user_id:
            # Observed: wrong password or unknown user → HTTP 200, isAuthenticated false.
            raise UpstreamAuthError(
                f"{self._upstream} rejected the configured account", upstream=self._upstream
            )
        self._token, self._user_id = str(token), user_id
        # ``sessionExpires`` is the server's clock: trusted only when it is plausible on ours,
        # so a skewed clock renews every 30 minutes instead of before every call.
        now = self._now()
        expires = to_datetime(body.get("sessionExpires"))
        plausible = expires is not None and now < expires <= now + SESSION_LIFE + RENEW_MARGIN
        self._expires = expires if plausible else now + SESSION_LIFE

    async def sign_out(self, client: UpstreamClient) -> None:
        if self._token is None:
            return
        body = {"userId": self._user_id, "sessionToken": self._token}
        self._token = self._user_id = self._expires = None
        await client.request(
            "POST", f"{self._prefix}Authentication/SignOut", json=body, authenticated=False
        )
