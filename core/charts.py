"""Charts drawn on the server as SVG: no chart library, no CDN, no script.

Each chart is an `<svg role="img">` with a `<title>` and `<desc>` (its text alternative), and
the caller shows the same numbers as a table. Colours are the Okabe-Ito palette, which stays
distinguishable with the common colour-vision deficiencies; shapes and labels carry the
meaning too, never colour alone. Every piece of text goes through `format_html` (escaped).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy

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
# A constant attribute, trusted once here rather than at every call site.
FONT = mark_safe("font-family='system-ui, sans-serif'")  # noqa: S308


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


def _svg(width: int, height: int, title: str, desc: str, body: str, cid: str) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        'role="img" aria-labelledby="{cid}-t {cid}-d" class="chart" '
        'preserveAspectRatio="xMinYMin meet">'
        '<title id="{cid}-t">{title}</title><desc id="{cid}-d">{desc}</desc>{body}</svg>',
        w=width,
        h=height,
        cid=cid,
        title=title,
        desc=desc,
        body=mark_safe(body),  # noqa: S308 - built from format_html pieces below
    )


def _link(href: str, inner: SafeString) -> SafeString:
    return format_html('<a href="{}">{}</a>', href, inner) if href else inner


def bar_chart(bars: Sequence[Bar], *, title: str, cid: str, unit: str = "") -> SafeString:
    """Horizontal bars with the value printed at the end of each (readable without colour)."""
    # Wide enough for the longest label (about 7 px a character at 13 px), at least 190.
    label_w = max(190, int(max((len(b.label) for b in bars), default=0) * 7.2) + 16)
    bar_w, row_h = 330, 28
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
    return _svg(label_w + bar_w + 90, height, title, desc, "".join(rows), cid)


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
    col_w, gap, plot_h, top, bottom = 46, 12, 150, 22, 34
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

    def shown(bar: Bar) -> str:
        return bar.text or (_money(Decimal(bar.value)) if money else _number(bar.value))

    for i, bar in enumerate(bars):
        x = gap + i * (col_w + gap)
        h = 0 if not bar.value else max(2.0, float(bar.value) / top_value * plot_h)
        pieces.append(
            _link(
                bar.href,
                format_html(
                    "<g><rect x='{x}' y='{y}' width='{w}' height='{h}' fill='{c}' rx='2'/>"
                    "<text x='{cx}' y='{vy}' text-anchor='middle' font-size='11' {font} "
                    "fill='{ink}'>{value}</text>"
                    "<text x='{cx}' y='{ly}' text-anchor='middle' font-size='11' {font} "
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
    return _svg(width, height, title, desc, "".join(pieces), cid)


def meter(
    *,
    received: Decimal,
    pledged: Decimal,
    goal: Decimal,
    title: str,
    cid: str,
    labels: tuple[str, str, str] = (
        gettext_lazy("Received"),
        gettext_lazy("Pledged, not yet received"),
        gettext_lazy("Goal"),
    ),
) -> SafeString:
    """Received and pledged-not-received as two segments of one bar against the goal."""
    width, bar_h = 520, 26
    # Shares of the goal stay Decimal; only the pixel widths become floats.
    goal = goal or Decimal(1)
    rec_w = min(width, float(received / goal * width))
    pledged_w = min(width - rec_w, float(pledged / goal * width))
    body = format_html(
        "<rect x='0' y='0' width='{w}' height='{h}' fill='#E9ECEF' stroke='{ink}'/>"
        "<rect x='0' y='0' width='{rw}' height='{h}' fill='{blue}'/>"
        "<rect x='{rw}' y='0' width='{pw}' height='{h}' fill='{orange}' "
        "fill-opacity='0.85'/>"
        "<g font-size='12' {font} fill='{ink}'>"
        "<rect x='0' y='36' width='12' height='12' fill='{blue}'/>"
        "<text x='18' y='46'>{l1}: {r}</text>"
        "<rect x='190' y='36' width='12' height='12' fill='{orange}'/>"
        "<text x='208' y='46'>{l2}: {p}</text>"
        "<text x='{w}' y='64' text-anchor='end'>{l3}: {g}</text></g>",
        w=width,
        h=bar_h,
        ink=PALETTE["ink"],
        rw=_f(rec_w),
        pw=_f(pledged_w),
        blue=PALETTE["blue"],
        orange=PALETTE["orange"],
        font=FONT,
        l1=labels[0],
        l2=labels[1],
        l3=labels[2],
        r=_money(received),
        p=_money(pledged),
        g=_money(goal),
    )
    desc = (
        f"{labels[0]}: {_money(received)}. {labels[1]}: {_money(pledged)}. "
        f"{labels[2]}: {_money(goal)}."
    )
    return _svg(width, 70, title, desc, str(body), cid)


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


def _legend(y: int, labels: dict[str, str]) -> SafeString:
    items, x = [], 0
    for key, default in TIMELINE_LEGEND:
        text = labels.get(key, default)
        if key == "support":
            swatch = format_html(
                "<rect x='{}' y='{}' width='14' height='10' fill='{}'/>", x, y - 9, PALETTE["sky"]
            )
        elif key == "extension":
            swatch = format_html(
                "<rect x='{}' y='{}' width='14' height='10' fill='{}' stroke='{}' "
                "stroke-dasharray='3 2'/>",
                x,
                y - 9,
                PALETTE["orange"],
                PALETTE["ink"],
            )
        else:
            swatch = _mark(key, x + 7, y - 4, text)
        items.append(
            format_html(
                "{}<text x='{}' y='{}' font-size='12' {} fill='{}'>{}</text>",
                swatch,
                x + 20,
                y,
                FONT,
                PALETTE["ink"],
                text,
            )
        )
        x += 30 + 7 * len(text)
    return format_html_join("", "{}", ((i,) for i in items))


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
    label_w, plot_w, row_h, top = 150, 560, 30, 24
    if not spans:
        return _svg(label_w + plot_w, 40, title, gettext("No sponsorships to show."), "", cid)
    first = min(s.start for s in spans)
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
    height = top + row_h * len(spans) + 34
    rows.append(_legend(height - 8, legend or {}))
    today_line = format_html(
        "<line x1='{x}' x2='{x}' y1='14' y2='{y2}' stroke='{c}' stroke-width='2'/>"
        "<text x='{x}' y='11' text-anchor='middle' font-size='11' {font} fill='{c}'>{t}</text>",
        x=x(today),
        y2=top + row_h * len(spans),  # stops above the legend
        c=PALETTE["vermillion"],
        font=FONT,
        t=today_label,
    )
    desc = "; ".join(
        f"{s.label}: {s.start:%Y-%m-%d} to {(s.extended_to or s.end):%Y-%m-%d}"
        + "".join(f", {text}" for _, _, text in s.marks)
        for s in spans
    )
    return _svg(label_w + plot_w + 10, height, title, desc, "".join(rows) + today_line, cid)


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
