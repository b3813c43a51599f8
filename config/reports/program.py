"""The program report: families by status, support delivered, milestones and reviews."""

from __future__ import annotations

import datetime

from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from config.reports.base import (
    EXTERNAL,
    INTERNAL,
    MAX_ROWS,
    REPORTS,
    ChartData,
    Report,
    Table,
    delivered_months,
    more_rows_note,
    percent,
    suppress,
)
from families.models import Family
from families.selectors import families_by_status
from sponsorship.models import Milestone, Review, Sponsorship


def program_report(
    *, date_from: datetime.date, date_to: datetime.date, audience: str = INTERNAL
) -> Report:
    """Families by stage, months of support delivered, milestones done on time, reviews held,
    outcomes, for the period. Six queries whatever the number of families."""

    title = str(REPORTS["program"][0])
    report = Report("program", title, date_from, date_to, audience)
    external = audience == EXTERNAL
    period = {"due_on__gte": date_from, "due_on__lte": date_to}

    labels = dict(Family.Status.choices)
    stages = families_by_status()
    report.chart = ChartData(
        _("Families by stage (today)"),
        [(str(labels[s]), suppress(n, audience)) for s, n in stages.items()],
    )
    report.tables.append(
        Table(
            _("Families by stage (today)"),
            [_("Stage"), _("Families")],
            [[str(labels[s]), suppress(n, audience)] for s, n in stages.items()],
        )
    )

    sponsorships = list(
        Sponsorship.objects.with_period()
        .filter(arrival_date__isnull=False, arrival_date__lte=date_to)
        .exclude(ended_on__lt=date_from)
        .select_related("family", "group")
        .order_by("family__case_code")
    )
    by_sponsorship = {
        row["sponsorship"]: row
        for row in Milestone.objects.filter(waived_on__isnull=True, **period)
        .values("sponsorship")
        .annotate(
            due=Count("pk"),
            done=Count("pk", filter=Q(completed_on__isnull=False)),
            on_time=Count("pk", filter=Q(completed_on__lte=F("due_on"))),
        )
        .order_by()
    }
    reviews_by = {
        row["sponsorship"]: row["n"]
        for row in Review.objects.filter(held_on__gte=date_from, held_on__lte=date_to)
        .values("sponsorship")
        .annotate(n=Count("pk"))
        .order_by()
    }
    review_outcomes = dict(
        Review.objects.filter(held_on__gte=date_from, held_on__lte=date_to)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    ended = dict(
        Sponsorship.objects.filter(ended_on__gte=date_from, ended_on__lte=date_to)
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    breakdowns = dict(
        Sponsorship.objects.filter(
            outcome=Sponsorship.Outcome.BREAKDOWN, ended_on__gte=date_from, ended_on__lte=date_to
        )
        .values_list("breakdown_resolution")
        .annotate(n=Count("pk"))
        .order_by()
    )

    months_total = due = done = on_time = reviews = 0
    detail = []
    for s in sponsorships:
        months = delivered_months(s, date_from, date_to)
        m = by_sponsorship.get(s.pk, {"due": 0, "done": 0, "on_time": 0})
        held = reviews_by.get(s.pk, 0)
        months_total += len(months)
        due += m["due"]
        done += m["done"]
        on_time += m["on_time"]
        reviews += held
        if months or m["due"] or held:
            detail.append(
                [
                    s.family.case_code,
                    s.group.name,
                    str(s.get_kind_display()),
                    s.arrival_date,
                    len(months),
                    m["due"],
                    m["done"],
                    m["on_time"],
                    percent(m["on_time"], m["due"], audience),
                    held,
                    str(s.get_outcome_display()),
                ]
            )
            if len(detail) <= MAX_ROWS:  # the rows shown (and downloaded)
                report.family_ids.append(s.family_id)

    report.summary = [
        (_("Families in the program"), suppress(sum(stages.values()), audience)),
        (_("Months of support delivered"), suppress(months_total, audience)),
        (_("Milestones due in the period"), suppress(due, audience)),
        (_("Milestones done"), suppress(done, audience)),
        (_("Milestones done on time"), percent(on_time, due, audience)),
        (_("Reviews held"), suppress(reviews, audience)),
    ]
    outcome_labels = dict(Review.Outcome.choices)
    report.tables.append(
        Table(
            _("Reviews held, by outcome"),
            [_("Outcome"), _("Reviews")],
            [
                [str(label), suppress(review_outcomes.get(key, 0), audience)]
                for key, label in outcome_labels.items()
            ],
        )
    )
    ended_labels = dict(Sponsorship.Outcome.choices)
    report.tables.append(
        Table(
            _("Sponsorships ended in the period, by outcome"),
            [_("Outcome"), _("Sponsorships")],
            [
                [str(label), suppress(ended.get(key, 0), audience)]
                for key, label in ended_labels.items()
                if key != Sponsorship.Outcome.ACTIVE
            ],
        )
    )
    # A breakdown is a process: what happened to the family next (docs/domain.md "Outcomes").
    report.tables.append(
        Table(
            _("Breakdowns in the period, by what happened next"),
            [_("After the breakdown"), _("Sponsorships")],
            [
                [str(label), suppress(breakdowns.get(key, 0), audience)]
                for key, label in Sponsorship.BreakdownResolution.choices
            ],
        )
    )
    report.is_empty = not (months_total or due or reviews or ended)
    if external:
        report.family_ids = []
    else:
        report.tables.append(
            Table(
                _("By sponsorship"),
                [
                    _("Case code"),
                    _("Sponsor group"),
                    _("Kind"),
                    _("Arrived"),
                    _("Months of support"),
                    _("Milestones due"),
                    _("Done"),
                    _("Done on time"),
                    _("On time"),
                    _("Reviews held"),
                    _("Outcome"),
                ],
                detail[:MAX_ROWS],
                note=more_rows_note(len(detail)),
                empty=_("No sponsorship had support, milestones or reviews in this period."),
            )
        )
    return report
