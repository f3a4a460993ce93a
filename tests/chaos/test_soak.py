"""A short soak (tests/soak.py) in the suite: faults on and off, then reconciliation.

Bounded at a few seconds; the README's figures come from a longer run of the same script.
"""

from __future__ import annotations

from tests import soak


async def test_a_short_soak_loses_and_duplicates_nothing() -> None:
    figures = await soak.run(seconds=6, workers=6, seed=3, period=1.0)
    assert soak.problems(figures) == {}, figures
    assert figures["reported"] > 20, "the soak really booked"
