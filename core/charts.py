"""Every chart of the project: one palette, one way to print a value, one accessible pattern.

Charts are drawn on the server as SVG: no chart library, no CDN, no script. Each chart is an
`<svg role="img">` with a `<title>` and `<desc>` (its text alternative), and the caller shows
the same numbers as text or a table. Colours are the Okabe-Ito palette, which stays
distinguishable with the common colour-vision deficiencies; shapes and labels carry the
meaning too, never colour alone. Every piece of text goes through `format_html` (escaped).

Charts drawn elsewhere take their data and style from here: the portal's score chart
(`line_chart` and `MARKERS`, drawn by its template), the public campaign meter
(`meter_shares`, drawn by its template) and the PDF reports' reportlab charts (`value_text`,
`PALETTE`). The stylesheets colour `.series-N` with `SERIES_COLOURS` and the public meter
with `METER_COLOURS`; tests/config/test_charts.py checks that they agree
(docs/architecture.md, "Charts").
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy

from core.dates import shown
from core.money import format_money

# Okabe & Ito (2008), colour-blind-safe.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "grey": "#6E6E6E",
    "ink": "#1A1A1A",
}
# Line series in this order (the portal's score chart): each at least 3:1 against white, and
# each series also has its own marker shape (MARKERS), so colour is never the only cue.
SERIES_COLOURS = ("#0b5394", "#a4161a", "#2b8a3e", "#8e5b00", "#6f42c1", "#343a40")
# The campaign meter, in SVG (`meter`) and on the public page: received, then pledged.
METER_COLOURS = {"received": PALETTE["blue"], "pledged": PALETTE["orange"]}
# A constant attribute, trusted once here rather than at every call site.
FONT = mark_safe("font-family='system-ui, sans-serif'")  # noqa: S308
FONT_SIZE = 13  # every chart label; charts are drawn at natural size, so 13 px on screen


@dataclass
class Bar:
    label: str
    value: float | Decimal | int
    colour: str = PALETTE["blue"]
    href: str = ""
    text: str = ""  # what to print instead of the number (e.g. "fewer than 3")

    @property
    def shown(self) -> str:
        return self.text or _number(self.value)


def _svg(
    width: float, height: float, title: str, desc: str, body: str, cid: str, *, links: bool = False
) -> SafeString:
    """The chart at its natural size in pixels, so text is never drawn smaller than its font
    size (a narrow screen scrolls the chart's box instead; docs/accessibility.md). A chart
    whose bars are links is a `group` of links, not an `img`: an image holds no controls."""
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
        'height="{h}" role="{role}" aria-labelledby="{cid}-t {cid}-d" class="chart" '
        'preserveAspectRatio="xMinYMin meet">'
        '<title id="{cid}-t">{title}</title><desc id="{cid}-d">{desc}</desc>{body}</svg>',
        w=_f(width),
        h=_f(height),
        role="group" if links else "img",
        cid=cid,
        title=title,
        desc=desc,
        body=mark_safe(body),  # noqa: S308 - built from format_html pieces below
    )


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """About how wide `text` is drawn: Hangul and other wide letters take a full em, Latin
    letters and digits a little over half (good enough to keep labels from running together)."""
    return sum(size if ord(ch) >= 0x1100 else size * 0.62 for ch in str(text))


def _link(href: str, inner: SafeString) -> SafeString:
    return format_html('<a href="{}">{}</a>', href, inner) if href else inner


def bar_chart(bars: Sequence[Bar], *, title: str, cid: str, unit: str = "") -> SafeString:
    """Horizontal bars with the value printed at the end of each (readable without colour)."""
    label_w = max(150, int(max((text_width(b.label) for b in bars), default=0)) + 16)
    value_w = max((text_width(f"{b.shown}{'' if b.text else unit}") for b in bars), default=0)
    bar_w, row_h = 300, 28
    height = max(row_h * len(bars) + 10, 40)
    top = max((float(b.value) for b in bars), default=0) or 1
    rows = []
    for i, bar in enumerate(bars):
        y = 5 + i * row_h
        length = 0 if not bar.value else max(2, float(bar.value) / top * bar_w)
        rows.append(
            _link(
                bar.href,
                format_html(
                    "<g><text x='{lx}' y='{ty}' text-anchor='end' font-size='13' {font} "
                    "fill='{ink}'>{label}</text>"
                    "<rect x='{bx}' y='{y}' width='{bw}' height='{bh}' fill='{colour}' rx='2'/>"
                    "<text x='{vx}' y='{ty}' font-size='13' {font} fill='{ink}'>{value}{unit}"
                    "</text></g>",
                    lx=label_w - 8,
                    ty=y + 17,
                    font=FONT,
                    ink=PALETTE["ink"],
                    label=bar.label,
                    bx=label_w,
                    y=y + 3,
                    bw=_f(length),
                    bh=row_h - 8,
                    colour=bar.colour,
                    vx=_f(label_w + length + 6),
                    value=bar.shown,
                    unit="" if bar.text else unit,
                ),
            )
        )
    desc = "; ".join(f"{b.label}: {b.shown}{'' if b.text else unit}" for b in bars) or gettext(
        "No data."
    )
    links = any(b.href for b in bars)
    return _svg(
        label_w + bar_w + value_w + 16, height, title, desc, "".join(rows), cid, links=links
    )


def column_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    cid: str,
    money: bool = False,
    empty_text: str | None = None,
) -> SafeString:
    """Vertical bars over time (e.g. money received per month), each with its value printed
    above it and its label below, so no value depends on colour or on reading an axis."""

    def shown(bar: Bar) -> str:
        return bar.text or (_money(Decimal(bar.value)) if money else _number(bar.value))

    widest = max((max(text_width(shown(b)), text_width(b.label)) for b in bars), default=40)
    col_w, gap, plot_h, top, bottom = max(40, int(widest) + 4), 10, 150, 22, 34
    width = max(len(bars) * (col_w + gap) + gap, 240)
    height = top + plot_h + bottom
    if not bars:
        body = format_html(
            "<text x='10' y='30' font-size='13' {} fill='{}'>{}</text>",
            FONT,
            PALETTE["ink"],
            empty_text or gettext("No data."),
        )
        return _svg(width, 50, title, empty_text or gettext("No data."), str(body), cid)
    top_value = max(float(b.value) for b in bars) or 1
    base_y = top + plot_h
    pieces = [
        format_html(
            "<line x1='0' x2='{}' y1='{}' y2='{}' stroke='{}'/>",
            width,
            base_y,
            base_y,
            PALETTE["grey"],
        )
    ]

    for i, bar in enumerate(bars):
        x = gap + i * (col_w + gap)
        h = 0 if not bar.value else max(2.0, float(bar.value) / top_value * plot_h)
        pieces.append(
            _link(
                bar.href,
                format_html(
                    "<g><rect x='{x}' y='{y}' width='{w}' height='{h}' fill='{c}' rx='2'/>"
                    "<text x='{cx}' y='{vy}' text-anchor='middle' font-size='13' {font} "
                    "fill='{ink}'>{value}</text>"
                    "<text x='{cx}' y='{ly}' text-anchor='middle' font-size='13' {font} "
                    "fill='{ink}'>{label}</text></g>",
                    x=x,
                    y=_f(base_y - h),
                    w=col_w,
                    h=_f(h),
                    c=bar.colour,
                    cx=_f(x + col_w / 2),
                    vy=_f(base_y - h - 5),
                    font=FONT,
                    ink=PALETTE["ink"],
                    value=shown(bar),
                    ly=base_y + 16,
                    label=bar.label,
                ),
            )
        )
    desc = "; ".join(f"{b.label}: {shown(b)}" for b in bars)
    links = any(b.href for b in bars)
    return _svg(width, height, title, desc, "".join(pieces), cid, links=links)


def meter(
    *,
    received: Decimal,
    pledged: Decimal,
    goal: Decimal,
    title: str,
    cid: str,
    labels: tuple[str | Promise, str | Promise, str | Promise] = (
        gettext_lazy("Received"),
        gettext_lazy("Pledged, not yet received"),
        gettext_lazy("Goal"),
    ),
) -> SafeString:
    """Received and pledged-not-received as two segments of one bar against the goal."""
    width, bar_h = 520, 26
    # Shares of the goal stay Decimal; only the pixel widths become floats.
    goal = goal or Decimal(1)
    received_share, pledged_share = meter_shares(received, pledged, goal)
    rec_w = float(received_share) / 100 * width
    pledged_w = float(pledged_share) / 100 * width
    # The second legend entry follows the first, or goes on its own line when they'd touch.
    first_w = 18 + text_width(f"{labels[0]}: {_money(received)}") + 24
    second_w = 18 + text_width(f"{labels[1]}: {_money(pledged)}")
    x2, y2 = (first_w, 46) if first_w + second_w <= width else (0, 68)
    body = format_html(
        "<rect x='0' y='0' width='{w}' height='{h}' fill='#E9ECEF' stroke='{ink}'/>"
        "<rect x='0' y='0' width='{rw}' height='{h}' fill='{blue}'/>"
        "<rect x='{rw}' y='0' width='{pw}' height='{h}' fill='{orange}' "
        "fill-opacity='0.85'/>"
        "<g font-size='13' {font} fill='{ink}'>"
        "<rect x='0' y='36' width='12' height='12' fill='{blue}'/>"
        "<text x='18' y='46'>{l1}: {r}</text>"
        "<rect x='{x2}' y='{y2}' width='12' height='12' fill='{orange}'/>"
        "<text x='{tx2}' y='{ty2}'>{l2}: {p}</text>"
        "<text x='{w}' y='{ty3}' text-anchor='end'>{l3}: {g}</text></g>",
        w=width,
        h=bar_h,
        ink=PALETTE["ink"],
        rw=_f(rec_w),
        pw=_f(pledged_w),
        blue=METER_COLOURS["received"],
        orange=METER_COLOURS["pledged"],
        font=FONT,
        l1=labels[0],
        l2=labels[1],
        l3=labels[2],
        r=_money(received),
        p=_money(pledged),
        g=_money(goal),
        x2=_f(x2),
        y2=y2 - 10,
        tx2=_f(x2 + 18),
        ty2=y2,
        ty3=y2 + 20,
    )
    desc = (
        f"{labels[0]}: {_money(received)}. {labels[1]}: {_money(pledged)}. "
        f"{labels[2]}: {_money(goal)}."
    )
    return _svg(width, y2 + 26, title, desc, str(body), cid)


@dataclass
class Span:
    """One row of a timeline: a bar from start to end, with marks on it."""

    label: str
    start: datetime.date
    end: datetime.date
    extended_to: datetime.date | None = None
    marks: list[tuple[datetime.date, str, str]] = field(default_factory=list)  # day, kind, text
    href: str = ""


MARK_STYLE = {  # kind -> (shape, colour): shape and colour both say what a mark is
    "review": ("diamond", PALETTE["purple"]),
    "overdue": ("triangle", PALETTE["vermillion"]),
    "month13": ("bar", PALETTE["ink"]),
}


def _mark(kind: str, x: float, y: float, text: str) -> SafeString:
    shape, colour = MARK_STYLE.get(kind, ("circle", PALETTE["grey"]))
    if shape == "diamond":
        points = f"{x},{y - 6} {x + 6},{y} {x},{y + 6} {x - 6},{y}"
        inner = format_html("<polygon points='{}' fill='{}'/>", points, colour)
    elif shape == "triangle":
        points = f"{x},{y - 7} {x + 7},{y + 6} {x - 7},{y + 6}"
        inner = format_html("<polygon points='{}' fill='{}'/>", points, colour)
    elif shape == "bar":
        inner = format_html(
            "<rect x='{}' y='{}' width='3' height='18' fill='{}'/>", _f(x - 1.5), _f(y - 9), colour
        )
    else:
        inner = format_html("<circle cx='{}' cy='{}' r='5' fill='{}'/>", _f(x), _f(y), colour)
    return format_html("<g>{}<title>{}</title></g>", inner, text)


TIMELINE_LEGEND = (
    ("support", gettext_lazy("Committed support")),
    ("extension", gettext_lazy("Extension")),
    ("review", gettext_lazy("Review")),
    ("overdue", gettext_lazy("Overdue milestone")),
    ("month13", gettext_lazy("Month 13")),
)


def _legend(y: int, labels: dict[str, str], width: float) -> tuple[SafeString, int]:
    """The legend below the rows, each entry as wide as its words (measured, so Korean
    labels do not run into the next swatch), wrapping onto a new line within `width`.
    Returns the legend and the y of its last line."""
    items, x = [], 0.0
    for key, default in TIMELINE_LEGEND:
        text = str(labels.get(key, default))
        entry_w = 20 + text_width(text) + 18
        if x and x + entry_w > width:
            x, y = 0.0, y + 22
        if key == "support":
            swatch = format_html(
                "<rect x='{}' y='{}' width='14' height='10' fill='{}'/>",
                _f(x),
                y - 9,
                PALETTE["sky"],
            )
        elif key == "extension":
            swatch = format_html(
                "<rect x='{}' y='{}' width='14' height='10' fill='{}' stroke='{}' "
                "stroke-dasharray='3 2'/>",
                _f(x),
                y - 9,
                PALETTE["orange"],
                PALETTE["ink"],
            )
        else:
            swatch = _mark(key, x + 7, y - 4, text)
        items.append(
            format_html(
                "{}<text x='{}' y='{}' font-size='13' {} fill='{}'>{}</text>",
                swatch,
                _f(x + 20),
                y,
                FONT,
                PALETTE["ink"],
                text,
            )
        )
        x += entry_w
    return format_html_join("", "{}", ((i,) for i in items)), y


def _month_starts(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    day, months = first.replace(day=1), []
    while day <= last:
        if day >= first:
            months.append(day)
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return months


def _date_axis(
    first: datetime.date,
    last: datetime.date,
    x: Callable[[datetime.date], float],
    y: int,
    left: float,
    right: float,
) -> SafeString:
    """Month ticks under the rows, labelled as often as the labels fit (every 1, 2, 3, 6 or
    12 months), in the active language's month-and-year format."""
    months = _month_starts(first, last)
    if not months:
        return mark_safe("")  # noqa: S308
    per_month = (right - left) / max(len(months), 1)
    label_w = max(text_width(date_format(m, "YEAR_MONTH_FORMAT")) for m in months[:12]) + 12
    step = next((n for n in (1, 2, 3, 6, 12) if per_month * n >= label_w), 12)
    pieces = [
        format_html(
            "<line x1='{}' x2='{}' y1='{}' y2='{}' stroke='{}'/>",
            _f(left),
            _f(right),
            y,
            y,
            PALETTE["grey"],
        )
    ]
    for month in months:
        labelled = (month.year * 12 + month.month - 1) % step == 0
        pieces.append(
            format_html(
                "<line x1='{x}' x2='{x}' y1='{y1}' y2='{y2}' stroke='{c}'/>",
                x=_f(x(month)),
                y1=y,
                y2=y + (6 if labelled else 3),
                c=PALETTE["grey"],
            )
        )
        if labelled:
            pieces.append(
                format_html(
                    "<text x='{}' y='{}' text-anchor='middle' font-size='13' {} fill='{}'>{}"
                    "</text>",
                    _f(x(month)),
                    y + 20,
                    FONT,
                    PALETTE["ink"],
                    date_format(month, "YEAR_MONTH_FORMAT"),
                )
            )
    return format_html_join("", "{}", ((p,) for p in pieces))


def timeline(
    spans: Sequence[Span],
    *,
    today: datetime.date,
    title: str,
    cid: str,
    today_label: str,
    legend: dict[str, str] | None = None,
) -> SafeString:
    """A row per sponsorship: committed support, extension, marks; a vertical line for today."""
    label_w, plot_w, row_h, top = 130, 820, 30, 26
    if not spans:
        return _svg(label_w + plot_w, 40, title, gettext("No sponsorships to show."), "", cid)
    first = min(s.start for s in spans).replace(day=1)
    last = max([s.extended_to or s.end for s in spans] + [today])
    days = max((last - first).days, 1)

    def x(day: datetime.date) -> float:
        return label_w + (day - first).days / days * plot_w

    rows = []
    for i, span in enumerate(spans):
        y = top + i * row_h
        pieces = [
            format_html(
                "<text x='{}' y='{}' text-anchor='end' font-size='13' {} fill='{}'>{}</text>",
                label_w - 8,
                y + 15,
                FONT,
                PALETTE["ink"],
                span.label,
            ),
            format_html(
                "<rect x='{}' y='{}' width='{}' height='14' fill='{}'/>",
                x(span.start),
                y + 4,
                max(1.0, x(span.end) - x(span.start)),
                PALETTE["sky"],
            ),
        ]
        if span.extended_to and span.extended_to > span.end:
            pieces.append(
                format_html(
                    "<rect x='{}' y='{}' width='{}' height='14' fill='{}' "
                    "stroke='{}' stroke-dasharray='3 2'/>",
                    x(span.end),
                    y + 4,
                    x(span.extended_to) - x(span.end),
                    PALETTE["orange"],
                    PALETTE["ink"],
                )
            )
        pieces += [_mark(kind, x(day), y + 11, text) for day, kind, text in span.marks]
        rows.append(_link(span.href, format_html_join("", "{}", ((p,) for p in pieces))))
    axis_y = top + row_h * len(spans) + 4
    rows.append(_date_axis(first, last, x, axis_y, label_w, label_w + plot_w))
    legend_svg, legend_y = _legend(axis_y + 52, legend or {}, label_w + plot_w)
    rows.append(legend_svg)
    height = legend_y + 12
    today_line = format_html(
        "<line x1='{x}' x2='{x}' y1='16' y2='{y2}' stroke='{c}' stroke-width='2'/>"
        "<text x='{x}' y='13' text-anchor='middle' font-size='13' {font} fill='{c}'>{t}</text>",
        x=x(today),
        y2=top + row_h * len(spans),  # stops above the legend
        c=PALETTE["vermillion"],
        font=FONT,
        t=today_label,
    )
    desc = "; ".join(
        gettext("%(label)s: %(start)s to %(end)s")
        % {"label": s.label, "start": shown(s.start), "end": shown(s.extended_to or s.end)}
        + "".join(f", {text}" for _, _, text in s.marks)
        for s in spans
    )
    links = any(s.href for s in spans)
    body = "".join(rows) + today_line
    return _svg(label_w + plot_w + 30, height, title, desc, body, cid, links=links)


def _f(value: float) -> str:
    """Coordinates as text: format_html escapes its arguments, so format numbers first."""
    return f"{value:.1f}"


def _number(value: float | Decimal | int) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _money(value: Decimal) -> str:
    return format_money(value, places=0)  # whole dollars, in the active language


def value_text(value: float | Decimal | int, *, money: bool = False, places: int = 0) -> str:
    """A chart's printed value: money in the active language (core.money), else a number."""
    return format_money(Decimal(str(value)), places=places) if money else _number(value)


def meter_shares(received: Decimal, pledged: Decimal, goal: Decimal) -> tuple[Decimal, Decimal]:
    """Percent of the goal received, and pledged-not-received capped so both fit in 100%
    (to 0.1, rounded down: a meter never overstates)."""

    def percent(part: Decimal) -> Decimal:
        if goal <= 0:
            return Decimal("0.0")
        return min(Decimal(100), (part * 100 / goal).quantize(Decimal("0.1"), ROUND_DOWN))

    received_share = percent(received)
    return received_share, min(percent(pledged), 100 - received_share)


# A marker shape per series (circle, square, diamond, triangle up, triangle down, cross), as
# unit polygons: the shape tells the series apart as well as the colour does.
MARKERS: list[list[tuple[float, float]]] = [
    [(math.cos(a * math.pi / 4), math.sin(a * math.pi / 4)) for a in range(8)],
    [(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)],
    [(0, -1.1), (1.1, 0), (0, 1.1), (-1.1, 0)],
    [(0, -1.1), (1, 0.8), (-1, 0.8)],
    [(0, 1.1), (1, -0.8), (-1, -0.8)],
    [
        (-1, -0.3),
        (-0.3, -0.3),
        (-0.3, -1),
        (0.3, -1),
        (0.3, -0.3),
        (1, -0.3),
        (1, 0.3),
        (0.3, 0.3),
        (0.3, 1),
        (-0.3, 1),
        (-0.3, 0.3),
        (-1, 0.3),
    ],
]


def marker_points(index: int, x: float, y: float, r: float = 4.5) -> str:
    """The polygon points of series `index`'s marker centred on (x, y)."""
    return " ".join(
        f"{x + dx * r:.1f},{y + dy * r:.1f}" for dx, dy in MARKERS[index % len(MARKERS)]
    )


@dataclass(frozen=True)
class LineSeries:
    key: str
    label: str
    css: str  # `series-N`: coloured by SERIES_COLOURS in the stylesheets
    points: str  # SVG polyline points
    dots: list[tuple[float, float, int | float, str, str]]  # x, y, value, point label, marker
    marker: str = ""  # the series' marker around 0,0, for the legend


@dataclass(frozen=True)
class LineChart:
    """The geometry of a line chart; a template draws it (no inline style or script: CSP)."""

    width: int
    height: int
    left: int
    right: int
    series: list[LineSeries]
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, int]]


def line_chart(
    series: Sequence[tuple[str, str, Sequence[tuple[int, int | float, str]]]],
    *,
    x_labels: Sequence[str],
    y_min: int,
    y_max: int,
    width: int = 600,
    height: int = 220,
    dodge: float = 9,
) -> LineChart:
    """Lay out `series` (key, label, [(x index, value, point label)]) over `x_labels`, with
    whole-number ticks from `y_min` to `y_max`. Series often share a value: each is drawn
    `dodge` px to the side of the position, so no series hides another. A series without
    points is left out (its colour and marker stay those of its place)."""
    left, right, top, bottom = 90, 80, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(x_labels)
    step = plot_w / max(1, count - 1)

    def x(i: int) -> float:
        return round(left + (i * step if count > 1 else plot_w / 2), 1)

    def y(value: float) -> float:
        return round(top + (y_max - value) / max(1, y_max - y_min) * plot_h, 1)

    drawn = []
    for index, (key, label, values) in enumerate(series):
        offset = (index - (len(series) - 1) / 2) * dodge
        dots = [
            (px, py, value, text, marker_points(index, px, py))
            for i, value, text in values
            for px, py in [(round(x(i) + offset, 1), y(value))]
        ]
        if dots:
            drawn.append(
                LineSeries(
                    key=key,
                    label=label,
                    css=f"series-{index % len(SERIES_COLOURS)}",
                    points=" ".join(f"{px},{py}" for px, py, *_ in dots),
                    dots=dots,
                    marker=marker_points(index, 0, 0, 6),
                )
            )
    return LineChart(
        width=width,
        height=height,
        left=left,
        right=width - right,
        series=drawn,
        x_labels=[(x(i), text) for i, text in enumerate(x_labels)],
        y_ticks=[(y(v), v) for v in range(y_min, y_max + 1)],
    )
