"""Fictional demo data for the fundraising app (called by `manage.py seed_demo`). Idempotent.

Every donor is obviously invented ("Demo Donor ...", @example.org addresses).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from fundraising import services
from fundraising.models import Campaign, Payment, Pledge

SLUG = "north-to-north"
STORY = """\
North Koreans who escape their country face a long and dangerous road. Many are women and \
children who survived violence on the way. In Thailand, they are held in detention in Bangkok \
and cannot settle there.

In 2021 HanVoice and Immigration, Refugees and Citizenship Canada launched a pilot: Canadians \
privately sponsor five North Korean refugee families over two years. Every family is vetted by \
the Government of Canada before it travels.

Sponsor groups welcome each family at the airport, help them find a home, enrol the children in \
school and walk beside them for their first year. Your gift pays for rent, food and start-up \
costs until the family stands on its own.

Gifts support the program as a whole: HanVoice decides how funds are used, and never shares \
anything that could identify a family."""

FIRST = ["Ada", "Ben", "Chloé", "Dae-jung", "Eun-ji", "Farah", "Gil", "Hye-won", "Ivan", "Ji-ho"]
LAST = ["Sample", "Example", "Placeholder", "Testwell"]


@transaction.atomic
def seed() -> Campaign:
    campaign, _created = Campaign.objects.get_or_create(
        slug=SLUG,
        defaults={
            "name": "North to North",
            "goal": Decimal("250000.00"),
            "cost_per_family": Decimal("50000.00"),
            "families_goal": 5,
            "starts_on": dt.date(2026, 1, 1),
            "summary": "Bring five North Korean refugee families to safety in Canada.",
            "story": STORY,
            "suggested_amounts": "25,50,100,250",
        },
    )
    if campaign.pledges.exists():
        return campaign
    rng = random.Random(250000)  # the same demo every time
    today = timezone.localdate()
    for n in range(40):
        name = f"Demo Donor {FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}"
        monthly = n % 3 == 0
        pledged_on = today - dt.timedelta(days=rng.randint(5, 120))
        pledge = services.pledge_create(
            campaign=campaign,
            donor_name=name,
            email=f"demo.donor{n:02d}@example.org",
            address=f"{100 + n} Example Street\nToronto ON M5V 0A{n % 10}",
            amount=Decimal(rng.choice([25, 50, 100, 250, 500, 1000, 5000])),
            frequency=Pledge.Frequency.MONTHLY if monthly else Pledge.Frequency.ONE_TIME,
            months=12 if monthly else 1,
            is_anonymous=n % 5 == 0,
            public_message=rng.choice(["", "", "Welcome home.", "환영합니다!", "Bienvenue !"]),
            consent_to_contact=n % 2 == 0,
            pledged_on=pledged_on,
            send_confirmation=False,
        )
        if n % 4 != 3:  # three in four have paid something
            gifts = 2 if monthly else 1
            for i in range(gifts):
                services.payment_record(
                    pledge=pledge,
                    amount=pledge.amount,
                    received_on=min(today, pledged_on + dt.timedelta(days=3 + 30 * i)),
                    method=rng.choice(["cheque", "etransfer", "cash"]),
                )
        if n % 8 != 7:  # most confirmed their pledge by e-mail; a few still have to
            services.pledge_confirm(token=services.pledge_confirm_token(pledge))
    # Staff reviewed the wall, but for the two newest entries.
    reviewed = Pledge.objects.filter(campaign=campaign, confirmed_at__isnull=False)
    services.pledges_wall_approve(
        pledges=list(reviewed.order_by("created_at")[2:]), approved_by=None
    )
    payments = Payment.objects.filter(campaign=campaign).order_by("received_on", "pk")[:5]
    for payment in payments:
        services.receipt_issue(payment=payment)
    return campaign
