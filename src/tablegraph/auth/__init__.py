"""Who may do what.

- ``scopes``: the scope names and what each gates;
- ``identity``: ``Identity`` (client id, scopes, ``Tenancy`` — the restaurants it may see);
- ``config``: ``[auth]`` and ``[[clients]]`` parsed into ``AuthSettings``;
- ``keys``: API keys (generated, shown once, stored as ``sha256:`` hashes);
- ``tokens``: JWT verification (PyJWT; HS256, RS256, ES256; keys, JWKS);
- ``authenticate``: request headers → ``Identity`` (or 401);
- ``manage``: signed booking-management tokens, with secret rotation;
- ``connect``: the guard in front of the OAuth connect routes;
- ``redact``: the log-record factory that keeps personal data and credentials out of logs.

The GraphQL side (field permissions derived from the schema, tenancy where restaurants,
bookings and guests are resolved) lives in ``tablegraph.graphql.permissions``.
"""
