"""The portal's review chart: every domain visible, the axis named as the list names reviews."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from sponsorship.models import SCORE_FIELDS
from sponsorship.portal_selectors import score_chart


def _review(label: str, day: datetime.date, score: int):
    return SimpleNamespace(label=label, held_on=day, scores=dict.fromkeys(SCORE_FIELDS, score))


def test_six_domains_with_the_same_score_are_drawn_at_six_positions():
    chart = score_chart(
        [
            _review("Month 3 review", datetime.date(2026, 4, 23), 3),
            _review("Month 6 review", datetime.date(2026, 7, 23), 3),
        ]
    )
    assert len(chart.series) == len(SCORE_FIELDS) == 6
    first_points = {(s.dots[0][0], s.dots[0][1]) for s in chart.series}
    assert len(first_points) == 6  # none hides another
    assert len({s.marker for s in chart.series}) == 6  # and each has its own shape
    assert [label for _, label in chart.x_labels] == ["Month 3 review", "Month 6 review"]
