"""The guard in front of every ``/connect/{upstream}`` route (OAuth authorization-code flow).

- Starting a connection needs an authenticated ``admin`` (the app's middleware checks it):
  either ``GET /connect/{upstream}`` with the admin's credentials, or — since a browser opening
  a URL sends no ``Authorization`` header — ``POST /connect/{upstream}`` with them, which
  answers a start link holding a single-use ticket valid for ``TICKET_TTL`` seconds, to open in
  the browser that will approve the connection.
- The start sets a cookie holding a random browser binding; the ``state`` the provider put
  into its authorize URL is remembered with a hash of that binding, for ``STATE_TTL`` seconds.
- The callback is accepted once per state, only from the browser holding the binding cookie:
  a state from another browser, a reused or an expired one is refused before the provider
  sees it.
- The provider builds its callback URL from the request; the guard hands it a request whose
  scheme and host come from the configured public base URL (or the address the gateway is
  bound to), never from the client's ``Host`` header.
- ``replace=true`` on the start is the only way to replace an existing connection; the guard
  forwards that choice (and only its own) to the callback.

States and tickets live in the gateway's store (``tablegraph.stores``) with their TTL, keyed
by a hash of the value (the store never holds a usable state or ticket): a connection started
on one worker completes on any other sharing the store, and each is taken with one
compare-and-set, so of two callbacks racing on two workers exactly one proceeds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from yarl import URL

from tablegraph.stores.base import Store

log = logging.getLogger(__name__)

STATE_TTL = 600.0
TICKET_TTL = 120.0
COOKIE = "tg_connect"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ConnectGuard:
    def __init__(self, public_base_url: str | None, store: Store) -> None:
        self.public_base_url = public_base_url
        #: ``connect-state:<digest(state)>`` -> {"browser": digest(binding), "replace": bool};
        #: ``connect-ticket:<digest(ticket)>`` -> the path it opens. Both expire by TTL.
        self.store = store

    async def new_ticket(self, request: web.Request) -> web.Response:
        """``POST /connect/{upstream}`` by an admin: a start link for a browser."""
        ticket = secrets.token_urlsafe(24)
        await self.store.set(f"connect-ticket:{_digest(ticket)}", request.path, TICKET_TTL)
        query = {k: v for k, v in request.query.items() if k in ("account", "replace")}
        query["ticket"] = ticket
        link = URL(str(self._public(request).url)).with_query(query)
        return web.json_response({"url": str(link), "expiresInSeconds": int(TICKET_TTL)})

    async def take_ticket(self, request: web.Request) -> bool:
        """Whether the request carries a live ticket for its own path (used up on success)."""
        ticket = request.query.get("ticket")
        if not ticket:
            return False
        key = f"connect-ticket:{_digest(ticket)}"
        path = await self.store.get(key)
        if path is None or path != request.path:
            return False
        return await self.store.compare_and_set(key, path, None)  # one taker wins

    def _public(self, request: web.Request) -> web.Request:
        if self.public_base_url:
            base = URL(self.public_base_url)
        else:
            sockname = request.transport.get_extra_info("sockname") if request.transport else None
            host, port = (sockname[0], sockname[1]) if sockname else ("127.0.0.1", 80)
            base = URL.build(scheme="http", host=host, port=port)
        netloc = base.host or "127.0.0.1"
        if base.explicit_port:
            netloc = f"{netloc}:{base.port}"
        return request.clone(scheme=base.scheme, host=netloc)

    async def start(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        replace = request.query.get("replace", "").lower() in ("1", "true", "yes")
        try:
            await handler(self._public(request))
        except web.HTTPFound as redirect:
            location = redirect.location
        else:
            raise web.HTTPBadGateway(text="the provider did not start a connection")
        state = (parse_qs(urlsplit(str(location)).query).get("state") or [""])[0]
        if not state:
            raise web.HTTPBadGateway(text="the provider did not start a connection")
        binding = secrets.token_urlsafe(24)
        remembered = json.dumps({"browser": _digest(binding), "replace": replace})
        await self.store.set(f"connect-state:{_digest(state)}", remembered, STATE_TTL)
        response = web.Response(status=302, headers={"Location": str(location)})
        response.set_cookie(
            COOKIE,
            binding,
            max_age=int(STATE_TTL),
            path=request.path.rstrip("/") + "/callback",
            httponly=True,
            samesite="Lax",
            secure=request.secure or str(self.public_base_url or "").startswith("https:"),
        )
        return response

    async def callback(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        replace = await self._take_state(request)
        if replace is None:
            log.warning(
                "refused an OAuth callback on %s: unknown, reused or foreign state", request.path
            )
            return web.Response(
                status=400,
                content_type="text/html",
                text="<p>This connection attempt is unknown, expired, already used, or was "
                "started in another browser. Start again.</p>",
            )
        query = {k: v for k, v in request.query.items() if k != "replace"}
        query["replace"] = "true" if replace else "false"
        forwarded = self._public(request).clone(rel_url=request.rel_url.with_query(query))
        response = await handler(forwarded)
        response.del_cookie(COOKIE, path=request.path)
        return response

    async def _take_state(self, request: web.Request) -> bool | None:
        """The start's ``replace`` choice for a live state of this browser, used up; None for
        an unknown, expired, reused or foreign state. A foreign browser's attempt does not burn
        the owner's state; the owner's use does."""
        key = f"connect-state:{_digest(request.query.get('state', ''))}"
        raw = await self.store.get(key)
        if raw is None:
            return None
        try:
            remembered = json.loads(raw)
            browser, replace = str(remembered["browser"]), bool(remembered["replace"])
        except (ValueError, KeyError, TypeError):
            return None
        binding = request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(browser, _digest(binding)):
            return None
        if not await self.store.compare_and_set(key, raw, None):
            return None  # another worker took it first
        return replace
