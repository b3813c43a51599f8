"""One Report, three renderings besides the page: CSV and PDF."""

from __future__ import annotations

import datetime
import io

from django.utils.translation import gettext as _

from config.reports.base import ChartData, Report
from core import charts, spreadsheets
from core.charts import PALETTE


def _cell(value) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def report_csv(report: Report) -> str:
    """The report as CSV: the same sections as the page, one after another."""
    out = io.StringIO()
    w = spreadsheets.writer(out)  # neutralises formula-like cells
    w.writerow([report.title])
    w.writerow([_("Period"), report.date_from.isoformat(), report.date_to.isoformat()])
    for label, value in report.filters:
        w.writerow([label, value])
    w.writerow([report.audience_note])
    w.writerow([])
    for label, value in report.summary:
        w.writerow([label, _cell(value)])
    for table in report.tables:
        w.writerow([])
        w.writerow([table.title])
        w.writerow(table.columns)
        for row in table.rows:
            w.writerow([_cell(v) for v in row])
        if not table.rows and table.empty:
            w.writerow([table.empty])
        if table.note:
            w.writerow([table.note])
    return out.getvalue()


def report_pdf(report: Report) -> bytes:
    """The report as PDF (reportlab): the same figures and tables as the page, and the
    chart drawn with reportlab.graphics from the same numbers and the same palette."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import LETTER, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    font, bold = _pdf_fonts(report)
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        if hasattr(style, "fontName"):
            style.fontName = (
                bold if style.name.startswith("Heading") or style.name == "Title" else font
            )
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(LETTER),
        leftMargin=0.6 * inch,
        rightMargin=0.6 * inch,
        topMargin=0.6 * inch,
        bottomMargin=0.6 * inch,
        title=report.title,
        invariant=1,
    )
    story = [
        Paragraph(_esc(report.title), styles["Title"]),
        Paragraph(
            _esc(
                _("Period: %(start)s to %(end)s")
                % {"start": report.date_from.isoformat(), "end": report.date_to.isoformat()}
            ),
            styles["BodyText"],
        ),
    ]
    for label, value in report.filters:
        story.append(Paragraph(_esc(f"{label}: {value}"), styles["BodyText"]))
    story += [Paragraph(_esc(report.audience_note), styles["BodyText"]), Spacer(1, 8)]
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 8),
            ("FONT", (0, 0), (-1, 0), bold, 8),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#6E6E6E")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E9ECEF")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    summary = [[label, _cell(value)] for label, value in report.summary]
    if summary:
        t = PdfTable(summary, hAlign="LEFT")
        t.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 9),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#6E6E6E")),
                ]
            )
        )
        story += [t, Spacer(1, 10)]
    if report.chart is not None and report.chart.points:
        story += [
            Paragraph(_esc(report.chart.title), styles["Heading3"]),
            _pdf_chart(report.chart, font),
        ]
    for table in report.tables:
        story.append(Paragraph(_esc(table.title), styles["Heading3"]))
        if table.rows:
            data = [[Paragraph(_esc(c), small) for c in table.columns]]
            data += [[Paragraph(_esc(_cell(v)), small) for v in row] for row in table.rows]
            widths = [doc.width / len(table.columns)] * len(table.columns)
            t = PdfTable(data, colWidths=widths, hAlign="LEFT", repeatRows=1)
            t.setStyle(grid)
            story.append(t)
        elif table.empty:
            story.append(Paragraph(_esc(table.empty), styles["BodyText"]))
        if table.note:
            story.append(Paragraph(_esc(table.note), small))
        story.append(Spacer(1, 8))
    doc.build(story)
    return buffer.getvalue()


def _esc(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(str(text))


def _pdf_fonts(report: Report) -> tuple[str, str]:
    """Helvetica, unless some text (a translation, a campaign name) needs a CJK font."""
    texts = [report.title, report.audience_note, *[str(v) for pair in report.summary for v in pair]]
    for table in report.tables:
        texts += [str(c) for c in table.columns] + [str(v) for row in table.rows for v in row]
    if all(ord(ch) < 256 for text in texts for ch in text):
        return "Helvetica", "Helvetica-Bold"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    cjk = "HYSMyeongJo-Medium"
    if cjk not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(cjk))
    return cjk, cjk


def _pdf_chart(chart: ChartData, font: str):
    """A bar chart with reportlab.graphics from the chart's numbers (suppressed values are
    drawn as empty bars and named in the axis label)."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    labels = [
        f"{label} ({value})" if isinstance(value, str) else label for label, value in chart.points
    ]
    values = [0 if isinstance(v, str) else float(v) for _label, v in chart.points]
    if chart.vertical:
        drawing = Drawing(680, 190)
        bars = VerticalBarChart()
        bars.x, bars.y, bars.width, bars.height = 50, 35, 610, 140
        bars.categoryAxis.labels.angle = 0
        bars.categoryAxis.labels.fontSize = 7
    else:
        drawing = Drawing(680, max(60, 20 * len(values) + 30))
        bars = HorizontalBarChart()
        bars.x, bars.y, bars.width, bars.height = 200, 15, 440, max(30, 20 * len(values))
        bars.categoryAxis.labels.fontSize = 8
        bars.categoryAxis.reverseDirection = 1
    bars.data = [values]
    bars.categoryAxis.categoryNames = labels
    bars.categoryAxis.labels.fontName = font
    bars.valueAxis.labels.fontName = font
    bars.valueAxis.labels.fontSize = 7
    bars.valueAxis.valueMin = 0
    bars.bars[0].fillColor = colors.HexColor(PALETTE["blue"])
    bars.barLabelFormat = lambda v: charts.value_text(v, money=chart.money)
    bars.barLabels.fontName = font
    bars.barLabels.fontSize = 7
    bars.barLabels.nudge = 8
    drawing.add(bars)
    return drawing
