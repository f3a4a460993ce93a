"""Gateway-side "connect a Libro account" routes (authorization-code flow).

``GET /connect/{upstream}`` redirects the browser to Libro's authorize URL (an optional
``?account=<label>`` names the connection); ``GET /connect/{upstream}/callback`` receives
``?code=&state=``, exchanges the code and stores the rotating refresh token durably. The
routes are returned with the upstream's name filled in, ready for ``app.add_routes``; the
gateway mounts them behind ``tablegraph.auth.connect.ConnectGuard`` (admin to start, state
single-use and bound to the browser, callback URL from the public base URL), which also
decides ``replace``: an account already connected is replaced only with ``replace=true``.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from aiohttp import web

from tablegraph.errors import GatewayError

if TYPE_CHECKING:
    from tablegraph.providers.libro import LibroProvider


def libro_oauth_routes(provider: LibroProvider) -> list[web.RouteDef]:
    base = f"/connect/{provider.name}"

    def redirect_uri(request: web.Request) -> str:
        configured = provider.options.redirect_uri
        if configured:
            return configured
        return str(request.url.with_path(f"{base}/callback").with_query(None))

    async def connect(request: web.Request) -> web.Response:
        label = (request.query.get("account") or "")[:64] or None
        raise web.HTTPFound(provider.authorization_url(redirect_uri(request), label))

    async def callback(request: web.Request) -> web.Response:
        if "error" in request.query or "code" not in request.query:
            return web.Response(
                status=400,
                content_type="text/html",
                text="<p>The Libro connection was not authorized.</p>",
            )
        try:
            account = await provider.complete_connection(
                request.query.get("state", ""),
                request.query["code"],
                replace=request.query.get("replace", "true") == "true",
            )
        except GatewayError as exc:
            status = {"INVALID_INPUT": 400, "ALREADY_CONNECTED": 409}.get(exc.code, 502)
            return web.Response(
                status=status, content_type="text/html", text=f"<p>{html.escape(exc.message)}</p>"
            )
        codes = ", ".join(html.escape(c) for c in account.restaurant_codes)
        return web.Response(
            content_type="text/html",
            text=(f"<p>Libro account {html.escape(account.label)} connected: {codes}</p>"),
        )

    return [web.get(base, connect), web.get(f"{base}/callback", callback)]
