"""Auth flows for keys that never change (Bearer, HTTP Basic). Session and OAuth flows live
with their provider and follow the same ``tablegraph.upstream.Auth`` protocol."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from tablegraph.upstream import UpstreamClient


class StaticAuth:
    """Fixed headers; nothing to refresh, so a 401 is final."""

    refresh_statuses: frozenset[int] = frozenset()

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    @classmethod
    def bearer(cls, token: str) -> StaticAuth:
        return cls({"Authorization": f"Bearer {token}"})

    @classmethod
    def basic(cls, user: str, password: str = "") -> StaticAuth:
        raw = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return cls({"Authorization": f"Basic {raw}"})

    async def headers(self, client: UpstreamClient) -> Mapping[str, str]:
        return self._headers

    async def refresh(self, client: UpstreamClient, stale: Mapping[str, str]) -> bool:
        return False
