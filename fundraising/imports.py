"""Payments imported from files (docs/fundraising.md): a bank or Interac e-Transfer statement
matched to pledges by their reference (HV-…), and CanadaHelps / Benevity donation exports
recorded as gifts received through a qualified donee (never receipted by HanVoice).

Every import is previewed first (`dry_run`), is all or nothing (one bad row: nothing is
written, every problem is listed with its line), and is idempotent on the source's own
transaction id (`Payment.external_id`): importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fundraising import services
from fundraising.models import Campaign, Payment, Pledge

REFERENCE_RE = re.compile(r"\bHV-?([A-HJ-NP-TW-Z2-9]{4})-?([A-HJ-NP-TW-Z2-9]{4})\b", re.I)

BANK = "bank"
CANADAHELPS = "canadahelps"
BENEVITY = "benevity"


@dataclass(frozen=True)
class Format:
    label: str
    date: str
    amount: str
    transaction: str
    exact_header: bool  # a bank statement we define; donee exports carry more columns
    columns: tuple[str, ...]
    donee: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    description: str = ""


FORMATS = {
    BANK: Format(
        label="Bank / Interac e-Transfer",
        date="date",
        amount="amount",
        transaction="transaction_id",
        description="description",
        exact_header=True,
        columns=("date", "amount", "transaction_id", "description"),
    ),
    CANADAHELPS: Format(
        label="CanadaHelps",
        donee="CanadaHelps",
        date="DONATION DATE",
        amount="AMOUNT",
        transaction="TRANSACTION NUMBER",
        first_name="DONOR FIRST NAME",
        last_name="DONOR LAST NAME",
        email="DONOR EMAIL ADDRESS",
        exact_header=False,
        columns=(
            "TRANSACTION NUMBER",
            "DONATION DATE",
            "DONOR FIRST NAME",
            "DONOR LAST NAME",
            "DONOR EMAIL ADDRESS",
            "AMOUNT",
        ),
    ),
    BENEVITY: Format(
        label="Benevity",
        donee="Benevity",
        date="Donation Date",
        amount="Total Donation to be Acknowledged",
        transaction="Transaction ID",
        first_name="Donor First Name",
        last_name="Donor Last Name",
        email="Email",
        exact_header=False,
        columns=(
            "Transaction ID",
            "Donation Date",
            "Donor First Name",
            "Donor Last Name",
            "Email",
            "Total Donation to be Acknowledged",
        ),
    ),
}


@dataclass
class Row:
    line: int
    external_id: str
    received_on: dt.date
    amount: Decimal
    pledge: Pledge | None = None
    donor_name: str = ""
    donor_email: str = ""


@dataclass
class ImportReport:
    """What an import would do (dry run) or did: rows to record, rows skipped, problems."""

    source: str
    to_record: list[Row] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # already imported, unmatched
    errors: list[tuple[int, str]] = field(default_factory=list)  # any: nothing is written
    recorded: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _date(text: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007 - a date
        except ValueError:
            continue
    return None


def _amount(text: str) -> Decimal | None:
    cleaned = text.strip().replace("$", "").replace(",", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _external_id(source: str, transaction: str) -> str:
    return f"{source}:{transaction.strip()}"


def _read(text: str, fmt: Format, report: ImportReport) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in (reader.fieldnames or [])]
    expected = ", ".join(fmt.columns)
    if fmt.exact_header and header != list(fmt.columns):
        report.errors.append(
            (1, _("The header must be exactly: %(columns)s.") % {"columns": expected})
        )
        return []
    missing = [c for c in fmt.columns if c not in header]
    if missing:
        report.errors.append(
            (
                1,
                _("Columns missing: %(missing)s (expected %(columns)s).")
                % {"missing": ", ".join(missing), "columns": expected},
            )
        )
        return []
    reader.fieldnames = header
    return list(reader)


def payments_import(
    *,
    source: str,
    text: str,
    campaign: Campaign | None = None,
    dry_run: bool = True,
    recorded_by=None,
) -> ImportReport:
    """Check `text` (CSV) and, unless `dry_run` or anything is wrong, record its payments."""
    fmt = FORMATS[source]
    report = ImportReport(source=source)
    if fmt.donee and campaign is None:
        report.errors.append((0, _("Choose the campaign these gifts were made to.")))
        return report
    rows = _read(text, fmt, report)
    seen: set[str] = set()
    today = timezone.localdate()
    for line, data in enumerate(rows, start=2):
        transaction_id = (data.get(fmt.transaction) or "").strip()
        received_on = _date(data.get(fmt.date) or "")
        amount = _amount(data.get(fmt.amount) or "")
        problems = []
        if not transaction_id:
            problems.append(_("no transaction id"))
        elif transaction_id in seen:
            problems.append(
                _("transaction %(id)s appears twice in the file") % {"id": transaction_id}
            )
        if received_on is None:
            problems.append(_("the date is not a date (use YYYY-MM-DD)"))
        elif received_on > today:
            problems.append(_("the date is in the future"))
        if amount is None:
            problems.append(_("the amount is not a number"))
        elif amount <= 0:
            problems.append(_("the amount is zero or negative"))
        if problems or received_on is None or amount is None:  # None: a problem above
            report.errors.append((line, "; ".join(problems)))
            continue
        seen.add(transaction_id)
        external_id = _external_id(source, transaction_id)
        if Payment.objects.filter(external_id=external_id).exists():
            report.skipped.append((line, _("already imported")))
            continue
        row = Row(line=line, external_id=external_id, received_on=received_on, amount=amount)
        if fmt.donee:
            first, last = (
                (data.get(fmt.first_name) or "").strip(),
                (data.get(fmt.last_name) or "").strip(),
            )
            row.donor_name = f"{first} {last}".strip() or _("Anonymous")
            row.donor_email = (data.get(fmt.email) or "").strip()
        else:
            match = REFERENCE_RE.search(data.get(fmt.description) or "")
            reference = f"HV-{match.group(1)}-{match.group(2)}".upper() if match else ""
            row.pledge = Pledge.objects.filter(reference=reference).first() if reference else None
            if row.pledge is None or row.pledge.status == Pledge.Status.CANCELLED:
                why = (
                    _("no open pledge with reference %(ref)s") % {"ref": reference}
                    if reference
                    else _("no HV- reference in the description")
                )
                report.skipped.append((line, why + _(": record it by hand")))
                continue
        report.to_record.append(row)
    if report.errors or dry_run:
        return report
    try:
        with transaction.atomic():
            for row in report.to_record:
                services.payment_record(
                    pledge=row.pledge,
                    campaign=campaign if row.pledge is None else None,
                    amount=row.amount,
                    received_on=row.received_on,
                    method=Payment.Method.DONEE if fmt.donee else Payment.Method.ETRANSFER,
                    method_reference=row.external_id.split(":", 1)[1][:60],
                    donor_name=row.donor_name,
                    donor_email=row.donor_email,
                    external_id=row.external_id,
                    source=services.SOURCE_IMPORT,
                    recorded_by=recorded_by,
                    **({"via_qualified_donee": fmt.donee} if fmt.donee else {}),  # type: ignore[arg-type]  # one optional str keyword
                )
                report.recorded += 1
    except ValidationError as exc:  # e.g. a row imported by someone else meanwhile
        report.recorded = 0
        report.errors.append((0, " ".join(exc.messages)))
    return report
