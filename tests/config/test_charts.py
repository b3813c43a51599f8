"""Server-drawn SVG charts: text alternatives, escaping, empty data."""

from __future__ import annotations

import datetime
from decimal import Decimal
from xml.etree import ElementTree

from core import charts


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # well-formed XML, or this raises


def test_a_bar_chart_has_a_title_a_description_and_every_value():
    svg = charts.bar_chart(
        [charts.Bar("Arrived", 2, href="/admin/?status=arrived"), charts.Bar("Referred", 1)],
        title="Families by status",
        cid="status",
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert "Families by status" in svg
    assert "Arrived: 2; Referred: 1" in svg
    assert 'href="/admin/?status=arrived"' in svg


def test_labels_are_escaped():
    svg = charts.bar_chart([charts.Bar("<script>x</script>", 1)], title="t&", cid="e")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    parse(svg)


def test_the_meter_shows_received_and_pledged_separately():
    svg = charts.meter(
        received=Decimal("61250.00"),
        pledged=Decimal("20000"),
        goal=Decimal("250000"),
        title="Campaign",
        cid="m",
    )
    parse(svg)
    assert "Received: $61,250" in svg
    assert "Pledged, not yet received: $20,000" in svg
    assert "Goal: $250,000" in svg


def test_an_empty_timeline_says_so():
    svg = charts.timeline(
        [], today=datetime.date(2026, 11, 21), title="T", cid="t", today_label="Today"
    )
    assert "No sponsorships to show." in svg
    parse(svg)


def test_a_timeline_marks_reviews_overdue_items_and_today():
    span = charts.Span(
        label="NK-2026-001",
        start=datetime.date(2026, 1, 10),
        end=datetime.date(2027, 1, 9),
        extended_to=datetime.date(2027, 7, 9),
        marks=[
            (datetime.date(2026, 4, 10), "review", "Month 3 review"),
            (datetime.date(2026, 2, 20), "overdue", "Overdue: Permanent housing"),
            (datetime.date(2027, 7, 10), "month13", "Month 13"),
        ],
    )
    svg = charts.timeline(
        [span],
        today=datetime.date(2026, 11, 21),
        title="Sponsorships",
        cid="t",
        today_label="Today",
    )
    root = parse(svg)
    assert "NK-2026-001: 2026-01-10 to 2027-07-09, Month 3 review" in svg
    assert "stroke-dasharray" in svg  # the extension is drawn differently, not only by colour
    titles = [el.text for el in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Overdue: Permanent housing" in titles
