"""The group monitoring report: per group, plan due vs done, support planned vs paid, check-ins."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, Sum
from django.utils.translation import gettext as _

from config.reports.base import (
    CODES_PER_GROUP,
    EXTERNAL,
    INTERNAL,
    MAX_ROWS,
    REPORTS,
    SUPPRESS_BELOW,
    ChartData,
    Report,
    Table,
    families_money_text,
    group_letter,
    percent,
    suppress,
)
from families.models import HouseholdMember
from sponsorship.budget import budgets_for
from sponsorship.models import CheckIn, Disbursement, Milestone, Sponsorship
from sponsorship.selectors import _count

# --- group monitoring report ----------------------------------------------------------------------


def group_report(
    *,
    date_from: datetime.date,
    date_to: datetime.date,
    audience: str = INTERNAL,
    group=None,
) -> Report:
    """Per sponsor group: settlement plan due vs done, income support planned vs paid,
    check-ins, for the period. Eight queries whatever the number of groups or families."""

    title = str(REPORTS["groups"][0])
    report = Report("groups", title, date_from, date_to, audience)
    external = audience == EXTERNAL
    if group is not None:
        report.filters.append((_("Sponsor group"), _("one group") if external else group.name))

    sponsorships = (
        Sponsorship.objects.with_period()
        .filter(arrival_date__isnull=False, arrival_date__lte=date_to)
        .exclude(ended_on__lt=date_from)
        .select_related("family", "group")
        .annotate(
            member_count=_count(HouseholdMember.objects.filter(family=OuterRef("family")), "family")
        )
        .order_by("group__name", "family__case_code")
    )
    if group is not None:
        sponsorships = sponsorships.filter(group=group)
    sponsorships = list(sponsorships)
    ids = [s.pk for s in sponsorships]
    milestones = {
        row["sponsorship"]: row
        for row in Milestone.objects.filter(
            sponsorship__in=ids, waived_on__isnull=True, due_on__gte=date_from, due_on__lte=date_to
        )
        .values("sponsorship")
        .annotate(
            due=Count("pk"),
            done=Count("pk", filter=Q(completed_on__isnull=False)),
            on_time=Count("pk", filter=Q(completed_on__lte=F("due_on"))),
        )
        .order_by()
    }
    paid = {
        (row["sponsorship"], row["kind"]): row["total"]
        for row in Disbursement.objects.filter(
            sponsorship__in=ids, paid_on__gte=date_from, paid_on__lte=date_to
        )
        .values("sponsorship", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    checkins = {
        row["sponsorship"]: row
        for row in CheckIn.objects.filter(
            sponsorship__in=ids, happened_on__gte=date_from, happened_on__lte=date_to
        )
        .values("sponsorship")
        .annotate(n=Count("pk"), concerns=Count("pk", filter=~Q(concern_level="none")))
        .order_by()
    }
    budgets = budgets_for(sponsorships, date_to)

    groups: dict[int, dict] = {}
    zero = Decimal("0")
    for s in sponsorships:
        g = groups.setdefault(
            s.group_id,
            {
                "name": s.group.name,
                "families": 0,
                "codes": [],
                "due": 0,
                "done": 0,
                "on_time": 0,
                "planned": zero,
                "paid": zero,
                "start_up": zero,
                "start_up_in_kind": zero,
                "checkins": 0,
                "concerns": 0,
            },
        )
        m = milestones.get(s.pk, {"due": 0, "done": 0, "on_time": 0})
        c = checkins.get(s.pk, {"n": 0, "concerns": 0})
        g["families"] += 1
        if len(g["codes"]) < CODES_PER_GROUP:
            g["codes"].append(s.family.case_code)
            report.family_ids.append(s.family_id)
        g["due"] += m["due"]
        g["done"] += m["done"]
        g["on_time"] += m["on_time"]
        last = min(date_to, s.ended_on) if s.ended_on else date_to
        g["planned"] += budgets[s.pk].planned_between(date_from, last)
        g["paid"] += paid.get((s.pk, Disbursement.Kind.INCOME_SUPPORT), zero)
        g["start_up"] += paid.get((s.pk, Disbursement.Kind.START_UP), zero)
        g["start_up_in_kind"] += budgets[s.pk].start_up_in_kind
        g["checkins"] += c["n"]
        g["concerns"] += c["concerns"]

    rows = []
    for index, g in enumerate(groups.values()):
        name = _("Group %(letter)s") % {"letter": group_letter(index)} if external else g["name"]
        row = [name]
        if not external:
            more = g["families"] - len(g["codes"])
            codes = ", ".join(g["codes"])
            row.append(codes + (" " + _("and %(n)s more") % {"n": more} if more else ""))
        row += [
            suppress(g["families"], audience),
            suppress(g["due"], audience),
            suppress(g["done"], audience),
            percent(g["on_time"], g["due"], audience),
            families_money_text(g["planned"], g["families"], audience),
            families_money_text(g["paid"], g["families"], audience),
            families_money_text(g["paid"] - g["planned"], g["families"], audience),
            families_money_text(g["start_up"], g["families"], audience),
            families_money_text(g["start_up_in_kind"], g["families"], audience),
            suppress(g["checkins"], audience),
            suppress(g["concerns"], audience),
        ]
        rows.append(row)
    columns = [_("Sponsor group")]
    if not external:
        columns.append(_("Case codes"))
    columns += [
        _("Families"),
        _("Plan items due"),
        _("Done"),
        _("Done on time"),
        _("Income support planned"),
        _("Income support paid"),
        _("Paid minus planned"),
        _("Start-up paid"),
        _("Start-up in kind"),
        _("Check-ins"),
        _("Check-ins with a concern"),
    ]
    report.tables.append(
        Table(
            _("By sponsor group"),
            columns,
            rows[:MAX_ROWS],
            note=_(
                "Planned income support: the cost table's monthly amount for the family's size, "
                "for each support month that began in the period (a planning estimate; the "
                "legal floor is the RAP rate of the community)."
            ),
            empty=_("No sponsor group had a family in Canada in this period."),
        )
    )
    totals = {k: sum(g[k] for g in groups.values()) for k in ("due", "done", "checkins")}
    planned = sum((g["planned"] for g in groups.values()), zero)
    paid_total = sum((g["paid"] for g in groups.values()), zero)
    all_families = sum(g["families"] for g in groups.values())
    report.summary = [
        (_("Sponsor groups"), suppress(len(groups), audience)),
        (_("Plan items due"), suppress(totals["due"], audience)),
        (_("Plan items done"), suppress(totals["done"], audience)),
        (_("Income support planned"), families_money_text(planned, all_families, audience)),
        (_("Income support paid"), families_money_text(paid_total, all_families, audience)),
        (_("Check-ins"), suppress(totals["checkins"], audience)),
    ]
    report.chart = ChartData(
        _("Income support paid by sponsor group"),
        [
            (row[0], "-" if external and 0 < g["families"] < SUPPRESS_BELOW else g["paid"])
            for row, g in zip(rows, groups.values(), strict=True)
        ],
        money=True,
    )
    report.is_empty = not groups
    if external:
        report.family_ids = []
    return report
