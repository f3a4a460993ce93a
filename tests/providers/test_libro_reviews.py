"""Libro reviews: all pages, overall + five sub-ratings, and the neutral rating summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tablegraph.model import Review
from tablegraph.providers.libro.jsonapi import Included
from tablegraph.providers.libro.mapping import to_review
from tablegraph.reviews import RatingSummary, rating_summary
from tablegraph.simulators.libro.state import ReviewRec
from tests.providers.libro_support import BISTRO, libro_env

# Source: seeds/libro-api.txt "The Review Object".
DOC_REVIEW = {
    "id": "1234567890",
    "type": "review",
    "attributes": {
        "rating": 5.0,
        "ambiance-rating": 4.0,
        "food-rating": 5.0,
        "service-rating": 5.0,
        "menu-rating": None,
        "presentation-rating": None,
        "custom-question-1": None,
        "custom-question-2": None,
        "description": "Perfect!",
        "reply": "Glad you enjoyed your meal!",
        "source": "libro",
        "created-at": "2024-07-08T10:40:31.660-04:00",
        "updated-at": "2024-07-12T11:50:21.615-04:00",
    },
}


def test_review_object_from_the_reference() -> None:
    from tablegraph.model import Restaurant

    restaurant = Restaurant("libro-x", BISTRO, "Bistro", "America/Montreal")
    review = to_review("libro-x", DOC_REVIEW, restaurant)  # type: ignore[arg-type]
    assert review.rating == 5.0 and review.text == "Perfect!"
    assert review.reply == "Glad you enjoyed your meal!" and review.source == "libro"
    assert review.sub_ratings == (("ambiance", 4.0), ("food", 5.0), ("service", 5.0))
    assert review.created_at is not None
    assert review.created_at.isoformat() == "2024-07-08T10:40:31.660000-04:00"
    assert Included().get("person", None) is None


def test_rating_summary() -> None:
    def r(rating: float, **subs: float) -> Review:
        return Review("u", str(rating), "R", rating, sub_ratings=tuple(subs.items()))

    summary = rating_summary([r(5.0, food=5.0, service=4.0), r(4.0, food=3.0), r(3.0)])
    assert summary == RatingSummary(
        count=3, average=4.0, sub_ratings=(("food", 4.0), ("service", 4.0))
    )
    assert rating_summary([]) == RatingSummary(count=0, average=None)


async def test_all_pages_of_reviews(start_server) -> None:
    async with libro_env(start_server, page_size=3) as env:
        base = datetime(2026, 6, 1, tzinfo=UTC)
        env.state.reviews.clear()
        for i in range(7):
            env.state.reviews[100 + i] = ReviewRec(
                100 + i,
                "4521",
                None,
                {"rating": float(1 + i % 5), "food-rating": 4.0, "menu-rating": None},
                f"text {i}",
                None,
                "google",
                base + timedelta(days=i),
                base,
            )
        reviews = await env.provider.list_reviews(BISTRO)
        assert [x.native_id for x in reviews] == [str(106 - i) for i in range(7)]
        assert env.count("GET /restricted/restaurant/reviews") == 3
        summary = rating_summary(reviews)
        assert summary.count == 7 and summary.average == round(sum([1, 2, 3, 4, 5, 1, 2]) / 7, 2)
        assert summary.sub_ratings == (("food", 4.0),)
