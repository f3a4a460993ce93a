"""OAuth 2.0 bearer tokens for Libro as ``UpstreamClient`` ``Auth`` hooks.

``TokenAuth`` caches an access token until ``margin`` seconds before ``expires_in`` and fetches
a new one single-flight: however many requests find it stale at once, one token call is made.
After a 401/403 ``refresh`` renews it once, unless a concurrent caller already did. The grant
itself is a callable given the access token known to be stale (None: none held yet), so it
can tell a token another worker already renewed from the one that failed: client credentials
for the partner account, a rotating refresh token for an account connected through the
authorization-code flow (``Account``); ``connections`` shares both between workers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tablegraph.upstream import UpstreamClient

Now = Callable[[], datetime]


@dataclass
class Grant:
    access_token: str = field(repr=False)
    expires_at: datetime

    def usable(self, now: datetime, margin: timedelta, stale: str | None) -> bool:
        """Not the token known to be stale, and not within ``margin`` of its expiry."""
        return self.access_token != stale and now < self.expires_at - margin


#: Fetches a grant, given the access token known to be stale (None: none held yet).
Fetch = Callable[[str | None], Awaitable[Grant]]


class TokenAuth:
    #: Libro documents 403 for an expired token too: renew once and replay.
    refresh_statuses: frozenset[int] = frozenset({401, 403})

    def __init__(
        self,
        fetch: Fetch,
        now: Now,
        margin: float = 60.0,
        initial: Grant | None = None,
    ) -> None:
        self._fetch = fetch
        self._now = now
        self._margin = timedelta(seconds=margin)
        self._grant = initial
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._grant is not None and self._grant.usable(self._now(), self._margin, None)

    def _held(self) -> str | None:
        return self._grant.access_token if self._grant is not None else None

    async def headers(self, client: UpstreamClient) -> Mapping[str, str]:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    self._grant = await self._fetch(self._held())
        assert self._grant is not None
        return {"Authorization": f"Bearer {self._grant.access_token}"}

    async def refresh(self, client: UpstreamClient, stale: Mapping[str, str]) -> bool:
        async with self._lock:
            current = f"Bearer {self._grant.access_token}" if self._grant else None
            if current is not None and stale.get("Authorization") != current:
                return True  # a concurrent caller already renewed it
            self._grant = await self._fetch(self._held())
            return True

    def forget(self) -> None:
        self._grant = None


@dataclass
class Account:
    """A Libro account connected through the authorization-code flow."""

    label: str
    refresh_token: str = field(repr=False)
    restaurant_codes: tuple[str, ...]
    status: str = "connected"  # or "needs_reconnect"
    access_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    client: UpstreamClient | None = field(default=None, repr=False)

    def to_record(self) -> dict[str, Any]:
        return {
            "refresh_token": self.refresh_token,
            "restaurant_codes": list(self.restaurant_codes),
            "status": self.status,
            "access_token": self.access_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }

    @classmethod
    def from_record(cls, label: str, record: dict[str, Any]) -> Account:
        expires = record.get("expires_at")
        return cls(
            label=label,
            refresh_token=str(record["refresh_token"]),
            restaurant_codes=tuple(record.get("restaurant_codes") or ()),
            status=str(record.get("status") or "connected"),
            access_token=record.get("access_token"),
            expires_at=datetime.fromisoformat(expires) if expires else None,
        )

    def adopt(self, record: dict[str, Any]) -> None:
        """Take what another worker (or an earlier run) saved: the store is the truth."""
        saved = Account.from_record(self.label, record)
        self.refresh_token, self.restaurant_codes = saved.refresh_token, saved.restaurant_codes
        self.status, self.access_token = saved.status, saved.access_token
        self.expires_at = saved.expires_at

    def initial_grant(self) -> Grant | None:
        if self.access_token and self.expires_at:
            return Grant(self.access_token, self.expires_at)
        return None


# ---- the authorization request's ``state`` ------------------------------------------------------
# Signed rather than remembered, so any gateway process can complete a connection another one
# started (the gateway keeps no per-process state); it expires after ``STATE_TTL`` seconds.

STATE_TTL = 600


def sign_state(key: str, redirect_uri: str, label: str | None, now: datetime) -> str:
    payload = json.dumps(
        {"r": redirect_uri, "l": label, "t": int(now.timestamp()), "n": secrets.token_urlsafe(8)},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(key.encode(), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def read_state(key: str, state: str, now: datetime) -> tuple[str, str | None] | None:
    """(redirect_uri, label) of a genuine, fresh ``state``; None otherwise."""
    try:
        raw_payload, raw_mac = state.split(".")
        payload, mac = _unb64(raw_payload), _unb64(raw_mac)
    except ValueError:
        return None
    expected = hmac.new(key.encode(), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        return None
    data = json.loads(payload)
    if not 0 <= now.timestamp() - int(data["t"]) <= STATE_TTL:
        return None
    return str(data["r"]), data.get("l")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, UnicodeError):
        raise ValueError("bad base64") from None
