"""GraphiQL, served from files shipped in the package (no CDN: it works offline)."""

from __future__ import annotations

import json
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
  <script>
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    const root = ReactDOM.createRoot(document.getElementById('graphiql'));
    root.render(React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: __DEFAULT_QUERY__,
      defaultEditorToolsVisibility: true,
      ...__OPENED__,
    }));
  </script>
</body>
</html>
"""


def graphiql_html(query: str | None = None, variables: str | None = None) -> str:
    """The page; ``query`` (and ``variables``, JSON text) open in a tab of their own, as when
    a ``/graphql?query=…`` link is followed in a browser."""
    opened: dict[str, str] = {}
    if query:
        opened["query"] = query
        if variables:
            opened["variables"] = variables
    page = _PAGE.replace("__DEFAULT_QUERY__", _script_json(_DEFAULT_QUERY))
    return page.replace("__OPENED__", _script_json(opened))


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


def static_routes() -> list[web.AbstractRouteDef]:
    return [web.static("/static/graphiql", STATIC)]
