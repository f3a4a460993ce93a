"""Route templates: an upstream path with its ids replaced, for metric labels and span names.

Adapters build paths with ids in them (``/restaurants/rst_1/reservations/res_8f2c``); a label
per raw path would grow without end. A segment counts as an id when it holds a digit, is
longer than ``MAX_WORD`` characters or holds anything but letters, ``-``, ``_`` and ``.``;
everything else (``bookings``, ``bookingFlow``, ``index.php``) is kept. An id made of letters
alone slips through as a word: ``metrics`` still caps the endpoints of each upstream.
"""

from __future__ import annotations

import re

ID = "{id}"
MAX_WORD = 24
_WORD = re.compile(r"^[A-Za-z][A-Za-z._-]*$")


def route_template(path: str) -> str:
    """``/restaurants/rst_1/availability`` → ``/restaurants/{id}/availability``."""
    path = path.split("?", 1)[0]
    return "/".join(
        segment if not segment or (len(segment) <= MAX_WORD and _WORD.match(segment)) else ID
        for segment in path.split("/")
    )
