"""Server-drawn SVG charts: text alternatives, escaping, empty data."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

from django.utils import translation

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
    # Its bars are links, so it is a group of links (an img may not hold controls: axe's
    # nested-interactive); without links it is an image.
    assert root.get("role") == "group"
    assert parse(charts.bar_chart([charts.Bar("A", 1)], title="t", cid="c")).get("role") == "img"
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
    assert "NK-2026-001: Jan. 10, 2026 to July 9, 2027, Month 3 review" in svg
    assert "stroke-dasharray" in svg  # the extension is drawn differently, not only by colour
    titles = [el.text for el in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Overdue: Permanent housing" in titles


SVG = "{http://www.w3.org/2000/svg}"


def _texts(root):
    return list(root.iter(f"{SVG}text"))


def test_every_label_is_at_least_13_px_and_charts_are_drawn_at_natural_size():
    span = charts.Span("NK-1", datetime.date(2026, 1, 10), datetime.date(2027, 1, 9))
    svgs = [
        charts.bar_chart([charts.Bar("Arrived in Canada", 2)], title="t", cid="a"),
        charts.column_chart(
            [charts.Bar("Nov 26", Decimal("12750"))], title="t", cid="b", money=True
        ),
        charts.meter(received=Decimal(1), pledged=Decimal(2), goal=Decimal(3), title="t", cid="c"),
        charts.timeline(
            [span], today=datetime.date(2026, 6, 1), title="t", cid="d", today_label="T"
        ),
    ]
    for svg in svgs:
        root = parse(svg)
        # width in pixels equals the viewBox width: the browser never scales the text down
        assert root.get("width") == root.get("viewBox").split()[2]
        for text in _texts(root):
            size = text.get("font-size")
            if size is not None:
                assert float(size) >= 13, ElementTree.tostring(text)


def test_the_timeline_has_a_date_axis_and_a_legend_whose_entries_do_not_touch():
    from django.utils import translation

    span = charts.Span("NK-1", datetime.date(2026, 1, 10), datetime.date(2027, 1, 9))
    with translation.override("ko"):
        svg = charts.timeline(
            [span],
            today=datetime.date(2026, 6, 1),
            title="t",
            cid="d",
            today_label="오늘",
            legend={"support": "12개월 지원", "extension": "연장"},
        )
    root = parse(svg)
    texts = [(float(t.get("x")), float(t.get("y")), t.text) for t in _texts(root)]
    assert any(text == "2026년 7월" for _, _, text in texts), texts  # the axis, localised
    support = next(t for t in texts if t[2] == "12개월 지원")
    extension = next(t for t in texts if t[2] == "연장")
    # Same line: the next entry starts after the Korean label's width (13 px a letter).
    if support[1] == extension[1]:
        assert extension[0] - support[0] >= charts.text_width("12개월 지원") + 14


def test_the_stylesheets_draw_with_the_charts_colours():
    """One style: the portal's line series and the public meter use core.charts' colours."""
    static = Path(__file__).resolve().parents[2] / "static"
    portal = (static / "sponsorship" / "portal.css").read_text()
    for index, colour in enumerate(charts.SERIES_COLOURS):
        assert re.search(rf"\.series-{index} polyline {{ stroke: {colour};", portal, re.I)
    for sheet in ("give.css", "widget.css"):
        css = (static / "fundraising" / sheet).read_text()
        for part, colour in charts.METER_COLOURS.items():
            assert f".hv-meter-{part} {{ fill: {colour}; }}" in css
            assert f".hv-key-{part} {{ background: {colour}; }}" in css


def test_meter_shares_never_overstate_and_fit_in_the_bar():
    assert charts.meter_shares(Decimal("1"), Decimal("0"), Decimal("3")) == (
        Decimal("33.3"),
        Decimal("0.0"),
    )
    assert charts.meter_shares(Decimal("90"), Decimal("50"), Decimal("100")) == (
        Decimal("90.0"),
        Decimal("10.0"),
    )
    assert charts.meter_shares(Decimal("5"), Decimal("5"), Decimal("0")) == (
        Decimal("0.0"),
        Decimal("0.0"),
    )


def test_chart_values_are_money_in_the_active_language():
    with translation.override("fr"):
        assert charts.value_text(Decimal("1641.67"), money=True, places=2) == "1\u00a0641,67\u00a0$"
    with translation.override("en"):
        assert charts.value_text(1641.67, money=True, places=2) == "$1,641.67"
        assert charts.value_text(1641, money=False) == "1,641"


def test_a_line_chart_gives_each_series_its_colour_class_and_marker():
    chart = charts.line_chart(
        [("a", "A", [(0, 3, "r1"), (1, 4, "r2")]), ("b", "B", []), ("c", "C", [(1, 1, "r2")])],
        x_labels=["r1", "r2"],
        y_min=1,
        y_max=5,
    )
    assert [s.key for s in chart.series] == ["a", "c"]  # no points, not drawn
    assert [s.css for s in chart.series] == ["series-0", "series-2"]  # colour kept by place
    assert chart.series[0].marker != chart.series[1].marker
    assert [v for _, v in chart.y_ticks] == [1, 2, 3, 4, 5]
    top_y = {v: y for y, v in chart.y_ticks}
    assert chart.series[0].dots[1][1] == top_y[4]
