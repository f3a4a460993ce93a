"""Booking-management tokens: what lets a public widget's guest read, reschedule and cancel
their own booking without ``bookings:write``.

``tgm1.<payload>.<mac>``: the payload names the booking (its global id), the client that
created it and an expiry (the booking's end plus a grace period), and is signed with
HMAC-SHA256. The payload also carries the signing key's id, so a rotated-out secret is found
without trying every key: tokens signed with a previous secret are accepted until that
secret's ``valid_until`` (the rotation's overlap), and not after.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tablegraph.auth.config import ManageTokenSettings, PreviousSecret
from tablegraph.settings import Secret

PREFIX = "tgm1"


@dataclass(frozen=True)
class ManageGrant:
    booking_id: str  # global id
    client_id: str
    expires: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _kid(secret: Secret) -> str:
    return hashlib.sha256(b"kid:" + secret.reveal().encode()).hexdigest()[:12]


def secret_from_file(path: str | Path) -> Secret:
    """The demo's secret: generated once into ``path`` (mode 0600), then reused."""
    p = Path(path)
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        p.chmod(0o600)
    return Secret(p.read_text(encoding="utf-8").strip())


class ManageTokens:
    def __init__(
        self,
        current: Secret,
        previous: tuple[PreviousSecret, ...] = (),
        *,
        valid_after_end: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._current = current
        self._keys: dict[str, tuple[Secret, datetime | None]] = {_kid(current): (current, None)}
        for p in previous:
            self._keys.setdefault(_kid(p.secret), (p.secret, p.valid_until))
        self._grace = valid_after_end
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: ManageTokenSettings, clock: Callable[[], datetime] | None = None
    ) -> ManageTokens:
        if settings.secret is not None:
            current = settings.secret
        elif settings.secret_file:
            current = secret_from_file(settings.secret_file)
        else:
            # No configured secret: tokens live as long as this process (a restart voids them).
            current = Secret(secrets.token_urlsafe(32))
        kw = {"clock": clock} if clock is not None else {}
        return cls(
            current,
            settings.previous,
            valid_after_end=timedelta(seconds=settings.valid_after_end_seconds),
            **kw,
        )

    def issue(self, booking_id: str, client_id: str, booking_end: datetime) -> str:
        expires = booking_end + self._grace
        payload = json.dumps(
            {
                "b": booking_id,
                "c": client_id,
                "e": int(expires.timestamp()),
                "k": _kid(self._current),
            },
            separators=(",", ":"),
        ).encode()
        return f"{PREFIX}.{_b64(payload)}.{_b64(self._mac(self._current, payload))}"

    def read(self, token: str) -> ManageGrant | None:
        """The grant of a genuine, unexpired token signed with a key still accepted."""
        if not isinstance(token, str) or len(token) > 1024:
            return None
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        try:
            payload, mac = _unb64(parts[1]), _unb64(parts[2])
            data = json.loads(payload)
        except (binascii.Error, ValueError, UnicodeError):
            return None
        if not isinstance(data, dict):
            return None
        entry = self._keys.get(str(data.get("k")))
        if entry is None:
            return None
        secret, valid_until = entry
        if not hmac.compare_digest(self._mac(secret, payload), mac):
            return None
        now = self._clock()
        if valid_until is not None and now >= valid_until:
            return None
        try:
            expires = datetime.fromtimestamp(int(data["e"]), UTC)
            booking, client = str(data["b"]), str(data["c"])
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
        if now >= expires:
            return None
        return ManageGrant(booking, client, expires)

    @staticmethod
    def _mac(secret: Secret, payload: bytes) -> bytes:
        return hmac.new(secret.reveal().encode(), payload, hashlib.sha256).digest()
