"""GraphiQL, served from files shipped in the package (no CDN: it works offline).

Subscriptions run over graphql-transport-ws on the same path (the bundle carries
``graphql-ws``); headers typed in GraphiQL's header editor go along as the
``connection_init`` payload, which is where subscribers authenticate.
"""

from __future__ import annotations

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

# Live bookings: run this in one tab, book in another (README, "Live bookings").
# subscription Live($ids: [ID!]!) {
#   bookingEvents(restaurantIds: $ids) {
#     id kind source occurredAt
#     changes { field old new }
#     booking { id status start partySize }
#   }
# }
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
    const ws = (window.location.protocol === 'https:' ? 'wss://' : 'ws://')
      + window.location.host + window.location.pathname;
    const fetcher = GraphiQL.createFetcher({
      url: window.location.pathname,
      subscriptionUrl: ws,
    });
    const root = ReactDOM.createRoot(document.getElementById('graphiql'));
    root.render(React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: __DEFAULT_QUERY__,
      defaultEditorToolsVisibility: true,
    }));
  </script>
</body>
</html>
"""


def graphiql_html() -> str:
    import json

    return _PAGE.replace("__DEFAULT_QUERY__", json.dumps(_DEFAULT_QUERY))


def static_routes() -> list[web.AbstractRouteDef]:
    return [web.static("/static/graphiql", STATIC)]
