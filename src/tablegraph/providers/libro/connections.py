"""The tokens one Libro upstream holds, and which one serves which restaurant.

- The partner account: client credentials, one ``TokenAuth`` shared by every call.
- Accounts connected through the authorization-code flow: each with its own client and a
  rotating refresh token, kept durably in a ``TokenStore`` (persisted before use, since the
  old one stops working the moment Libro answers). A refused refresh marks only that account
  ``needs_reconnect``; its restaurants then fail fast with ``UpstreamAuthError`` while every
  other restaurant keeps working.

Shared between workers: every grant — the partner's access token and each account's tokens —
is saved in the ``TokenStore`` as soon as it is made, and a renewal goes through
``stores.locks.renew_once`` on the gateway's store (``locks``): a worker first takes a token
another worker saved, if that is not the one that just failed; otherwise the one holding the
lock renews and saves while the others wait and take what it saved. An account's refresh uses
the refresh token read from the store under the lock, never a copy another worker may have
rotated already. Accounts are read from the store again every ``reload_seconds`` (one
connected or reconnected through another worker).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tablegraph.errors import OutcomeUnknown, UpstreamAuthError, UpstreamUnavailable
from tablegraph.providers.libro.auth import (
    Account,
    Grant,
    Now,
    TokenAuth,
    read_state,
    sign_state,
)
from tablegraph.providers.libro.payloads import TokenResponse
from tablegraph.stores.base import Store
from tablegraph.stores.locks import LockBusy, renew_once
from tablegraph.tokenstore import TokenStore
from tablegraph.upstream import UpstreamClient, json_body

log = logging.getLogger(__name__)
MakeClient = Callable[[TokenAuth], UpstreamClient]
#: How long a renewal may hold the lock: the token call with its retries (1 s, 2 s, 4 s)
#: and timeouts fits; a worker that dies holding it delays the others this long at most.
RENEW_LOCK_SECONDS = 60.0
#: The partner account's grant in the token store: ``(<upstream>:partner, client_credentials)``.
PARTNER = "client_credentials"


class Connections:
    def __init__(
        self,
        *,
        upstream: str,
        client_id: Callable[[], str],
        client_secret: Callable[[], str],
        token_client: UpstreamClient,
        make_client: MakeClient,
        store: TokenStore,
        locks: Store | None,
        now: Now,
        monotonic: Callable[[], float],
        reload_seconds: float | None,
        margin: float,
        token_url: str,
        oauth_token_url: str,
        authorize_url: str,
        scopes: str,
        use_client_credentials: bool,
    ) -> None:
        self.upstream = upstream
        self._client_id, self._client_secret = client_id, client_secret
        self._token_client = token_client
        self._make_client = make_client
        self._store = store
        self._locks = locks
        self._now = now
        self._monotonic = monotonic
        self._reload_seconds = reload_seconds
        self._margin = margin
        self._token_url, self._oauth_token_url = token_url, oauth_token_url
        self._authorize_url, self._scopes = authorize_url, scopes
        self.use_client_credentials = use_client_credentials
        self.default = make_client(TokenAuth(self._client_credentials_grant, now, margin))
        self.accounts: dict[str, Account] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    # ---- which client -----------------------------------------------------------------------

    def clients(self) -> list[UpstreamClient]:
        return [self.default] + [a.client for a in self.accounts.values() if a.client]

    def connected(self) -> list[Account]:
        return [
            a for a in self.accounts.values() if a.status == "connected" and a.client is not None
        ]

    def health(self) -> dict[str, Any]:
        return {"accounts": {label: a.status for label, a in sorted(self.accounts.items())}}

    async def route(self, code: str | None) -> UpstreamClient:
        """The client whose token covers restaurant ``code`` (None: the partner account)."""
        await self.ensure_loaded()
        if code is not None:
            for account in self.accounts.values():
                if code in account.restaurant_codes:
                    if account.status != "connected" or account.client is None:
                        raise self._reconnect_error(account)
                    return account.client
        if not self.use_client_credentials:
            raise UpstreamAuthError(
                "no connected Libro account covers this restaurant", upstream=self.upstream
            )
        return self.default

    # ---- token calls ------------------------------------------------------------------------

    async def _token_request(self, url: str, form: dict[str, str]) -> TokenResponse | None:
        """POST a grant; the token body, or None when the grant itself was refused (4xx)."""
        form = {**form, "client_id": self._client_id(), "client_secret": self._client_secret()}
        try:
            resp = await self._token_client.request(
                "POST",
                url,
                content=urlencode(form).encode(),
                authenticated=False,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except OutcomeUnknown:
            raise UpstreamUnavailable(
                "Libro's token endpoint failed", upstream=self.upstream
            ) from None
        if resp.status_code == 401:
            raise UpstreamAuthError("Libro refused the client credentials", upstream=self.upstream)
        if 400 <= resp.status_code < 500:
            return None
        body = json_body(resp, self.upstream)
        if resp.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise UpstreamAuthError(
                "Libro's token endpoint answered unexpectedly", upstream=self.upstream
            )
        token: TokenResponse = body  # type: ignore[assignment]
        return token

    def _grant(self, token: TokenResponse) -> Grant:
        ttl = int(token.get("expires_in") or 7200)
        return Grant(token["access_token"], self._now() + timedelta(seconds=ttl))

    def _usable(self, grant: Grant | None, stale: str | None) -> Grant | None:
        margin = timedelta(seconds=self._margin)
        return grant if grant is not None and grant.usable(self._now(), margin, stale) else None

    async def _renew_once(
        self,
        name: str,
        read: Callable[[], Awaitable[Grant | None]],
        renew: Callable[[], Awaitable[Grant]],
    ) -> Grant:
        try:
            return await renew_once(
                self._locks,
                f"libro-token:{self.upstream}:{name}",
                read=read,
                renew=renew,
                ttl=RENEW_LOCK_SECONDS,
                wait=RENEW_LOCK_SECONDS,
            )
        except LockBusy:
            raise UpstreamUnavailable(
                "another gateway worker is renewing Libro's token and has not finished",
                upstream=self.upstream,
            ) from None

    async def _client_credentials_grant(self, stale: str | None) -> Grant:
        """The partner's token another worker saved, unless it is ``stale``; else a new one."""
        namespace = f"{self.upstream}:partner"

        async def read() -> Grant | None:
            record = (await self._store.load(namespace)).get(PARTNER)
            if not record or not record.get("access_token") or not record.get("expires_at"):
                return None
            saved = Grant(str(record["access_token"]), datetime.fromisoformat(record["expires_at"]))
            return self._usable(saved, stale)

        async def renew() -> Grant:
            token = await self._token_request(self._token_url, {"grant_type": "client_credentials"})
            if token is None:
                raise UpstreamAuthError(
                    "Libro refused the client-credentials grant", upstream=self.upstream
                )
            grant = self._grant(token)
            expires = grant.expires_at.isoformat()
            await self._store.save(
                namespace, PARTNER, {"access_token": grant.access_token, "expires_at": expires}
            )
            return grant

        return await self._renew_once("partner", read, renew)

    # ---- connected accounts -----------------------------------------------------------------

    def _load_due(self) -> bool:
        if self._loaded_at is None:
            return True
        every = self._reload_seconds
        return every is not None and self._monotonic() - self._loaded_at >= every

    async def ensure_loaded(self) -> None:
        """Accounts from the token store: once, then again every ``reload_seconds``."""
        if not self._load_due():
            return
        async with self._lock:
            if not self._load_due():
                return
            for label, record in (await self._store.load(self.upstream)).items():
                known = self.accounts.get(label)
                if known is None:
                    self._install(Account.from_record(label, record))
                else:
                    known.adopt(record)
            self._loaded_at = self._monotonic()

    def _install(self, account: Account) -> None:
        async def fetch(stale: str | None) -> Grant:
            return await self._refresh(account, stale)

        account.client = self._make_client(
            TokenAuth(fetch, self._now, self._margin, initial=account.initial_grant())
        )
        self.accounts[account.label] = account

    async def _refresh(self, account: Account, stale: str | None) -> Grant:
        """The account's access token another worker saved, unless it is ``stale``; else a
        refresh with the refresh token saved last (read under the lock)."""

        async def read() -> Grant | None:
            record = (await self._store.load(self.upstream)).get(account.label)
            if record is not None:
                account.adopt(record)
            if account.status != "connected":
                raise self._reconnect_error(account)
            return self._usable(account.initial_grant(), stale)

        async def renew() -> Grant:
            token = await self._token_request(
                self._oauth_token_url,
                {"grant_type": "refresh_token", "refresh_token": account.refresh_token},
            )
            if token is None or "refresh_token" not in token:
                account.status = "needs_reconnect"
                account.access_token = account.expires_at = None
                await self._store.save(self.upstream, account.label, account.to_record())
                raise self._reconnect_error(account)
            grant = self._grant(token)
            # Refresh tokens rotate: persist the new one before anything else can fail.
            account.refresh_token = token["refresh_token"]
            account.access_token, account.expires_at = grant.access_token, grant.expires_at
            await self._store.save(self.upstream, account.label, account.to_record())
            return grant

        if account.status != "connected" and self._reload_seconds is None:
            raise self._reconnect_error(account)  # nobody else can have reconnected it
        return await self._renew_once(f"account:{account.label}", read, renew)

    def _reconnect_error(self, account: Account) -> UpstreamAuthError:
        return UpstreamAuthError(
            "the Libro account must be reconnected",
            upstream=self.upstream,
            details={"account": account.label, "needsReconnect": True},
        )

    # ---- the authorization-code flow --------------------------------------------------------

    def authorization_url(self, redirect_uri: str, label: str | None = None) -> str:
        """Libro's authorize URL for a new connection, with a signed ``state`` (10 min)."""
        state = sign_state(self._client_secret(), redirect_uri, label, self._now())
        return (
            self._authorize_url
            + "?"
            + urlencode(
                {
                    "client_id": self._client_id(),
                    "redirect_uri": redirect_uri,
                    "response_type": "code",
                    "scope": self._scopes,
                    "state": state,
                }
            )
        )

    async def complete(
        self,
        state: str,
        code: str,
        list_codes: Callable[[UpstreamClient], Awaitable[list[str]]],
        *,
        replace: bool = True,
    ) -> Account:
        """Exchange a callback's code, learn the account's restaurants, store it durably.

        An account that is still connected is replaced only when ``replace`` is set (one that
        needs reconnecting may always be reconnected); a replacement is logged."""
        from tablegraph.errors import GatewayError, InvalidInput

        pending = read_state(self._client_secret(), state, self._now())
        if pending is None:
            raise InvalidInput("unknown or expired connection attempt", upstream=self.upstream)
        redirect_uri, label = pending
        token = await self._token_request(
            self._oauth_token_url,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        )
        if token is None or "refresh_token" not in token:
            raise UpstreamAuthError("Libro refused the authorization code", upstream=self.upstream)
        await self.ensure_loaded()
        grant = self._grant(token)
        probe = self._make_client(TokenAuth(self._never_refresh, self._now, 0, initial=grant))
        try:
            codes = tuple(await list_codes(probe))
        finally:
            await probe.aclose()
        label = label or (codes[0] if codes else f"account-{len(self.accounts) + 1}")
        account = Account(
            label,
            token["refresh_token"],
            codes,
            access_token=grant.access_token,
            expires_at=grant.expires_at,
        )
        old = self.accounts.get(label)
        if old is not None and old.status == "connected" and not replace:
            raise GatewayError(
                f"the Libro account {label!r} is already connected; start again with "
                "replace=true to replace it",
                upstream=self.upstream,
                code="ALREADY_CONNECTED",
            )
        if old is not None:
            log.warning("replacing the Libro connection %r of %s", label, self.upstream)
        # Saved before it is installed: a reload in between must not bring back the old one.
        await self._store.save(self.upstream, label, account.to_record())
        if old is not None and old.client is not None:
            await old.client.aclose()
        self._install(account)
        return account

    async def _never_refresh(self, stale: str | None) -> Grant:
        raise UpstreamAuthError("Libro refused a fresh access token", upstream=self.upstream)
