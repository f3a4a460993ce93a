"""Views that read their fields from the model when asked (``graphql/views.py``)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import strawberry

from tablegraph import ids, model
from tablegraph.graphql import types
from tablegraph.graphql.views import reading_model


def _booking() -> model.Booking:
    start = datetime(2030, 5, 1, 19, tzinfo=UTC)
    return model.Booking(
        upstream="vardvik-oslo",
        native_id="r-1",
        restaurant_id="7",
        status=model.BookingStatus.CONFIRMED,
        provider_status="confirmed",
        start=start,
        end=start.replace(hour=21),
        party_size=4,
        guest_id="g-1",
        tables=("12", "13"),
        tags=("birthday",),
        notes="window",
        area=model.Area(native_id="a-1", name="Terrace"),
    )


def test_a_booking_view_reads_every_field_from_its_model() -> None:
    m = _booking()
    view = types.Booking.of(m)
    assert isinstance(view, types.Booking) and view.m is m
    assert view.id == ids.encode("Booking", "vardvik-oslo", "r-1")
    assert (view.start, view.end, view.party_size, view.status) == (m.start, m.end, 4, m.status)
    assert (view.provider_status, view.notes, view.upstream) == ("confirmed", "window", m.upstream)
    assert view.tables == ["12", "13"] and view.tags == ["birthday"]  # lists, as GraphQL's
    assert view.area is not None and (view.area.id, view.area.name) == ("a-1", "Terrace")
    # Read when asked: a view of a changed model (models are frozen: a new one) says so.
    assert types.Booking.of(dataclasses.replace(m, party_size=6)).party_size == 6


def test_a_guest_view_reads_its_fields_and_keeps_its_type() -> None:
    m = model.Guest(upstream="libro-mtl", native_id="42", first_name="Ada", last_name="King")
    view = types.Guest.of(m)
    assert isinstance(view, types.Guest)
    assert (view.first_name, view.last_name, view.email) == ("Ada", "King", None)
    assert view.id == ids.encode("Guest", "libro-mtl", "42")


def test_a_view_field_with_no_way_to_be_read_is_refused_when_the_maker_is_made() -> None:
    @strawberry.type
    class Note:
        text: str
        colour: str  # the model has no colour, and none is computed
        m: strawberry.Private[model.Area]

    with pytest.raises(TypeError, match="colour"):
        reading_model(Note, model.Area, text=lambda m: m.name)
    with pytest.raises(TypeError, match="size"):  # nor may a computed field be unknown
        reading_model(Note, model.Area, text=lambda m: m.name, colour=str, size=len)
    make = reading_model(Note, model.Area, text=lambda m: m.name, colour=lambda m: "red")
    note = make(model.Area(native_id="a", name="Bar"))
    assert (note.text, note.colour) == ("Bar", "red")
