"""Vardvik Bookings (REST API v1). The adapter and its documentation: ``provider``."""

from tablegraph.providers.vardvik.provider import VardvikProvider

__all__ = ["VardvikProvider"]
