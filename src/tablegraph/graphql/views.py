"""Views that read their fields from the model when asked (``reading_model``).

A Strawberry view copied every field of its model when it was made: fifteen for a booking,
eleven for a guest, once per listed row and request, where a dashboard asks four and three
(issue #16: ~4 µs of a row's CPU). ``reading_model`` makes views of a subclass whose fields
are properties over the private ``m``: to Strawberry the same type (``isinstance``, its
definition), and no ``__getattr__``, so a missing attribute stays a cheap lookup (an earlier
try with ``__getattr__`` lost: HISTORY 38). A field named as the model's is read as
``m.<name>`` in C (``operator.attrgetter``); the others are computed when read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar

V = TypeVar("V")


def reading_model(
    view: type[V], model: type[Any], **computed: Callable[[Any], Any]
) -> Callable[[Any], V]:
    """A maker of ``view``s over a ``model`` value: each of the view's fields but ``m`` is
    the model's field of the same name, or ``computed[name](m)``. Every field must be one or
    the other (checked here, once: a field added to the view alone fails at import)."""
    fields = {f.name for f in dataclasses.fields(view) if f.init} - {"m"}  # type: ignore[arg-type]
    own = {f.name for f in dataclasses.fields(model)}
    wrong = (fields - computed.keys() - own) | (computed.keys() - fields)
    if wrong:
        raise TypeError(f"{view.__name__}: no way to read, or no such field: {sorted(wrong)}")
    attrs: dict[str, Any] = {
        name: property(_computing(computed[name]) if name in computed else attrgetter(f"m.{name}"))
        for name in fields
    }
    lazy: Any = type(f"{view.__name__}OfModel", (view,), attrs)
    new = object.__new__

    def make(m: Any) -> V:
        made = new(lazy)
        made.m = m
        return made  # type: ignore[no-any-return]

    return make


def _computing(compute: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda view: compute(view.m)
