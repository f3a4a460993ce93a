"""resOS adapter package; the registered class is ``ResosProvider`` (see ``provider``)."""

from tablegraph.providers.resos.provider import ResosProvider

__all__ = ["ResosProvider"]
