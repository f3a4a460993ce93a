"""Provider-neutral review helpers: a rating summary for any list of ``Review``s."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tablegraph.model import Review


@dataclass(frozen=True)
class RatingSummary:
    count: int
    average: float | None  # mean overall rating, None without reviews
    #: Mean of each sub-rating over the reviews that give it, by name, sorted by name.
    sub_ratings: tuple[tuple[str, float], ...] = ()


def rating_summary(reviews: Iterable[Review]) -> RatingSummary:
    total = 0.0
    count = 0
    sums: dict[str, tuple[float, int]] = {}
    for review in reviews:
        total += review.rating
        count += 1
        for name, value in review.sub_ratings:
            s, n = sums.get(name, (0.0, 0))
            sums[name] = (s + value, n + 1)
    return RatingSummary(
        count=count,
        average=round(total / count, 2) if count else None,
        sub_ratings=tuple((name, round(s / n, 2)) for name, (s, n) in sorted(sums.items())),
    )
