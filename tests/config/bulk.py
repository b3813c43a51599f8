"""Many families at once for query-count tests: bulk_create, no services, no history rows.

Each family has arrived, has an active sponsorship in one of a few groups, two household
members, three milestones (one overdue, one done on time, one ahead), a held and a missed
review, a month of income support and a check-in; the campaign gets a pledge and a payment
per family. Enough to make every panel and report touch every kind of row.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from families.models import Family, HouseholdMember
from fundraising.models import Payment, Pledge
from sponsorship.models import (
    CheckIn,
    Disbursement,
    Milestone,
    Review,
    SponsorGroup,
    Sponsorship,
)
from tests.factories import CampaignFactory, SponsorGroupFactory


def build_program(n: int, *, today: datetime.date, user, prefix: str = "NK-2025") -> list:
    groups = [SponsorGroupFactory(name=f"Bulk Circle {prefix} {i}") for i in range(3)]
    families = Family.objects.bulk_create(
        [
            Family(
                case_code=f"{prefix}-{i:04d}",
                status=Family.Status.ARRIVED,
                vetted_on=today - datetime.timedelta(days=400),
                community="Toronto",
            )
            for i in range(n)
        ]
    )
    HouseholdMember.objects.bulk_create(
        [
            HouseholdMember(
                family=f,
                given_name="Bulkgiven",
                relationship=rel,
                is_principal_applicant=rel == HouseholdMember.Relationship.PRINCIPAL,
            )
            for f in families
            for rel in (HouseholdMember.Relationship.PRINCIPAL, HouseholdMember.Relationship.CHILD)
        ]
    )
    sponsorships = Sponsorship.objects.bulk_create(
        [
            Sponsorship(
                group=groups[i % len(groups)],
                family=f,
                matched_on=today - datetime.timedelta(days=200 + i % 90),
                arrival_date=today - datetime.timedelta(days=150 + i % 90),
            )
            for i, f in enumerate(families)
        ]
    )
    milestones, reviews, money, checkins = [], [], [], []
    for s in sponsorships:
        a = s.arrival_date
        milestones += [
            Milestone(sponsorship=s, title="Permanent housing", due_on=a + datetime.timedelta(42)),
            Milestone(
                sponsorship=s,
                title="Bank account opened",
                due_on=a + datetime.timedelta(3),
                completed_on=a + datetime.timedelta(2),
                completed_by=user,
            ),
            Milestone(sponsorship=s, title="Transition plan", due_on=a + datetime.timedelta(270)),
        ]
        reviews += [
            Review(
                sponsorship=s,
                label="Month 3 review",
                scheduled_for=a + datetime.timedelta(90),
                held_on=a + datetime.timedelta(91),
                outcome=Review.Outcome.ON_TRACK,
                reviewer=user,
            ),
            Review(
                sponsorship=s, label="Month 4 review", scheduled_for=a + datetime.timedelta(120)
            ),
        ]
        money.append(
            Disbursement(
                sponsorship=s,
                month_number=1,
                amount=Decimal("1700.00"),
                paid_on=a,
                method=Disbursement.Method.CHEQUE,
                recorded_by=user,
            )
        )
        checkins.append(
            CheckIn(
                sponsorship=s,
                happened_on=a + datetime.timedelta(10),
                who="Bulk",
                wellbeing=CheckIn.Wellbeing.WELL,
                logged_by=user,
            )
        )
    Milestone.objects.bulk_create(milestones)
    Review.objects.bulk_create(reviews)
    Disbursement.objects.bulk_create(money)
    CheckIn.objects.bulk_create(checkins)
    campaign = CampaignFactory()
    pledges = Pledge.objects.bulk_create(
        [
            Pledge(
                campaign=campaign,
                donor_name=f"Bulk Donor {i}",
                email=f"bulk{i}@example.org",
                amount=Decimal("100.00"),
                pledged_on=today - datetime.timedelta(days=i % 200),
                reference=f"HV-{prefix[-2:]}{i:06d}",
            )
            for i in range(n)
        ]
    )
    Payment.objects.bulk_create(
        [
            Payment(
                campaign=campaign,
                pledge=p,
                donor_name=p.donor_name,
                amount=Decimal("60.00"),
                received_on=p.pledged_on,
                method=Payment.Method.CHEQUE,
            )
            for p in pledges
        ]
    )
    return groups


__all__ = ["build_program", "SponsorGroup"]
