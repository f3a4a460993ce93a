"""Benchmarks (issue #16): tablegraph beside a naive tablegraph and GraphQL Mesh / Hive Gateway.

``python -m tests.bench`` runs the suite (see ``runner``); ``test_smoke.py`` is the quick
pass/fail version (upstream request counts, upstreams fetched at once).
"""
