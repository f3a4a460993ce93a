"""The theoretical minimum of upstream requests per workload operation, per provider kind.

"Minimum" here: what the query cannot do without, given each provider's real API, with a warm
gateway (tokens, sessions and the restaurant lists already held) and no answer cached. Why each
number:

- dashboard: one booking list per provider, plus the guests where the list lacks them. Vardvik
  and resOS embed the guest in the list: 1. LibreBooking's list item carries the owner's
  ``firstName``/``lastName``, all the query asks of the guest: 1. Libro's list side-loads only
  experiences and has no people-by-ids call, but one ``/restricted/people`` page (up to 250)
  holds a restaurant's people: 2.
- dashboard_one: the dashboard for Vardvik's restaurant alone (the workload the peer gateway
  runs too): 1.
- search: one availability request per restaurant (Vardvik: 3 restaurants, the others 2 each).
- book: create, then cancel: Vardvik answers the create with the booking and cancels with one
  ``DELETE``; the gateway's read-before-cancel is one more than the minimum.
- reference: the restaurant lists are warm; opening hours come with them at Libro, resOS and
  LibreBooking (its schedules are read with its restaurant list), and need one request per
  restaurant at Vardvik.
"""

from __future__ import annotations

MINIMUM: dict[str, dict[str, int]] = {
    "dashboard": {"vardvik": 1, "libro": 2, "librebooking": 1, "resos": 1},
    "dashboard_one": {"vardvik": 1, "libro": 0, "librebooking": 0, "resos": 0},
    "search": {"vardvik": 3, "libro": 2, "librebooking": 2, "resos": 2},
    "book": {"vardvik": 2, "libro": 0, "librebooking": 0, "resos": 0},
    "reference": {"vardvik": 3, "libro": 0, "librebooking": 0, "resos": 0},
}
