"""Writes to sponsorships: each service sets its transaction boundary, validates with
`full_clean()` and refuses with a `ValidationError` a case worker can act on."""

from __future__ import annotations

import datetime

from django.db import transaction

from sponsorship.dates import add_months
from sponsorship.models import (
    Milestone,
    MilestoneTemplate,
    Review,
    ReviewTemplate,
    Sponsorship,
)


def _has_children(sponsorship: Sponsorship, on: datetime.date) -> bool:
    members = sponsorship.family.members.all()
    return any(m.relationship == "child" or ((m.age_on(on) or 99) < 18) for m in members)


def review_dates(sponsorship: Sponsorship) -> list[tuple[str, datetime.date]]:
    """The review schedule from the ReviewTemplate catalogue and the current support period:
    at month N (the end of month N after arrival), and N days before each period end (the
    original 12 months and the end after each approved extension)."""
    arrival = sponsorship.arrival_date
    if arrival is None:
        return []
    period_ends = [add_months(arrival, 12)]
    running = 12
    for extension in sponsorship.extensions.filter(status="approved").order_by("requested_on"):
        running = min(36, running + extension.months)
        period_ends.append(add_months(arrival, running))
    dates: dict[datetime.date, str] = {}
    for template in ReviewTemplate.objects.filter(is_active=True):
        if template.at_month:
            if template.at_month < sponsorship.committed_months:
                dates.setdefault(add_months(arrival, template.at_month), template.label)
        else:
            for end in period_ends:
                day = end - datetime.timedelta(days=template.days_before_period_end)
                dates.setdefault(day, template.label)
    return sorted(((label, day) for day, label in dates.items()), key=lambda pair: pair[1])


@transaction.atomic
def plan_generate(*, sponsorship: Sponsorship) -> tuple[int, int]:
    """Create the settlement plan (milestones) and review schedule after arrival.

    Idempotent: a milestone per template and a review per date are created once
    (named unique constraints), so calling it again after an extension adds only what
    is new. Returns (milestones created, reviews created).
    """
    arrival = sponsorship.arrival_date
    if arrival is None:
        return (0, 0)
    with_children = _has_children(sponsorship, arrival)
    existing_templates = set(
        sponsorship.milestones.filter(template__isnull=False).values_list("template_id", flat=True)
    )
    milestones = [
        Milestone(
            sponsorship=sponsorship,
            template=template,
            title=template.title,
            description=template.description,
            due_on=arrival + datetime.timedelta(days=template.offset_days),
        )
        for template in MilestoneTemplate.objects.filter(is_active=True)
        if template.pk not in existing_templates
        and (with_children or not template.only_with_children)
    ]
    Milestone.objects.bulk_create(milestones)
    existing_days = set(sponsorship.reviews.values_list("scheduled_for", flat=True))
    reviews = [
        Review(sponsorship=sponsorship, label=label, scheduled_for=day)
        for label, day in review_dates(sponsorship)
        if day not in existing_days
    ]
    Review.objects.bulk_create(reviews)
    return (len(milestones), len(reviews))
