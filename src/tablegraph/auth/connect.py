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

States live in this process's memory: a connection is completed by the process that started
it (put sticky sessions on ``/connect`` when scaling out).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from yarl import URL

log = logging.getLogger(__name__)

STATE_TTL = 600.0
TICKET_TTL = 120.0
COOKIE = "tg_connect"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ConnectGuard:
    def __init__(
        self, public_base_url: str | None, *, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.public_base_url = public_base_url
        self._timer = timer
        #: digest(state) -> (digest(browser binding), replace, expires at)
        self._states: dict[str, tuple[str, bool, float]] = {}
        #: digest(ticket) -> (path it opens, expires at)
        self._tickets: dict[str, tuple[str, float]] = {}

    def new_ticket(self, request: web.Request) -> web.Response:
        """``POST /connect/{upstream}`` by an admin: a start link for a browser."""
        ticket = secrets.token_urlsafe(24)
        now = self._timer()
        for old in [k for k, v in self._tickets.items() if v[1] <= now]:
            del self._tickets[old]
        self._tickets[_digest(ticket)] = (request.path, now + TICKET_TTL)
        query = {k: v for k, v in request.query.items() if k in ("account", "replace")}
        query["ticket"] = ticket
        link = URL(str(self._public(request).url)).with_query(query)
        return web.json_response({"url": str(link), "expiresInSeconds": int(TICKET_TTL)})

    def take_ticket(self, request: web.Request) -> bool:
        """Whether the request carries a live ticket for its own path (used up on success)."""
        ticket = request.query.get("ticket")
        if not ticket:
            return False
        found = self._tickets.get(_digest(ticket))
        if found is None or found[0] != request.path or found[1] <= self._timer():
            return False
        del self._tickets[_digest(ticket)]
        return True

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
        now = self._timer()
        for old in [k for k, v in self._states.items() if v[2] <= now]:
            del self._states[old]
        self._states[_digest(state)] = (_digest(binding), replace, now + STATE_TTL)
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
        state = _digest(request.query.get("state", ""))
        remembered = self._states.get(state)
        binding = request.cookies.get(COOKIE, "")
        # A foreign browser's attempt does not burn the owner's state; the owner's use does.
        if remembered is not None and hmac.compare_digest(remembered[0], _digest(binding)):
            del self._states[state]
        else:
            remembered = None
        if remembered is None or remembered[2] <= self._timer():
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
        query["replace"] = "true" if remembered[1] else "false"
        forwarded = self._public(request).clone(rel_url=request.rel_url.with_query(query))
        response = await handler(forwarded)
        response.del_cookie(COOKIE, path=request.path)
        return response
