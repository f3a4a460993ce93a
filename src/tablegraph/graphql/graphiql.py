"""GraphiQL, served from files shipped in the package (no CDN: it works offline).

The page is public (a browser cannot send an ``Authorization`` header when it opens a URL);
the queries it sends carry the headers in GraphiQL's headers editor. A key in the URL's
fragment (``/graphql#key=tgk_…``, what ``tablegraph demo`` prints) fills that editor in: the
fragment never reaches a server or a log, and the page drops it from the address bar.
The page's only script runs under a per-response CSP nonce; it may not be framed.

Subscriptions run over graphql-transport-ws on the same path (the bundle carries
``graphql-ws``); the headers in the editor go along as the ``connection_init`` payload, which is
where WebSocket subscribers authenticate.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent.parent / "static" / "graphiql"

_DEFAULT_QUERY = """# Welcome to tablegraph: one API over every reservation system.
query Restaurants {
  upstreams { name kind status }
  restaurants(first: 10) {
    nodes { id name timezone provider capabilities }
  }
}
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>tablegraph · GraphiQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="/static/graphiql/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/static/graphiql/react.production.min.js"></script>
  <script src="/static/graphiql/react-dom.production.min.js"></script>
  <script src="/static/graphiql/graphiql.min.js"></script>
  <script nonce="__NONCE__">
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    const key = fragment.get('key');
    const props = {
      fetcher: GraphiQL.createFetcher({
        url: window.location.pathname,
        subscriptionUrl: (window.location.protocol === 'https:' ? 'wss://' : 'ws://')
          + window.location.host + window.location.pathname,
      }),
      defaultQuery: __DEFAULT_QUERY__,
      defaultEditorToolsVisibility: true,
      defaultHeaders: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
      ...__OPENED__,
    };
    if (key) {
      props.headers = JSON.stringify({ Authorization: 'Bearer ' + key }, null, 2);
      history.replaceState(null, '', window.location.pathname + window.location.search);
    }
    const root = ReactDOM.createRoot(document.getElementById('graphiql'));
    root.render(React.createElement(GraphiQL, props));
  </script>
</body>
</html>
"""


def graphiql_html(nonce: str = "", query: str | None = None, variables: str | None = None) -> str:
    """The page; ``query`` (and ``variables``, JSON text) open in a tab of their own, as when
    a ``/graphql?query=…`` link is followed in a browser."""
    opened: dict[str, str] = {}
    if query:
        opened["query"] = query
        if variables:
            opened["variables"] = variables
    page = _PAGE.replace("__DEFAULT_QUERY__", _script_json(_DEFAULT_QUERY))
    return page.replace("__OPENED__", _script_json(opened)).replace("__NONCE__", nonce)


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element (no "</script>" can close it early)."""
    return (
        json.dumps(value)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def graphiql_response(query: str | None = None, variables: str | None = None) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    csp = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",  # GraphiQL styles its editors inline
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return web.Response(
        text=graphiql_html(nonce, query, variables),
        content_type="text/html",
        headers={
            "Content-Security-Policy": csp,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def static_routes() -> list[web.AbstractRouteDef]:
    return [web.static("/static/graphiql", STATIC)]
