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
from sponsorship.models import Membership, Milestone, PlanArea, Sponsorship

# Sections of the settlement plan, in the order of IRCC's form: each item is in the section
# its `area` names (from the catalogue template, or chosen by the group), never guessed.
SECTIONS: list[tuple[str, str]] = [
    (PlanArea.RECEPTION.value, "Reception"),
    (PlanArea.HOUSING.value, "Housing"),
    (PlanArea.ORIENTATION.value, "Orientation and community"),
    (PlanArea.HEALTH.value, "Health"),
    (PlanArea.EDUCATION.value, "Education"),
    (PlanArea.LANGUAGE.value, "Language"),
    (PlanArea.EMPLOYMENT.value, "Employment"),
    (PlanArea.INCOME_SUPPORT.value, "Income support by month"),
    (PlanArea.OTHER.value, "Other commitments"),
]
# Added after plans had been signed: left out of the hash while empty (see `canonical`).
_NEW_SECTIONS = (PlanArea.INCOME_SUPPORT.value,)


@dataclass
class PlanItem:
    title: str
    due_on: str
    description: str
    # The member who answers for the item, as printed ("" while no one is named).
    responsible: str = ""


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
        data = asdict(self)
        # What the plan gained after versions were signed (a responsible member, the income
        # support section's own items) is left out while empty: a plan that names no one
        # keeps the hash its members signed, and naming someone changes it.
        for key in _NEW_SECTIONS:
            if not data["sections"].get(key):
                data["sections"].pop(key, None)
        for items in data["sections"].values():
            for item in items:
                if not item["responsible"]:
                    del item["responsible"]
        return json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def member_name(user) -> str:
    return user.get_full_name() or user.email


def responsible_text(milestone: Milestone, member_ids: set[int]) -> str:
    """The responsible member as the plan prints it; a member who left the group since is
    still named, as a former member (the item needs someone new)."""
    if milestone.responsible is None:
        return ""
    name = member_name(milestone.responsible)
    return name if milestone.responsible_id in member_ids else f"{name} (former member)"


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
    for key, _label in SECTIONS:
        content.sections[key] = []
    member_ids = set(
        Membership.objects.filter(group_id=sponsorship.group_id).values_list("user_id", flat=True)
    )
    milestones = (
        sponsorship.milestones.exclude(waived_on__isnull=False)
        .select_related("responsible")
        .order_by("due_on", "pk")
    )
    for milestone in milestones:
        content.sections[milestone.area].append(
            PlanItem(
                milestone.title,
                milestone.due_on.isoformat(),
                milestone.description,
                responsible_text(milestone, member_ids),
            )
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
            "Each item names the group member responsible for it; an item with no one named "
            "is the whole group's until a coordinator names someone. "
            f"Content hash (SHA-256): {content.content_hash}",
            styles["Italic"],
        ),
    ]
    for key, label in SECTIONS:
        items = content.sections.get(key, [])
        story += [Spacer(1, 10), _paragraph(label, styles["Heading2"])]
        if items:
            story.append(_items_table(items, styles["BodyText"]))
        elif key != PlanArea.INCOME_SUPPORT:
            story.append(_paragraph("Nothing planned in this section.", styles["Normal"]))
        if key == PlanArea.INCOME_SUPPORT:
            story += _income_support(content, styles)
    doc.build(story)
    return buffer.getvalue()


def _items_table(items: list[PlanItem], style) -> Table:
    rows: list[list] = [["Due", "Item", "Responsible"]]
    for item in items:
        text = item.title + (f" ({item.description})" if item.description else "")
        rows.append(
            [
                item.due_on,
                _paragraph(text, style),
                _paragraph(item.responsible or "Not named yet", style),
            ]
        )
    table = Table(rows, hAlign="LEFT", colWidths=[0.9 * inch, 3.7 * inch, 2.2 * inch])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _income_support(content: PlanContent, styles) -> list:
    story: list = [
        Spacer(1, 6),
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
    return story
