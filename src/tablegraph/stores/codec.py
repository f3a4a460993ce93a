"""Model values as JSON for the store, and back: what a replay after a restart returns.

``dump`` turns a model dataclass (``Booking``, ``Guest``, …) into JSON-ready data; ``load``
rebuilds it from the dataclass's type hints. Instants keep their offset and, when they have
one, their IANA zone (``2026-12-01T19:00:00+01:00[Europe/Oslo]``, as RFC 9557 writes it),
so a replayed booking prints exactly as the first answer did. Errors a write may end in
(``BookingRejected`` and its kin) are kept by class name and fields.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

from tablegraph import errors

T = TypeVar("T")


def dump(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return f"{text}[{value.tzinfo.key}]" if isinstance(value.tzinfo, ZoneInfo) else text
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [dump(v) for v in value]
    return value


def load(cls: type[T], data: Any) -> T:
    """``data`` (from ``dump``) as an instance of the dataclass ``cls``."""
    return typing.cast(T, _load(cls, data))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _load(hint: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _load(options[0], data)
        for option in options:  # unions of plain values: the first that fits
            try:
                return _load(option, data)
            except (TypeError, ValueError):
                continue
        raise ValueError(f"no member of {hint} fits {data!r}")
    if origin in (tuple, list, frozenset, set):
        args = get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return tuple(_load(a, v) for a, v in zip(args, data, strict=True))
        item = args[0] if args else Any
        return origin(_load(item, v) for v in data)
    if origin is dict or hint is dict:
        args = get_args(hint) or (str, Any)
        return {k: _load(args[1], v) for k, v in data.items()}
    if hint is Any:
        return data
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _hints(hint)
        names = {f.name for f in dataclasses.fields(hint)}
        return hint(**{k: _load(hints[k], v) for k, v in data.items() if k in names})
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    if hint is datetime:
        text, _, zone = str(data).partition("[")
        moment = datetime.fromisoformat(text)
        return moment.astimezone(ZoneInfo(zone.rstrip("]"))) if zone else moment
    if hint is date:
        return date.fromisoformat(data)
    if hint is time:
        return time.fromisoformat(data)
    if hint is Decimal:
        return Decimal(data)
    if hint in (str, int, float, bool):
        if hint is float and isinstance(data, int):
            return float(data)
        if not isinstance(data, hint):
            raise TypeError(f"{data!r} is not a {hint.__name__}")
        return data
    return data


def dump_error(exc: errors.GatewayError) -> dict[str, Any]:
    return {
        "type": type(exc).__name__,
        "message": exc.message,
        "code": exc.code,
        "upstream": exc.upstream,
        "field": list(exc.field) if exc.field is not None else None,
        "details": exc.details,
    }


def load_error(data: dict[str, Any]) -> errors.GatewayError:
    cls = getattr(errors, str(data["type"]), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.GatewayError)):
        cls = errors.GatewayError
    field = data.get("field")
    return cls(
        data["message"],
        upstream=data.get("upstream"),
        code=data.get("code"),
        field=tuple(field) if field is not None else None,
        details=data.get("details") or None,
    )
