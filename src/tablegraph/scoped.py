"""A context variable set for the length of a ``with`` block (and the tasks started in it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def setting(var: ContextVar[T], value: T) -> Iterator[T]:
    """``var`` is ``value`` inside the block; what it was before, after it."""
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)
