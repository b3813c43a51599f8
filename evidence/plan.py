"""The settlement plan as the document sponsor groups file: built from the live plan
(milestones) and budget, in the sections of the settlement-plan form, rendered as a PDF.

The content hash covers what the group commits to (each item, its date, the income support
by month and its source), not progress: ticking an item off does not ask everyone to sign
again, moving a date or changing the budget does (docs/evidence.md).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.money import format_money
from sponsorship.budget import budget_for
from sponsorship.models import Sponsorship

# Sections of the settlement plan, and words of a plan item's title that place it there.
SECTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("reception", "Reception", ("arrival", "airport", "reception")),
    ("housing", "Housing", ("housing", "rent", "lease", "furniture")),
    ("health", "Health", ("health", "ifhp", "doctor", "dentist", "mental")),
    ("education", "Education", ("school", "education")),
    ("language", "Language", ("language", "linc", "english", "french")),
    ("employment", "Employment", ("employment", "job", "work", "travel loan")),
    (
        "orientation",
        "Orientation and community",
        (
            "bank",
            "social insurance",
            "orientation",
            "settlement",
            "community",
            "transition",
            "social assistance",
            "window",
            "benefit",
        ),
    ),  # fmt: skip
]
OTHER = ("other", "Other commitments")


@dataclass
class PlanItem:
    title: str
    due_on: str
    description: str


@dataclass
class IncomeMonth:
    month: int
    starts_on: str
    amount: str


@dataclass
class PlanContent:
    case_code: str
    group: str
    arrival_date: str
    committed_months: int
    sections: dict[str, list[PlanItem]] = field(default_factory=dict)
    income_support: list[IncomeMonth] = field(default_factory=list)
    income_source: str = ""
    start_up: str = ""
    in_kind: str = ""
    start_up_source: str = ""

    def canonical(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode("utf-8")

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def _section_for(title: str) -> str:
    lowered = title.lower()
    for key, _label, words in SECTIONS:
        if any(word in lowered for word in words):
            return key
    return OTHER[0]


def _money(value: Decimal) -> str:
    return format_money(value, "en")  # the plan PDF is written in English


def plan_content(sponsorship: Sponsorship) -> PlanContent:
    """The plan as it stands: items by section, income support by month with its source."""
    budget = budget_for(sponsorship)
    content = PlanContent(
        case_code=sponsorship.family.case_code,
        group=sponsorship.group.name,
        arrival_date=sponsorship.arrival_date.isoformat() if sponsorship.arrival_date else "",
        committed_months=sponsorship.committed_months,
        income_source=(
            f"{sponsorship.group.name}: the group's own funds "
            f"(financial commitment {_money(sponsorship.group.financial_commitment)}); "
            f"amounts from the sponsorship cost table for a family of {budget.family_size}"
        ),
        # Worded as before the Budget carried in-kind, so signed versions keep their hash.
        start_up=_money(budget.start_up_line),
        in_kind=_money(budget.in_kind_given),
        start_up_source=(
            f"Cash from the group; in-kind gifts count for {_money(budget.start_up_in_kind)} "
            "(they lower start-up support but never replace it)"
        ),
    )
    for key, _label, _words in [*SECTIONS, (*OTHER, ())]:
        content.sections[key] = []
    for milestone in sponsorship.milestones.exclude(waived_on__isnull=False).order_by(
        "due_on", "pk"
    ):
        content.sections[_section_for(milestone.title)].append(
            PlanItem(milestone.title, milestone.due_on.isoformat(), milestone.description)
        )
    content.income_support = [
        IncomeMonth(m.number, m.starts_on.isoformat() if m.starts_on else "", _money(m.planned))
        for m in budget.months
    ]
    return content


def _paragraph(text: str, style) -> Paragraph:
    return Paragraph(escape(text), style)


def plan_pdf(content: PlanContent) -> bytes:
    """The plan as a PDF; `invariant` keeps the bytes a function of the content."""
    buffer = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        title=f"Settlement plan {content.case_code}",
        leftMargin=0.8 * inch,
        rightMargin=0.8 * inch,
        invariant=1,
    )
    story: list = [
        _paragraph(f"Settlement plan · {content.case_code}", styles["Title"]),
        _paragraph(
            f"Sponsor group: {content.group}. Arrival: {content.arrival_date or 'not yet'}. "
            f"Support period: {content.committed_months} months.",
            styles["Normal"],
        ),
        _paragraph(
            "Each item is the sponsor group's responsibility unless HanVoice waives it. "
            f"Content hash (SHA-256): {content.content_hash}",
            styles["Italic"],
        ),
    ]
    for key, label, _words in [*SECTIONS, (*OTHER, ())]:
        items = content.sections.get(key, [])
        story += [Spacer(1, 10), _paragraph(label, styles["Heading2"])]
        if not items:
            story.append(_paragraph("Nothing planned in this section.", styles["Normal"]))
        for item in items:
            text = f"{item.due_on}: {item.title}"
            if item.description:
                text += f" ({item.description})"
            story.append(_paragraph(text, styles["Normal"]))
    story += [
        Spacer(1, 10),
        _paragraph("Income support by month", styles["Heading2"]),
        _paragraph(f"Source: {content.income_source}.", styles["Normal"]),
        _paragraph(
            f"Start-up: {content.start_up}. In-kind given: {content.in_kind}. "
            f"{content.start_up_source}.",
            styles["Normal"],
        ),
    ]
    rows = [["Month", "From", "Amount"]] + [
        [str(m.month), m.starts_on, m.amount] for m in content.income_support
    ]
    table = Table(rows, hAlign="LEFT", colWidths=[0.8 * inch, 1.3 * inch, 1.3 * inch])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
            ]
        )
    )
    story.append(table)
    doc.build(story)
    return buffer.getvalue()
