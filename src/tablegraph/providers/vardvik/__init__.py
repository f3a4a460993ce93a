"""Vardvik Bookings (REST API v1). The adapter and its documentation: ``provider``."""

from tablegraph.providers.vardvik.provider import VardvikOptions, VardvikProvider

__all__ = ["VardvikOptions", "VardvikProvider"]
