"""Handlers of Libro's restricted API (``/restricted/...``), DOC paths and parameters."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from aiohttp import web

from tablegraph.simulators.libro.documents import (
    booking_doc,
    booking_included,
    person_doc,
    restaurant_doc,
    review_doc,
)
from tablegraph.simulators.libro.state import (
    ACTIVE_STATUSES,
    ALL_STATUSES,
    BookingRec,
    Experience,
    LibroError,
    LibroState,
    Person,
    RestaurantRec,
    Token,
    _digits,
    fail,
)
from tablegraph.simulators.libro.webhooks import WebhookSender
from tablegraph.timeutil import localize, parse_instant, zone

LIBRO_STATE = web.AppKey("libro_state", LibroState)
LIBRO_WEBHOOKS = web.AppKey("libro_webhooks", WebhookSender)
MAX_LIMIT = 250
TOKEN_KEY = web.RequestKey("libro_token", Token)


def http_error(status: int, key: str, message: str) -> LibroError:
    return LibroError(status, str(status), key, message)


def _state(request: web.Request) -> LibroState:
    return request.app[LIBRO_STATE]


def _token(request: web.Request) -> Token:
    return request[TOKEN_KEY]


def _need_scope(request: web.Request, scope: str) -> None:
    if scope not in _token(request).scopes:
        raise http_error(405, "method-not-allowed", "The token does not allow this endpoint")


def _page(request: web.Request, default: int) -> tuple[int, int]:
    try:
        limit = int(request.query.get("limit", default))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        raise http_error(400, "bad-request", "limit and offset must be integers") from None
    if not 0 < limit <= MAX_LIMIT or offset < 0:
        raise http_error(400, "bad-request", "limit must be between 1 and 250")
    return limit, offset


def _restaurant(request: web.Request, code: str | None, *, required: bool) -> RestaurantRec | None:
    if not code:
        if required:
            raise fail("1005")
        return None
    rest = _state(request).by_code(code)
    if rest is None or rest.id not in _token(request).restaurant_ids:
        raise http_error(404, "not-found", "Restaurant not found")
    return rest


def _visible(request: web.Request) -> list[RestaurantRec]:
    ids = _token(request).restaurant_ids
    return [r for r in _state(request).restaurants.values() if r.id in ids]


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise http_error(400, "bad-request", "Body is not JSON") from None
    if not isinstance(body, dict):
        raise http_error(400, "bad-request", "Body must be an object")
    return body


# ---- restaurants -----------------------------------------------------------------------------


async def list_restaurants(request: web.Request) -> web.Response:
    rests = _visible(request)
    code = request.query.get("restaurant-code")
    if code is not None:
        rests = [r for r in rests if r.code == code]
    query = request.query.get("query")
    if query:
        rests = [r for r in rests if query.lower() in r.name.lower()]
    rests.sort(key=lambda r: int(r.id))
    limit, offset = _page(request, 20)
    return web.json_response({"data": [restaurant_doc(r) for r in rests[offset : offset + limit]]})


async def seatings(request: web.Request) -> web.Response:
    q = request.query
    rest = _restaurant(request, q.get("restaurant-code"), required=True)
    assert rest is not None
    try:
        day = date.fromisoformat(q["date"])
        size = int(q["size"])
    except (KeyError, ValueError):
        raise http_error(400, "bad-request", "date and size are required") from None
    return web.json_response({day.isoformat(): _state(request).seatings(rest, day, size)})


# ---- bookings --------------------------------------------------------------------------------


def _bookings_doc(state: LibroState, bookings: list[BookingRec]) -> dict[str, Any]:
    return {
        "data": [booking_doc(state, b) for b in bookings],
        "included": booking_included(state, bookings),
    }


def _one_booking(state: LibroState, b: BookingRec) -> dict[str, Any]:
    return {"data": booking_doc(state, b), "included": booking_included(state, [b])}


async def list_bookings(request: web.Request) -> web.Response:
    _need_scope(request, "bookings")
    state, q = _state(request), request.query
    rest = _restaurant(request, q.get("restaurant-code"), required=False)
    ids = {rest.id} if rest else {r.id for r in _visible(request)}
    items = [b for b in state.bookings.values() if b.restaurant_id in ids]
    try:
        if "date" in q:
            day = date.fromisoformat(q["date"])
            items = [b for b in items if _local(state, b).date() == day]
            if "time" in q:
                at = time.fromisoformat(q["time"])
                items = [b for b in items if _local(state, b).time() == at]
        for name, attr, after in (
            ("started-after", "start", True),
            ("started-before", "start", False),
            ("created-after", "created_at", True),
            ("updated-after", "updated_at", True),
        ):
            if name in q:
                bound = parse_instant(q[name])
                items = [
                    b
                    for b in items
                    if (getattr(b, attr) >= bound if after else getattr(b, attr) < bound)
                ]
        if "guest-id" in q:
            items = [b for b in items if b.person_id == int(q["guest-id"])]
    except ValueError:
        raise http_error(400, "bad-request", "Invalid filter") from None
    if "status" in q:
        if q["status"] not in ALL_STATUSES:
            raise http_error(400, "bad-request", "Unknown status")
        items = [b for b in items if b.status == q["status"]]
    if "guest-phone" in q:
        phone = _digits(q["guest-phone"])
        items = [b for b in items if _digits(state.people[b.person_id].phone) == phone]
    items.sort(key=lambda b: (b.start, b.id))
    limit, offset = _page(request, 20)
    return web.json_response(_bookings_doc(state, items[offset : offset + limit]))


def _local(state: LibroState, b: BookingRec) -> datetime:
    return b.start.astimezone(zone(state.restaurants[b.restaurant_id].tz))


def _booking(request: web.Request, code: str | None) -> BookingRec:
    state = _state(request)
    try:
        b = state.bookings.get(int(request.match_info["id"]))
    except ValueError:
        b = None
    rest = _restaurant(request, code, required=False)
    if (
        b is None
        or b.restaurant_id not in _token(request).restaurant_ids
        or (rest is not None and b.restaurant_id != rest.id)
    ):
        raise http_error(404, "not-found", "Booking not found")
    return b


async def get_booking(request: web.Request) -> web.Response:
    _need_scope(request, "bookings")
    b = _booking(request, request.query.get("restaurant-code"))
    return web.json_response(_one_booking(_state(request), b))


def _wall(attrs: dict[str, Any]) -> datetime:
    try:
        day = date.fromisoformat(str(attrs["date"]))
        at = time.fromisoformat(str(attrs["time"]))  # "12:00" and "12:00:00" both
    except (KeyError, ValueError):
        raise fail("1006") from None
    return datetime.combine(day, at)


def _place(
    state: LibroState,
    rest: RestaurantRec,
    wall: datetime,
    size: int,
    experience_id: object,
    *,
    paid: bool,
    table_number: object = None,
    ignore: int | None = None,
) -> tuple[datetime, str, Experience | None]:
    """Check a requested seating; return (start, table number, experience) or raise 2xxx/3xxx."""
    if not rest.min_size <= size <= rest.max_size:
        raise fail("2005")
    found = state.find_scope(rest, wall)
    today = state.clock.now().astimezone(zone(rest.tz)).date()
    if wall.date() < today:
        raise fail("2002")
    if not state._in_window(rest, wall.date()):
        raise fail("2007")
    if found is None:
        raise fail("2008")
    scope, _ = found
    start = localize(wall.date(), wall.time(), rest.tz)
    if start <= state.clock.now():
        raise fail("2002")
    exp: Experience | None = None
    zones: tuple[str, ...] | None = None
    if experience_id is not None:
        exp = next((e for e in scope.experiences if str(e.id) == str(experience_id)), None)
        if exp is None:
            raise fail("3001")
    elif scope.experiences:
        exp = next(
            (e for e in scope.experiences if state.free_table(rest, start, size, e.zones, ignore)),
            None,
        )
        if exp is None:
            raise fail("2004")
    if exp is not None:
        zones = exp.zones
        if (
            isinstance(exp.payment, dict)
            and exp.payment.get("payment-type") == "TICKETING"
            and not paid
        ):
            raise fail("3004")
    if table_number:
        table = next((t for t in rest.tables if t.number == str(table_number)), None)
        free = state.free_table(rest, start, size, (table.zone,), ignore) if table else None
        if table is None or free is None or table.seats < size:
            raise fail("2006")
        return start, table.number, exp
    free = state.free_table(rest, start, size, zones, ignore)
    if free is None:
        fits = any(t.seats >= size and (zones is None or t.zone in zones) for t in rest.tables)
        raise fail("2004" if fits else "2003")
    return start, free.number, exp


async def create_booking(request: web.Request) -> web.Response:
    _need_scope(request, "bookings")
    state, body = _state(request), await _body(request)
    rest = _restaurant(request, body.get("restaurant-code"), required=True)
    assert rest is not None
    data = body.get("data") or {}
    attrs = data.get("attributes") or {}
    if rest.login_required:
        raise fail("1001")
    if not isinstance(attrs.get("size"), int):
        raise fail("3003")
    wall = _wall(attrs)
    start, table, exp = _place(
        state,
        rest,
        wall,
        attrs["size"],
        attrs.get("booking-experience-id"),
        paid=body.get("payment-intent-id") is not None,
        table_number=attrs.get("table-number"),
    )
    person = _person_for(
        state, rest, ((data.get("relationships") or {}).get("person") or {}).get("data") or {}
    )
    b = state.new_booking(
        rest,
        person,
        attrs["size"],
        start,
        table,
        note=attrs.get("note"),
        locale=attrs.get("locale"),
        tags=list(attrs.get("tags") or []),
        experience_id=exp.id if exp else None,
        deposit=isinstance(exp.payment, dict) if exp else False,
    )
    request.app[LIBRO_WEBHOOKS].send(_one_booking(state, b), "booking.created")
    return web.json_response(_one_booking(state, b), status=201)


def _person_for(state: LibroState, rest: RestaurantRec, ref: dict[str, Any]) -> Person:
    if "id" in ref:
        try:
            person = state.people.get(int(ref["id"]))
        except (TypeError, ValueError):
            person = None
        if person is None:
            raise fail("3003")
        person.restaurant_ids.add(rest.id)
        return person
    attrs = ref.get("attributes") or {}
    for kebab in ("first-name", "last-name", "email", "phone"):
        if not (attrs.get(kebab) or attrs.get(kebab.replace("-", "_"))):
            raise fail("3003")
    return state.find_or_create_person(attrs, rest)


async def update_booking(request: web.Request) -> web.Response:
    _need_scope(request, "bookings")
    state, body = _state(request), await _body(request)
    code = body.get("restaurant-code") or request.query.get("restaurant-code")
    if not code:
        raise fail("1005")
    b = _booking(request, code)
    attrs = (body.get("data") or {}).get("attributes") or {}
    if "note" in attrs:
        b.note = attrs["note"]
    if "locale" in attrs:
        b.locale = attrs["locale"]
    if "tags" in attrs:
        if not isinstance(attrs["tags"], list):
            raise fail("3003")
        b.tags = [str(t) for t in attrs["tags"]]
    b.updated_at = state.clock.now()
    request.app[LIBRO_WEBHOOKS].send(_one_booking(state, b))
    return web.json_response(_one_booking(state, b))


async def reschedule_booking(request: web.Request) -> web.Response:
    _need_scope(request, "bookings")
    state = _state(request)
    body = await _body(request) if request.body_exists else {}
    # The body is the documented form; DOC examples also pass everything in the query string.
    attrs: dict[str, Any] = dict(request.query)
    attrs.update((body.get("data") or {}).get("attributes") or {})
    code = body.get("restaurant-code") or request.query.get("restaurant-code")
    if not code:
        raise fail("1005")
    b = _booking(request, code)
    rest = state.restaurants[b.restaurant_id]
    if b.status not in ACTIVE_STATUSES or state.modification_restricted(b)["restricted"]:
        raise fail("3003")
    try:
        size = int(attrs.get("size", b.size))
    except ValueError:
        raise fail("3003") from None
    wall = _wall(attrs)
    start, table, exp = _place(
        state,
        rest,
        wall,
        size,
        attrs.get("booking-experience-id", b.experience_id),
        paid=b.deposit,
        ignore=b.id,
    )
    b.start, b.size, b.table = start, size, table
    b.experience_id = exp.id if exp else None
    b.updated_at = state.clock.now()
    request.app[LIBRO_WEBHOOKS].send(_one_booking(state, b))
    return web.json_response(_one_booking(state, b))


async def cancel_booking(request: web.Request) -> web.Response:
    _need_scope(request, "bookings")
    state = _state(request)
    code = request.query.get("restaurant-code")
    if not code:
        raise fail("1005")
    b = _booking(request, code)
    until = state.cancelation_allowed_until(b)
    if b.status not in ACTIVE_STATUSES or until is None or state.clock.now() >= until:
        raise fail("4001")
    b.status = "canceled"
    b.stamps["canceled"] = b.updated_at = state.clock.now()
    request.app[LIBRO_WEBHOOKS].send(_one_booking(state, b), "booking.canceled")
    return web.json_response(_one_booking(state, b))


# ---- people and reviews ------------------------------------------------------------------------


def _person(request: web.Request) -> Person:
    state = _state(request)
    try:
        p = state.people.get(int(request.match_info["id"]))
    except ValueError:
        p = None
    rest = _restaurant(request, request.query.get("restaurant-code"), required=False)
    allowed = {rest.id} if rest else _token(request).restaurant_ids
    if p is None or not (p.restaurant_ids & allowed):
        raise http_error(404, "not-found", "Person not found")
    return p


async def list_people(request: web.Request) -> web.Response:
    _need_scope(request, "people")
    q = request.query
    rest = _restaurant(request, q.get("restaurant-code"), required=True)
    assert rest is not None
    people = [p for p in _state(request).people.values() if rest.id in p.restaurant_ids]
    if "guest-email" in q:
        people = [p for p in people if (p.email or "").lower() == q["guest-email"].lower()]
    if "guest-phone" in q:
        phone = _digits(q["guest-phone"])
        people = [p for p in people if _digits(p.phone) == phone]
    people.sort(key=lambda p: -p.id)  # newest id first (DOC people/_list.md)
    limit, offset = _page(request, 25)
    return web.json_response(
        {
            "data": [person_doc(p) for p in people[offset : offset + limit]],
            "meta": {"page": {"limit": limit, "offset": offset, "total": len(people)}},
        }
    )


async def get_person(request: web.Request) -> web.Response:
    _need_scope(request, "people")
    return web.json_response({"data": person_doc(_person(request))})


async def update_person(request: web.Request) -> web.Response:
    _need_scope(request, "people")
    p, body = _person(request), await _body(request)
    attrs = (body.get("data") or {}).get("attributes") or {}
    for key, attr in (
        ("first-name", "first_name"),
        ("last-name", "last_name"),
        ("email", "email"),
        ("phone", "phone"),
        ("note", "note"),
        ("locale", "locale"),
        ("preferred-communication-channel", "channel"),
    ):
        if key in attrs:
            setattr(p, attr, attrs[key])
    if "tags" in attrs:
        p.tags = [str(t) for t in attrs["tags"] or []]
    p.updated_at = _state(request).clock.now()
    return web.json_response({"data": person_doc(p)})


async def list_reviews(request: web.Request) -> web.Response:
    _need_scope(request, "reviews")
    state = _state(request)
    rest = _restaurant(request, request.query.get("restaurant-code"), required=True)
    assert rest is not None
    items = sorted(
        (r for r in state.reviews.values() if r.restaurant_id == rest.id),
        key=lambda r: (r.created_at, r.id),
        reverse=True,
    )
    limit, offset = _page(request, 20)
    return web.json_response(
        {"data": [review_doc(state, r) for r in items[offset : offset + limit]], "included": []}
    )


ROUTES = [
    web.get("/restricted/restaurants", list_restaurants),
    web.get("/restricted/restaurant/seatings", seatings),
    web.get("/restricted/restaurant/bookings", list_bookings),
    web.post("/restricted/restaurant/bookings", create_booking),
    web.get("/restricted/restaurant/bookings/{id}", get_booking),
    web.patch("/restricted/restaurant/bookings/{id}", update_booking),
    web.delete("/restricted/restaurant/bookings/{id}", cancel_booking),
    web.put("/restricted/restaurant/bookings/{id}/reschedule", reschedule_booking),
    web.get("/restricted/people", list_people),
    web.get("/restricted/people/{id}", get_person),
    web.patch("/restricted/people/{id}", update_person),
    web.get("/restricted/restaurant/reviews", list_reviews),
]
