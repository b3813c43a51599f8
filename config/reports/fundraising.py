"""The fundraising report: pledged, received, receipted, by month and by campaign."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from config.reports.base import (
    EXTERNAL,
    INTERNAL,
    MAX_ROWS,
    REPORTS,
    ChartData,
    Report,
    Table,
    money_text,
    suppress,
)
from core.dates import month_starts
from fundraising.models import Campaign, Payment, Pledge, Receipt
from fundraising.selectors import payments_not_receipted, pledges_unpaid, received_sum


def fundraising_report(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    audience: str = INTERNAL,
    campaign=None,
) -> Report:
    """Money received by month and by campaign, pledged-but-unpaid, receipts issued and not yet
    issued, for the period. A fixed number of queries whatever the number of pledges.
    "Received" is net of refunds (`received_sum`, as on the campaign meter), counted in the
    month the payment was received."""

    title = str(REPORTS["fundraising"][0])
    report = Report("fundraising", title, date_from, date_to, audience)
    external = audience == EXTERNAL
    if campaign is not None:
        report.filters.append((_("Campaign"), campaign.name))
    zero = Decimal("0")

    payments = Payment.objects.filter(received_on__gte=date_from, received_on__lte=date_to)
    if campaign is not None:
        payments = payments.filter(campaign=campaign)
    by_month = {
        row["month"]: (row["total"], row["n"])
        for row in payments.annotate(month=TruncMonth("received_on"))
        .values("month")
        .annotate(total=received_sum(), n=Count("pk"))
        .order_by("month")
    }

    months = month_starts(date_from, date_to) if by_month else []
    month_rows = [
        [
            f"{m:%Y-%m}",
            money_text(by_month.get(m, (zero, 0))[0]),
            suppress(by_month.get(m, (zero, 0))[1], audience),
        ]
        for m in months
    ]
    report.chart = ChartData(
        _("Money received per month"),
        [(f"{m:%b %y}", by_month.get(m, (zero, 0))[0]) for m in months],
        money=True,
        vertical=True,
    )
    report.tables.append(
        Table(
            _("Received by month"),
            [_("Month"), _("Received"), _("Gifts")],
            month_rows,
            empty=_("No money was received in this period."),
        )
    )

    campaigns = Campaign.objects.order_by("-starts_on", "name")
    if campaign is not None:
        campaigns = campaigns.filter(pk=campaign.pk)
    received = {
        row["campaign"]: (row["total"], row["n"])
        for row in payments.values("campaign")
        .annotate(total=received_sum(), n=Count("pk"))
        .order_by()
    }
    pledged = {
        row["campaign"]: (row["total"], row["n"])
        for row in Pledge.objects.filter(pledged_on__gte=date_from, pledged_on__lte=date_to)  # type: ignore[no-redef]  # a values() row, not the model's total
        .exclude(status=Pledge.Status.CANCELLED)
        .values("campaign")
        .annotate(total=Sum(F("amount") * F("months")), n=Count("pk"))
        .order_by()
    }
    campaign_rows = []
    for c in campaigns:
        got, gifts = received.get(c.pk, (zero, 0))
        promised, pledges = pledged.get(c.pk, (zero, 0))
        campaign_rows.append(
            [
                c.name,
                money_text(c.goal),
                money_text(promised),
                suppress(pledges, audience),
                money_text(got),
                suppress(gifts, audience),
            ]
        )
    report.tables.append(
        Table(
            _("By campaign"),
            [
                _("Campaign"),
                _("Goal"),
                _("Pledged in the period"),
                _("Pledges"),
                _("Received in the period"),
                _("Gifts"),
            ],
            campaign_rows,
            empty=_("No campaign yet."),
        )
    )

    unpaid = pledges_unpaid(campaign).filter(pledged_on__gte=date_from, pledged_on__lte=date_to)
    unpaid_totals = unpaid.aggregate(n=Count("pk"), owed_total=Sum("owed"))
    owed = unpaid_totals["owed_total"] or zero
    if not external:
        report.tables.append(
            Table(
                _("Pledged but not yet fully received"),
                [_("Reference"), _("Pledged on"), _("Pledged"), _("Received"), _("Still to come")],
                [
                    [
                        p.reference,
                        p.pledged_on,
                        money_text(p.amount * p.months),
                        money_text(p.paid),  # type: ignore[attr-defined]  # from the queryset's annotate()
                        money_text(p.owed),  # type: ignore[attr-defined]  # from the queryset's annotate()
                    ]
                    for p in unpaid.order_by("pledged_on", "pk")[:MAX_ROWS]
                ],
                note=_("Pledge references only; donors' names stay in the pledge records."),
                empty=_("Every pledge made in this period has been received."),
            )
        )

    receipts = Receipt.objects.filter(issued_on__gte=date_from, issued_on__lte=date_to)
    receipt_counts = receipts.aggregate(
        issued=Count("pk", filter=Q(cancelled_at__isnull=True)),
        cancelled=Count("pk", filter=Q(cancelled_at__isnull=False)),
        eligible=Sum("eligible_amount", filter=Q(cancelled_at__isnull=True)),
    )
    waiting = payments_not_receipted().filter(received_on__gte=date_from, received_on__lte=date_to)
    if campaign is not None:
        waiting = waiting.filter(campaign=campaign)
    waiting_totals = waiting.aggregate(n=Count("pk"), total=Sum("amount"))
    total_received = sum((v[0] for v in by_month.values()), zero)
    gifts_total = sum(v[1] for v in by_month.values())
    report.summary = [
        (_("Received in the period"), money_text(total_received)),
        (_("Gifts received"), suppress(gifts_total, audience)),
        (_("Pledges not yet fully received"), suppress(unpaid_totals["n"], audience)),
        (_("Still to come on those pledges"), money_text(owed)),
        (_("Receipts issued"), suppress(receipt_counts["issued"], audience)),
        (_("Receipts cancelled"), suppress(receipt_counts["cancelled"], audience)),
        (_("Eligible amount receipted"), money_text(receipt_counts["eligible"] or zero)),
        (_("Gifts not yet receipted"), suppress(waiting_totals["n"], audience)),
        (_("Amount not yet receipted"), money_text(waiting_totals["total"] or zero)),
    ]
    report.is_empty = not (
        by_month or unpaid_totals["n"] or receipt_counts["issued"] or receipt_counts["cancelled"]
    )
    return report


# --- CSV and PDF --------------------------------------------------------------------------------
