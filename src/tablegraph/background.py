"""Background upstream calls: work no client is waiting for (polling for booking events).

An adapter with a request budget (resOS' rate governor) asks ``active()`` and grants such
calls budget after everything a client is waiting for. Set in a task, it holds for the tasks
that task starts (a context variable).
"""

from __future__ import annotations

import contextvars
from contextlib import AbstractContextManager

from tablegraph import scoped

_background: contextvars.ContextVar[bool] = contextvars.ContextVar("background", default=False)


def calls() -> AbstractContextManager[bool]:
    return scoped.setting(_background, True)


def active() -> bool:
    return _background.get()
