"""LibreBooking provider (kind ``librebooking``); see ``provider.py`` for the API notes."""

from tablegraph.providers.librebooking.provider import LibreBookingProvider

__all__ = ["LibreBookingProvider"]
