"""The evidence pack: what a program manager hands IRCC for one sponsorship, as a ZIP with
a PDF summary (plan, budget vs paid by month, milestones, reviews, monitoring, in-kind,
signatures), the settlement plan PDFs (current and signed versions, each checked against
its stored SHA-256) and the documents. Only this sponsorship's family's files are read: every
query below is filtered by the sponsorship or its family (docs/evidence.md)."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from xml.sax.saxutils import escape

from django.db.models import Q
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.money import format_money
from evidence import files
from evidence.models import Document, PlanVersion
from evidence.plan import SECTIONS, plan_content
from evidence.selectors import plan_submissions, signature_statuses
from evidence.services import PlanPdfChanged, plan_version_current, plan_version_pdf
from sponsorship.budget import budget_for
from sponsorship.models import Sponsorship

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")

# The ZIP is written to a temporary file that stays in memory up to this size and moves to
# disk beyond it (tempfile.SpooledTemporaryFile): a sponsorship with many documents is never
# all in RAM. One document at a time is (its decrypted bytes, at most DOCUMENT_MAX_BYTES).
PACK_SPOOL_MAX_BYTES = 4 * 1024 * 1024


def pack_documents(sponsorship: Sponsorship):
    """Clean documents of this sponsorship, and of its family's case file."""
    return (
        Document.objects.servable()
        .filter(family_id=sponsorship.family_id)
        .filter(Q(sponsorship=sponsorship) | Q(case_file_id=sponsorship.family_id))
        .order_by("uploaded_at", "pk")
    )


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    table = Table(rows, hAlign="LEFT", colWidths=[w * inch for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


PlanEntry = tuple[str, PlanVersion, bytes | None]  # path, version, PDF (None: failed its check)


def plan_entries(sponsorship: Sponsorship) -> list[PlanEntry]:
    """The current plan and every version a member signed, each PDF checked against the
    SHA-256 kept when it was made: one that fails is left out and named in the summary."""
    current = plan_version_current(sponsorship=sponsorship)
    versions = PlanVersion.objects.filter(sponsorship=sponsorship).filter(
        Q(pk=current.pk) | Q(acknowledgements__isnull=False)
    )
    entries: list[PlanEntry] = []
    for version in (
        versions.distinct().select_related("sponsorship__family").order_by("created_at", "pk")
    ):
        path = f"plan/settlement-plan-{version.created_at:%Y%m%d}-{version.content_hash[:12]}.pdf"
        try:
            entries.append((path, version, plan_version_pdf(version=version)))
        except PlanPdfChanged:
            entries.append((path, version, None))
    return entries


def summary_pdf(
    sponsorship: Sponsorship,
    entries: list[tuple[str, Document]],
    plans: list[PlanEntry] | None = None,
) -> bytes:
    styles = getSampleStyleSheet()
    small = styles["BodyText"]

    def p(text: str, style=small) -> Paragraph:
        return Paragraph(escape(text), style)

    today = timezone.localdate()
    content = plan_content(sponsorship)
    budget = budget_for(sponsorship)
    version = plan_version_current(sponsorship=sponsorship)
    story: list = [
        p(f"Evidence pack · {content.case_code}", styles["Title"]),
        p(
            f"Sponsor group: {content.group}. Kind: {sponsorship.get_kind_display()}. "
            f"Arrival: {content.arrival_date or 'not yet'}. Support period: "
            f"{content.committed_months} months. Prepared on {today.isoformat()}."
        ),
        Spacer(1, 8),
        p("Settlement plan", styles["Heading2"]),
        p(f"Current version (SHA-256): {version.content_hash}"),
    ]
    for key, label in SECTIONS:
        items = content.sections.get(key, [])
        if items:
            story.append(p(label, styles["Heading4"]))
            story += [
                p(f"{item.due_on}: {item.title}. Responsible: {item.responsible or 'not named'}")
                for item in items
            ]
    rows = [["File", "Content hash", "PDF's SHA-256"]]
    for path, plan_version, data in plans or []:
        check = plan_version.pdf_sha256 if data is not None else "FAILED its integrity check"
        rows.append(
            [
                p(path if data is not None else "not included"),
                p(plan_version.content_hash),
                p(check),
            ]
        )
    if len(rows) > 1:
        story += [p("Settlement plan files in this pack", styles["Heading4"])]
        story.append(_table(rows, [2.0, 2.4, 2.4]))
    rows = [["Submitted to IRCC on", "Plan version (content hash)", "Recorded by", "Recorded on"]]
    for submission in plan_submissions(sponsorship):
        rows.append(
            [
                submission.submitted_on.isoformat(),
                p(submission.version.content_hash),
                p(submission.recorded_by.get_full_name() or submission.recorded_by.email),
                timezone.localtime(submission.recorded_at).date().isoformat(),
            ]
        )
    story += [p("Submissions to IRCC", styles["Heading4"])]
    if len(rows) > 1:
        story.append(_table(rows, [1.3, 2.6, 1.6, 1.0]))
    else:
        story.append(p("Not recorded as submitted to IRCC."))
    story += [Spacer(1, 8), p("Signatures", styles["Heading2"])]
    rows = [["Member", "Role", "Status", "Signed on"]]
    for row in signature_statuses(sponsorship, version, today):
        ack = row.acknowledgement
        rows.append(
            [
                p(ack.typed_name if ack else row.membership.user.email),
                str(row.membership.get_role_display()),
                p(str(row.label)),
                ack.signed_on.isoformat() if ack else "",
            ]
        )
    story.append(_table(rows, [2.2, 1.0, 2.4, 1.0]))

    story += [Spacer(1, 8), p("Income support: planned and paid by month", styles["Heading2"])]
    rows = [["Month", "From", "Planned", "Paid"]]
    rows.append(
        [
            "Start-up in cash",
            "",
            format_money(budget.start_up_planned, "en"),
            format_money(budget.start_up_paid, "en"),
        ]
    )
    if budget.start_up_in_kind:
        rows.append(["Start-up in kind", "", format_money(budget.start_up_in_kind, "en"), "given"])
    for month in budget.months:
        starts = month.starts_on.isoformat() if month.starts_on else ""
        rows.append(
            [
                str(month.number),
                starts,
                format_money(month.planned, "en"),
                format_money(month.paid, "en"),
            ]
        )
    story.append(_table(rows, [0.8, 1.1, 1.2, 1.2]))
    story.append(
        p("In-kind support given (estimated): " + format_money(budget.in_kind_given, "en"))
    )
    rows = [["Item", "Quantity", "Value each", "Donated by", "Given on"]]
    for item in sponsorship.in_kind_items.all():
        rows.append(
            [
                p(item.description),
                str(item.quantity),
                format_money(item.estimated_value, "en"),
                p(item.donated_by),
                item.given_on.isoformat(),
            ]
        )
    if len(rows) > 1:
        story.append(_table(rows, [2.4, 0.7, 0.9, 1.6, 0.9]))

    story += [Spacer(1, 8), p("Milestones", styles["Heading2"])]
    rows = [["Due", "Item", "Status"]]
    for m in sponsorship.milestones.order_by("due_on", "pk"):
        if m.completed_on:
            status = f"done {m.completed_on.isoformat()}"
        elif m.waived_on:
            status = f"waived {m.waived_on.isoformat()}"
        else:
            status = "overdue" if m.due_on < today else "open"
        rows.append([m.due_on.isoformat(), p(m.title), status])
    story.append(_table(rows, [0.9, 4.3, 1.3]))

    story += [Spacer(1, 8), p("Self-sufficiency reviews", styles["Heading2"])]
    rows = [["Review", "Scheduled", "Held", "Outcome"]]
    for r in sponsorship.reviews.order_by("scheduled_for", "pk"):
        held = r.held_on.isoformat() if r.held_on else ""
        rows.append([p(r.label), r.scheduled_for.isoformat(), held, str(r.get_outcome_display())])
    story.append(_table(rows, [2.4, 1.1, 1.1, 1.9]))

    story += [Spacer(1, 8), p("HanVoice monitoring contacts", styles["Heading2"])]
    rows = [["Date", "How", "Concern"]]
    for c in sponsorship.monitoring_contacts.order_by("happened_on", "pk"):
        rows.append(
            [
                c.happened_on.isoformat(),
                str(c.get_kind_display()),
                str(c.get_concern_level_display()),
            ]
        )
    story.append(_table(rows, [1.1, 3.0, 2.4]))

    story += [Spacer(1, 8), p("Documents in this pack", styles["Heading2"])]
    rows = [["File", "Kind", "Evidence of", "Uploaded"]]
    for path, document in entries:
        rows.append(
            [
                p(path),
                str(document.get_kind_display()),
                document.target_label,
                document.uploaded_at.date().isoformat(),
            ]
        )
    story.append(_table(rows, [3.0, 1.1, 1.3, 1.1]))

    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=LETTER, title=f"Evidence pack {content.case_code}", invariant=1
    ).build(story)
    return buffer.getvalue()


def _file_name(index: int, document: Document) -> str:
    stem = _UNSAFE.sub("_", (document.original_name or "").rsplit(".", 1)[0]).strip("._ ")[:60]
    return f"documents/{index:03d}-{document.kind}-{stem or 'file'}.{document.extension}"


def evidence_pack_file(sponsorship: Sponsorship) -> tempfile.SpooledTemporaryFile:
    """The ZIP (summary.pdf, the plan PDFs under plan/, each clean document under
    documents/) in a temporary file, rewound: kept in memory up to PACK_SPOOL_MAX_BYTES,
    on disk beyond. The caller streams and closes it; closing deletes it (it never has a
    name on disk), and so does a failure while it is written."""
    documents = list(pack_documents(sponsorship))
    entries = [(_file_name(i, d), d) for i, d in enumerate(documents, start=1)]
    plans = plan_entries(sponsorship)
    # Not a `with`: the open file is the result, closed by the response that streams it.
    spooled = tempfile.SpooledTemporaryFile(max_size=PACK_SPOOL_MAX_BYTES, suffix=".zip")  # noqa: SIM115
    try:
        with zipfile.ZipFile(spooled, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("summary.pdf", summary_pdf(sponsorship, entries, plans))
            for path, _version, data in plans:
                if data is not None:
                    archive.writestr(path, data)
            for path, document in entries:
                archive.writestr(path, files.read_decrypted(document.blob_name))
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    return spooled
