"""Hypothesis strategies for GraphQL input values, chosen by type and argument name.

Each strategy mixes values the API should accept (so the fuzzer reaches the adapters and the
simulators) with hostile ones: injection fragments, control characters, NUL, bidi overrides,
lone surrogates, astral characters, 100k-character strings, overflowing and non-integer numbers,
impossible, out-of-range and DST-gap dates, foreign, missing and garbage ids, wrong JSON types,
missing required fields and unknown extra fields.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)
from hypothesis import strategies as st

from tablegraph import ids
from tablegraph.graphql.types import encode_cursor

from .harness import Known, today

S = st.SearchStrategy[Any]

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Europe/Oslo",
    "Europe/Copenhagen",
    "America/Toronto",
    "UTC",
)

HOSTILE = (
    "",
    " ",
    "'",
    '"',
    "\\",
    "' OR '1'='1",
    "'; DROP TABLE bookings;--",
    '{"$gt": ""}',
    "{}",
    "[]",
    "null",
    "undefined",
    "<script>alert(1)</script>",
    "<!--",
    "]]>",
    "%s%s%s%n",
    "{0}{1}",
    "%(x)s",
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "\x00",
    "a\x00b",
    "\x07\x1b[31m",
    "\r\n",
    "\n",
    "\t",
    "\u202e",
    "abc\u202edcba",
    "\u200b",
    "\ufeff",
    "\U0001f600",
    "\U00020000",
    "\ud800",
    "x\udfffy",
    "e\u0301",
    "\ufdfa",
    "\uffff",
    "../../../etc/passwd",
    "..",
    "/",
    "?",
    "#",
    "&x=1",
    "=",
    "%00",
    "%2F..%2F",
    "a/b",
    "a?b=c#d",
    " padded ",
    "0",
    "-1",
    "NaN",
    "true",
    "1e999",
    "Ω≈ç√∫",
    "ß",
    "İ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "٣",
    "\u0000",
    "Robert'); DELETE FROM guests;--",
    "customQuery=status:*",
    "*",
    "%",
    "_",
)
PLAUSIBLE = {
    "firstName": ("Mara", "Jürgen", "O'Brien", "李"),
    "lastName": ("Schneider", "Ñúñez", "van der Berg"),
    "email": ("mara@example.com", "a@b.c", "MARA@EXAMPLE.COM ", "@", "x@"),
    "phone": ("+4915112345678", "+1 212 555 0100", "0", "++"),
    "locale": ("de-DE", "en", "fr-CA", "xx-XX"),
    "idempotencyKey": ("fuzz-key-1", "fuzz-key-2", "k" * 255, "k" * 256),
    "search": ("a", "Berlin", "Mara", "müller"),
    "notes": ("Window seat, please", "Allergic to nuts"),
    "reason": ("Change of plans",),
    "areaId": ("terrace", "1", "area_1"),
    "tags": ("vip", "birthday"),
    "tables": ("t-01", "1", "T1"),
}


def pick(*options: S) -> S:
    """One of ``options``, weighted by repetition (``st.one_of`` merges repeated branches);
    shrinks towards the first."""
    return st.sampled_from(options).flatmap(lambda chosen: chosen)


_any_text = st.text(st.characters(exclude_categories=()), max_size=40)
_hostile_text = pick(
    st.sampled_from(HOSTILE),
    _any_text,
    st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=5).map("".join),
    st.builds(
        lambda s, n: (s or "a") * (n // max(1, len(s or "a"))),
        st.sampled_from(HOSTILE),
        st.sampled_from([256, 1001, 100_000]),
    ),
)
_wrong_json = st.sampled_from([0, -1, 1.5, True, [], {}, ["a"], {"a": 1}])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _encode_id(type_: str, upstream: str, native: str) -> str:
    """``ids.encode`` that also takes lone surrogates (the gateway must refuse them cleanly)."""
    return _b64(f"{type_}:{upstream}:{native}".encode("utf-8", "surrogatepass"))


def string(name: str) -> S:
    plausible = PLAUSIBLE.get(name)
    if name == "after":
        cursors = pick(
            st.integers(-3, 200).map(encode_cursor),
            st.sampled_from(
                [
                    "offset:",
                    "offset:-1",
                    "offset:1e3",
                    "x:1",
                    "offset:" + "9" * 40,
                    "offset:" + "9" * 5000,
                ]
            ).map(lambda s: _b64(s.encode())),
        )
        return pick(cursors, cursors, _hostile_text)
    if plausible:
        return pick(st.sampled_from(plausible), st.sampled_from(plausible), _hostile_text)
    return _hostile_text


_INT32 = (-(2**31), 2**31 - 1)


def integer(name: str, typed: bool = False) -> S:
    usual = {
        "partySize": st.integers(1, 8),
        "first": st.integers(0, 120),
        "durationMinutes": st.integers(10, 800),
    }.get(name, st.integers(-5, 200))
    if typed:
        return pick(usual, usual, usual, st.integers(*_INT32), st.sampled_from([0, -1, *_INT32]))
    edges = st.sampled_from([0, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 10**20, 10**300])
    odd = st.sampled_from(
        [1.5, 2.0, float("nan"), float("inf"), -float("inf"), 1e308, "2", True, [2], {}]
    )
    return pick(usual, usual, st.integers(), edges, odd)


def _fmt(d: date) -> str:
    return d.isoformat()


def _dst_gaps() -> list[str]:
    """Local times that do not exist (spring forward) or exist twice (fall back) next year."""
    year = today().year + 1
    out = []
    for tz, gap_hour in (("Europe/Berlin", 2), ("America/New_York", 2)):
        zone = ZoneInfo(tz)
        for month in (3, 10, 11):
            for day in range(1, 32):
                try:
                    moment = datetime(year, month, day, gap_hour, 30)
                except ValueError:
                    break
                before = (moment - timedelta(hours=2)).replace(tzinfo=zone).utcoffset()
                after = (moment + timedelta(hours=2)).replace(tzinfo=zone).utcoffset()
                if before != after:
                    naive = moment.isoformat()
                    for offset in {before, after}:
                        assert offset is not None
                        hours = int(offset.total_seconds() // 3600)
                        out.append(f"{naive}{hours:+03d}:00")
                    out.append(naive)
    return out


def _valid_day() -> S:
    base = today()
    return st.integers(1, 90).map(lambda n: base + timedelta(days=n))


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _typed_or_not(values: list[str], parse: Any, typed: bool) -> S:
    """The odd values; when ``typed``, only those the GraphQL scalar accepts."""
    return st.sampled_from([v for v in values if not typed or _parses(parse, v)])


def day(typed: bool = False) -> S:
    base = today()
    odd = _typed_or_not(
        [
            "1900-01-01",
            "0001-01-01",
            "9999-12-31",
            "2026-02-30",
            "2026-13-01",
            "2026-1-1",
            "20260101",
            "+12026-01-01",
            "-0001-01-01",
            "",
            "today",
            "2026-W01-1",
            "2026-001",
            "２０２６-１２-０１",
            "2026-12-01T00:00:00",
            "2026-12-01Z",
            "\x00",
            _fmt(base - timedelta(days=401)),
            _fmt(base - timedelta(days=1)),
            _fmt(base + timedelta(days=700)),
            _fmt(base + timedelta(days=801)),
        ],
        date.fromisoformat,
        typed,
    )
    valid = _valid_day().map(_fmt)
    if typed:
        return pick(valid, valid, valid, odd)
    return pick(valid, valid, odd, _hostile_text, _wrong_json)


def _valid_instant() -> S:
    return st.builds(
        lambda d, h, m, tz: datetime.combine(d, time(h, m), ZoneInfo(tz)).isoformat(),
        _valid_day(),
        st.integers(11, 21),
        st.sampled_from([0, 15, 30]),
        st.sampled_from(ZONES),
    )


def instant(typed: bool = False) -> S:
    base = today()
    y = base.year
    odd = _typed_or_not(
        [
            f"{y + 1}-06-01T12:00:00",
            f"{y + 1}-06-01T12:00:00Z",
            f"{y + 1}-06-01 12:00:00+02:00",
            f"{y + 1}-06-01T25:00:00Z",
            f"{y + 1}-06-01T12:60:00Z",
            f"{y + 1}-06-01T12:00:60Z",
            f"{y + 1}-06-01T12:00:00+24:00",
            f"{y + 1}-06-01T12:00:00+14:00",
            f"{y + 1}-06-01T12:00:00-12:59",
            f"{y + 1}-06-01T12:00:00.123456789Z",
            f"{y + 1}-06-01T12:00:00.000001+00:00",
            f"{y + 1}-02-29T12:00:00Z",
            "9999-12-31T23:59:59-12:00",
            "9999-12-31T23:59:59.999999-23:59",
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "1900-01-01T00:00:00+00:00",
            f"{y - 1}-01-01T12:00:00Z",
            "",
            "now",
            "12:00",
            f"{y + 1}-06-01",
            f"{y + 1}-06-01T12:00:00+0200",
            f"{y + 1}-06-01T12:00:00+02",
            f"{y + 1}-06-01T12:00:00 +02:00",
            f"{y + 1}-06-01T12:00:00+02:00[Europe/Berlin]",
            datetime.combine(base + timedelta(days=700), time(19), ZoneInfo("UTC")).isoformat(),
            datetime.combine(base + timedelta(days=801), time(19), ZoneInfo("UTC")).isoformat(),
        ],
        isoparse,
        typed,
    )
    valid = _valid_instant()
    if typed:
        return pick(valid, valid, valid, valid, odd, st.sampled_from(_dst_gaps()))
    return pick(valid, valid, valid, odd, st.sampled_from(_dst_gaps()), _hostile_text, _wrong_json)


def clock_time(typed: bool = False) -> S:
    odd = _typed_or_not(
        [
            "24:00",
            "25:00",
            "12:60",
            "12:00:60",
            "12:00:00+02:00",
            "12:00Z",
            "noon",
            "",
            "T12:00",
            "12",
            "1200",
            "-01:00",
            "12:00:00.1234567",
            "１２:００",
            "23:59:59.999999",
        ],
        time.fromisoformat,
        typed,
    )
    valid = st.builds(
        lambda h, m: time(h, m).isoformat(timespec="minutes"),
        st.integers(0, 23),
        st.sampled_from([0, 15, 30, 59]),
    )
    if typed:
        return pick(valid, valid, odd)
    return pick(valid, valid, odd, _hostile_text, _wrong_json)


def boolean(typed: bool = False) -> S:
    if typed:
        return st.booleans()
    return pick(st.booleans(), st.booleans(), st.sampled_from(["true", 1, 0, "no", []]))


def enum(t: GraphQLEnumType, typed: bool = False) -> S:
    names = sorted(t.values)
    if typed:
        return st.sampled_from(names)
    odd = st.sampled_from([n.lower() for n in names] + ["", "INVALID", 1, "CONFIRMED "])
    return pick(st.sampled_from(names), st.sampled_from(names), odd, _hostile_text)


#: Native ids that would steer a naive adapter to another upstream URL, or break it.
PATHISH = (
    "../x",
    "x/../../restaurants",
    "res_1?expand=all",
    "res_1#frag",
    "res_1/",
    "/",
    "%2e%2e%2f",
    "res_1%00",
    "a\x00b",
    "\n",
    "a b",
    "\\",
    "..",
    ".",
    "rst_1/loc_1/..",
    "rst_1/../rst_2/loc_3",
    "1;2",
    "1,2",
    "A" * 5000,
    "\ud800",
    "\x7f",
)


def identifier(pool: list[str], known: Known, typed: bool = False) -> S:
    """Existing objects, missing ones, forged ones (a real type and upstream around a hostile
    native id, so the adapter sees it), foreign types, garbage."""
    upstreams = known.upstreams or ["nowhere"]
    types = sorted(ids.TYPES)
    expected = sorted({ids.decode(i).type for i in pool}) or types
    natives = pick(
        st.sampled_from(known.natives or ["x"]),
        _hostile_text,
        st.sampled_from(PATHISH),
        st.sampled_from(PATHISH),
        st.sampled_from(["missing-123", "0", "-1", "1 OR 1=1", "99999999999999999999"]),
    )
    forged = st.builds(_encode_id, st.sampled_from(expected), st.sampled_from(upstreams), natives)
    missing = st.builds(
        _encode_id,
        st.sampled_from(types),
        pick(st.sampled_from(upstreams), st.sampled_from(["nowhere", ""])),
        natives,
    )
    garbage = pick(
        st.binary(max_size=80).map(_b64),
        st.sampled_from(
            [
                "",
                "=",
                "====",
                "not-a-global-id",
                "%%%",
                "A" * 513,
                "A" * 100_000,
                _b64(b"Restaurant"),
                _b64(b"Restaurant::"),
                _b64(b"Booking:x:"),
                _b64(b"\xff\xfe"),
                _b64("Booking:x:\ud800".encode("utf-8", "surrogatepass")),
            ]
        ),
        _hostile_text,
        *([] if typed else [_wrong_json]),
    )
    existing = st.sampled_from(pool or known.all() or ["x"])
    return pick(
        existing, existing, existing, forged, forged, st.sampled_from(known.all()), missing, garbage
    )


def value(t: GraphQLInputType, name: str, known: Known, pool: list[str], typed: bool) -> S:
    """A JSON value for a variable or input field of type ``t`` named ``name``. ``typed``: one
    the GraphQL type accepts (hostile in content only), so execution reaches the resolvers."""
    if isinstance(t, GraphQLNonNull):
        inner = _nullable(t.of_type, name, known, pool, typed)
        return inner if typed else pick(inner, inner, inner, inner, inner, inner, st.none())
    nullable = _nullable(t, name, known, pool, typed)
    return pick(nullable, nullable, nullable, st.none())


def _nullable(t: GraphQLInputType, name: str, known: Known, pool: list[str], typed: bool) -> S:
    if isinstance(t, GraphQLList):
        item = value(t.of_type, name, known, pool, typed)
        huge = st.builds(lambda v, n: [v] * n, item, st.sampled_from([21, 101, 1000, 10_000]))
        lists = pick(st.lists(item, max_size=4), st.lists(item, max_size=4), st.just([]), huge)
        return lists if typed else pick(lists, item)
    if isinstance(t, GraphQLEnumType):
        return enum(t, typed)
    if isinstance(t, GraphQLInputObjectType):
        return input_object(t, known, typed)
    assert isinstance(t, GraphQLScalarType), t
    scalar = {
        "ID": lambda: identifier(pool, known, typed),
        "String": lambda: string(name),
        "Int": lambda: integer(name, typed),
        "Float": lambda: integer(name, typed),
        "Boolean": lambda: boolean(typed),
        "Date": lambda: day(typed),
        "DateTime": lambda: instant(typed),
        "Time": lambda: clock_time(typed),
    }.get(t.name)
    if scalar is None:
        return pick(_hostile_text, _wrong_json)
    return scalar()


def pool_for(name: str, known: Known, context: str = "") -> list[str]:
    """Which existing ids an ID argument named ``name`` (in field ``context``) should use."""
    key = (name + " " + context).lower()
    if "restaurant" in key:
        return known.restaurants
    if "booking" in key:
        return known.bookings
    if "guest" in key:
        return known.guests
    return known.all()


def input_object(t: GraphQLInputObjectType, known: Known, typed: bool) -> S:
    required: dict[str, S] = {}
    optional: dict[str, S] = {}
    for fname, fld in t.fields.items():
        strategy = value(fld.type, fname, known, pool_for(fname, known), typed)
        if isinstance(fld.type, GraphQLNonNull) and fld.default_value is Undefined:
            required[fname] = strategy
        else:
            optional[fname] = strategy
    complete = st.fixed_dictionaries(required, optional=optional)
    if typed:
        return complete
    missing = complete.flatmap(
        lambda d: st.sampled_from(sorted(d) or [""]).map(
            lambda k: {n: v for n, v in d.items() if n != k}
        )
    )
    extra = complete.map(lambda d: {**d, "bogusField": "x", "__typename": "X"})
    return pick(complete, complete, complete, complete, missing, extra, _wrong_json, _hostile_text)


def variables(arguments: dict[str, Any], known: Known, context: str) -> S:
    """The ``variables`` object of an operation. Three in four are well-typed (hostile in
    content: strings, ids, out-of-range dates and numbers), so they reach the resolvers and
    the adapters; the rest may be wrong in type or shape anywhere."""

    def build(typed: bool) -> S:
        required: dict[str, S] = {}
        optional: dict[str, S] = {}
        for name, arg in arguments.items():
            strategy = value(arg.type, name, known, pool_for(name, known, context), typed)
            (required if isinstance(arg.type, GraphQLNonNull) else optional)[name] = strategy
        if not typed:
            optional["unusedVariable"] = pick(_hostile_text, _wrong_json)
        return st.fixed_dictionaries(required, optional=optional)

    well_typed = build(True)
    return pick(well_typed, well_typed, well_typed, build(False))
