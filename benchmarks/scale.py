"""Bulk benchmark data: families with sponsorships and generated plans, and pledges.

`scale(families=N, pledges=M)` tops the benchmark database up to N families (each arrived,
matched with its own sponsor group whose coordinator can sign in to the portal, with the
settlement plan and review schedule that `plan_generate` would write) and M pledges. It is
incremental, so `make bench` measures at 500 families, then grows the same database to 5,000.

Everything goes through `bulk_create` (a few thousand rows per statement) rather than the
services: the services are what is measured, not what seeds. The plan rows follow exactly the
rules of `sponsorship.services.plan_generate` / `review_dates` for a sponsorship without
extensions. Every name is obviously fictional ("Bench ...", @example.org).

Run on its own: `DATABASE_URL=... python benchmarks/scale.py 5000 20000`.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import uuid
from decimal import Decimal
from pathlib import Path

BATCH = 2000
CODE_PREFIX = "BX"  # case codes BX-<year>-<n>: never collide with the real NK- sequence
SLUG = "north-to-north"


def _setup() -> None:
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def campaign():
    """The public campaign the benchmarks use (the demo one), created when missing."""
    from fundraising.models import Campaign

    found, _created = Campaign.objects.get_or_create(
        slug=SLUG,
        defaults={
            "name": "North to North",
            "goal": Decimal("250000.00"),
            "cost_per_family": Decimal("50000.00"),
            "families_goal": 5,
            "starts_on": dt.date(2026, 1, 1),
            "summary": "Bring five North Korean refugee families to safety in Canada.",
            "story": "Bench campaign text. " * 40,
            "suggested_amounts": "25,50,100,250",
        },
    )
    return found


def staff_user():
    """A program manager (superuser-free: the role group grants the admin)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from core.roles import PROGRAM_MANAGER

    user, created = get_user_model().objects.get_or_create(
        username="bench.manager@example.org",
        defaults={"email": "bench.manager@example.org", "is_staff": True, "first_name": "Bench"},
    )
    if created:
        user.set_unusable_password()
        user.save()
        group, _ = Group.objects.get_or_create(name=PROGRAM_MANAGER)
        user.groups.add(group)
    return user


def _plan_rows(sponsorship, templates, review_templates, with_children: bool):
    # The same rules as plan_generate(), in memory for bulk inserts.
    from sponsorship.models import Milestone, Review
    from sponsorship.period import Period
    from sponsorship.services import milestone_due_on, review_schedule

    arrival = sponsorship.arrival_date
    milestones = [
        Milestone(
            sponsorship=sponsorship,
            template=t,
            title=t.title,
            description=t.description,
            due_on=milestone_due_on(t, arrival),
        )
        for t in templates
        if with_children or not t.only_with_children
    ]
    reviews = [
        Review(sponsorship=sponsorship, label=label, scheduled_for=day)
        for label, day in review_schedule(Period.of(arrival), review_templates)  # no extensions yet
    ]
    return milestones, reviews


def _families(target: int, today: dt.date, rng: random.Random) -> int:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from families.models import Family, HouseholdMember
    from sponsorship.models import (
        Membership,
        Milestone,
        MilestoneTemplate,
        Review,
        ReviewTemplate,
        SponsorGroup,
        Sponsorship,
    )

    have = Family.objects.filter(case_code__startswith=f"{CODE_PREFIX}-").count()
    if have >= target:
        return 0
    templates = list(MilestoneTemplate.objects.filter(is_active=True))
    review_templates = list(ReviewTemplate.objects.filter(is_active=True))
    user_model = get_user_model()
    for start in range(have, target, BATCH // 4):
        numbers = range(start, min(target, start + BATCH // 4))
        with transaction.atomic():
            families = Family.objects.bulk_create(
                Family(
                    case_code=f"{CODE_PREFIX}-2025-{n:05d}",
                    status=Family.Status.ARRIVED,
                    vetted_on=today - dt.timedelta(days=500),
                    community=rng.choice(["Toronto", "Vancouver", "Calgary", "Montréal"]),
                )
                for n in numbers
            )
            children = {f.pk: n % 2 == 0 for n, f in zip(numbers, families, strict=True)}
            members = []
            for family in families:
                members.append(
                    HouseholdMember(
                        family=family,
                        given_name="Bench",
                        relationship=HouseholdMember.Relationship.PRINCIPAL,
                        is_principal_applicant=True,
                    )
                )
                if children[family.pk]:
                    members.append(
                        HouseholdMember(
                            family=family,
                            given_name="Bench child",
                            relationship=HouseholdMember.Relationship.CHILD,
                        )
                    )
            HouseholdMember.objects.bulk_create(members)
            groups = SponsorGroup.objects.bulk_create(
                SponsorGroup(
                    name=f"Bench group {n:05d}",
                    kind=SponsorGroup.Kind.values[0],
                    community=family.community,
                    status=SponsorGroup.Status.ACTIVE,
                    settlement_plan_approved_on=today - dt.timedelta(days=450),
                    financial_commitment=Decimal("30000.00"),
                )
                for n, family in zip(numbers, families, strict=True)
            )
            users = user_model.objects.bulk_create(
                user_model(
                    username=f"bench.sponsor{n:05d}@example.org",
                    email=f"bench.sponsor{n:05d}@example.org",
                    first_name="Bench",
                    last_name=f"Sponsor {n}",
                    password="!",  # unusable: the benchmark signs in through a session
                )
                for n in numbers
            )
            Membership.objects.bulk_create(
                Membership(user=u, group=g, role=Membership.Role.COORDINATOR)
                for u, g in zip(users, groups, strict=True)
            )
            sponsorships = Sponsorship.objects.bulk_create(
                Sponsorship(
                    group=g,
                    family=f,
                    matched_on=today - dt.timedelta(days=420),
                    # Arrivals spread over 14 months: plans in every phase, some due today.
                    arrival_date=today - dt.timedelta(days=rng.randint(0, 420)),
                )
                for g, f in zip(groups, families, strict=True)
            )
            milestones, reviews = [], []
            for s in sponsorships:
                m, r = _plan_rows(s, templates, review_templates, children[s.family_id])
                for milestone in m:  # most past items are done, a few are overdue
                    if milestone.due_on < today - dt.timedelta(days=7) and rng.random() < 0.85:
                        milestone.completed_on = milestone.due_on + dt.timedelta(days=2)
                milestones += m
                reviews += r
            Milestone.objects.bulk_create(milestones, batch_size=BATCH)
            Review.objects.bulk_create(reviews, batch_size=BATCH)
    return target - have


def _pledges(target: int, today: dt.date, rng: random.Random) -> int:
    from fundraising.models import Pledge, new_reference

    camp = campaign()
    have = Pledge.objects.filter(campaign=camp).count()
    if have >= target:
        return 0
    for start in range(have, target, BATCH):
        rows = []
        for n in range(start, min(target, start + BATCH)):
            monthly = n % 4 == 0
            pledged_on = today - dt.timedelta(days=rng.randint(0, 200))
            # Nine in ten confirmed by their donor, as in a running campaign: they count in the
            # totals, and the monthly ones are what the donor reminder sweep works through.
            confirmed = n % 10 != 0
            rows.append(
                Pledge(
                    campaign=camp,
                    reference=new_reference(),
                    donor_name=f"Bench Donor {n}",
                    email=f"bench.donor{n:05d}@example.org",
                    address=f"{n} Example Street\nToronto ON M5V 0A1",
                    amount=Decimal(rng.choice([25, 50, 100, 250, 500])),
                    frequency=Pledge.Frequency.MONTHLY if monthly else Pledge.Frequency.ONE_TIME,
                    months=12 if monthly else 1,
                    is_anonymous=n % 5 == 0,
                    public_message=rng.choice(["", "", "Welcome home.", "환영합니다!"]),
                    pledged_on=pledged_on,
                    confirmed_at=(
                        dt.datetime.combine(pledged_on, dt.time(12), tzinfo=dt.UTC)
                        if confirmed
                        else None
                    ),
                    idempotency_key=uuid.uuid4(),
                )
            )
        Pledge.objects.bulk_create(rows, ignore_conflicts=False)
    return target - have


def scale(*, families: int, pledges: int, seed: int = 2021) -> dict[str, int]:
    """Top the database up to `families` bench families and `pledges` pledges."""
    from django.utils import timezone

    from config import dashboard
    from fundraising import selectors

    today = timezone.localdate()
    rng = random.Random(seed + families)
    staff_user()
    added = {"families": _families(families, today, rng), "pledges": _pledges(pledges, today, rng)}
    selectors.campaign_totals_invalidate(campaign().pk)
    # bulk_create sends no signals: drop the staff dashboard's summary as a save would.
    dashboard.case_figures_changed(sender=None)
    return added


if __name__ == "__main__":
    _setup()
    print(scale(families=int(sys.argv[1]), pledges=int(sys.argv[2])))
