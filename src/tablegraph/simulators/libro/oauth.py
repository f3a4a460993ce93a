"""Libro's OAuth 2.0 server: token endpoint (three grants) and a minimal authorize page.

Errors follow RFC 6749 (``{"error": "invalid_grant", ...}``, 400; ``invalid_client``, 401):
Libro documents none of them. Refresh tokens rotate: each is good for one refresh.
"""

from __future__ import annotations

import html
import secrets
from urllib.parse import urlencode

from aiohttp import web

from tablegraph.simulators.libro.api import LIBRO_STATE
from tablegraph.simulators.libro.state import Grant, LibroState, OAuthClient, Token

ALL_SCOPES = frozenset({"bookings", "people", "reviews"})


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _token_body(token: Token, refresh: str | None, ttl: int) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": token.value,
        "token_type": "Bearer",
        "expires_in": ttl,
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return body


async def token(request: web.Request) -> web.Response:
    state: LibroState = request.app[LIBRO_STATE]
    form = await request.post()
    grant_type = str(form.get("grant_type", ""))
    state.token_calls.append(grant_type)
    client = state.clients.get(str(form.get("client_id", "")))
    if client is None or not secrets.compare_digest(
        client.secret, str(form.get("client_secret", ""))
    ):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    if grant_type == "client_credentials":
        tok = state.issue_token(client.client_id, None, ALL_SCOPES, client.restaurant_ids)
        return web.json_response(_token_body(tok, None, state.token_ttl))
    if grant_type == "authorization_code":
        grant = state.codes.get(str(form.get("code", "")))
        if (
            grant is None
            or grant.used
            or grant.client_id != client.client_id
            or grant.redirect_uri != form.get("redirect_uri")
        ):
            return _oauth_error(400, "invalid_grant", "The authorization code is invalid")
        grant.used = True
        return _user_tokens(state, client, grant)
    if grant_type == "refresh_token":
        grant = state.refresh_tokens.get(str(form.get("refresh_token", "")))
        if grant is None or grant.used or grant.client_id != client.client_id:
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid")
        grant.used = True  # rotation: a refresh token works once
        return _user_tokens(state, client, grant)
    return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type")


def _user_tokens(state: LibroState, client: OAuthClient, grant: Grant) -> web.Response:
    restaurants = state.users.get(grant.user, frozenset())
    tok = state.issue_token(client.client_id, grant.user, grant.scopes, restaurants)
    refresh = state.issue_refresh(client.client_id, grant.user, grant.scopes)
    return web.json_response(_token_body(tok, refresh, state.token_ttl))


_PAGE = """<!doctype html><html><head><title>Connect to Libro</title></head><body>
<h1>Connect {client} to Libro</h1>
<form method="post" action="/oauth/authorize">{hidden}
<label>Account <select name="login">{options}</select></label>
<button name="decision" value="approve">Authorize</button>
<button name="decision" value="deny">Deny</button>
</form></body></html>"""


async def authorize_page(request: web.Request) -> web.Response:
    state: LibroState = request.app[LIBRO_STATE]
    q = request.query
    client = state.clients.get(q.get("client_id", ""))
    if client is None or q.get("response_type") != "code" or not q.get("redirect_uri"):
        return web.Response(status=400, text="invalid authorization request")
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(q.get(k, ""))}">'
        for k in ("client_id", "redirect_uri", "scope", "state")
    )
    options = "".join(
        f'<option value="{html.escape(u)}">{html.escape(u)}</option>' for u in sorted(state.users)
    )
    return web.Response(
        content_type="text/html",
        text=_PAGE.format(client=html.escape(client.client_id), hidden=hidden, options=options),
    )


async def authorize_submit(request: web.Request) -> web.Response:
    state: LibroState = request.app[LIBRO_STATE]
    form = await request.post()
    client = state.clients.get(str(form.get("client_id", "")))
    redirect_uri = str(form.get("redirect_uri", ""))
    login = str(form.get("login", ""))
    if client is None or not redirect_uri or login not in state.users:
        return web.Response(status=400, text="invalid authorization request")
    params = {"state": str(form["state"])} if form.get("state") else {}
    if form.get("decision") != "approve":
        params["error"] = "access_denied"
    else:
        code = secrets.token_urlsafe(16)
        scopes = frozenset(str(form.get("scope", "")).split()) & ALL_SCOPES or ALL_SCOPES
        state.codes[code] = Grant(code, client.client_id, login, scopes, redirect_uri)
        params["code"] = code
    sep = "&" if "?" in redirect_uri else "?"
    raise web.HTTPFound(redirect_uri + sep + urlencode(params))


ROUTES = [
    web.post("/oauth/token", token),
    web.get("/oauth/authorize", authorize_page),
    web.post("/oauth/authorize", authorize_submit),
]
