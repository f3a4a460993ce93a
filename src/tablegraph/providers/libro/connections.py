"""The tokens one Libro upstream holds, and which one serves which restaurant.

- The partner account: client credentials, one ``TokenAuth`` shared by every call.
- Accounts connected through the authorization-code flow: each with its own client and a
  rotating refresh token, kept durably in a ``TokenStore`` (persisted before use, since the
  old one stops working the moment Libro answers). A refused refresh marks only that account
  ``needs_reconnect``; its restaurants then fail fast with ``UpstreamAuthError`` while every
  other restaurant keeps working.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
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
from tablegraph.tokenstore import TokenStore
from tablegraph.upstream import UpstreamClient, json_body

log = logging.getLogger(__name__)
MakeClient = Callable[[TokenAuth], UpstreamClient]


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
        now: Now,
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
        self._now = now
        self._margin = margin
        self._token_url, self._oauth_token_url = token_url, oauth_token_url
        self._authorize_url, self._scopes = authorize_url, scopes
        self.use_client_credentials = use_client_credentials
        self.default = make_client(TokenAuth(self._client_credentials_grant, now, margin))
        self.accounts: dict[str, Account] = {}
        self._loaded = False
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

    async def _client_credentials_grant(self) -> Grant:
        token = await self._token_request(self._token_url, {"grant_type": "client_credentials"})
        if token is None:
            raise UpstreamAuthError(
                "Libro refused the client-credentials grant", upstream=self.upstream
            )
        return self._grant(token)

    # ---- connected accounts -----------------------------------------------------------------

    async def ensure_loaded(self) -> None:
        if self._loaded:
            return
        async with self._lock:
            if self._loaded:
                return
            for label, record in (await self._store.load(self.upstream)).items():
                self._install(Account.from_record(label, record))
            self._loaded = True

    def _install(self, account: Account) -> None:
        async def fetch() -> Grant:
            return await self._refresh(account)

        account.client = self._make_client(
            TokenAuth(fetch, self._now, self._margin, initial=account.initial_grant())
        )
        self.accounts[account.label] = account

    async def _refresh(self, account: Account) -> Grant:
        if account.status != "connected":
            raise self._reconnect_error(account)
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
        if old is not None and old.client is not None:
            await old.client.aclose()
        self._install(account)
        await self._store.save(self.upstream, label, account.to_record())
        return account

    async def _never_refresh(self) -> Grant:
        raise UpstreamAuthError("Libro refused a fresh access token", upstream=self.upstream)
