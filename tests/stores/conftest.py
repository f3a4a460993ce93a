"""The store tests run against a real Redis too (``tests.redis_server``)."""

from tests.redis_server import redis_url

__all__ = ["redis_url"]
