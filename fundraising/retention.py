"""Retention for donors (settings.RETENTION["donor_years"]; SECURITY.md).

A donor with no pledge and no payment for the retention period is anonymised through
`services.donor_anonymise`: the name, e-mail and address go, amounts and issued receipts stay.
Fundraising stands alone (docs/architecture.md, "The layers"), so this module imports nothing
from the other apps.
"""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from fundraising.models import Payment, Pledge


def years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def donors_due_for_anonymising(*, today: datetime.date, years: int) -> list[str]:
    """E-mail addresses (lower case) of donors with no activity since `today` minus `years`.

    Activity is a pledge made or a payment received after the cut-off, or a pledge still open
    (a monthly pledge being paid is a live relationship whatever its age). Two queries, however
    many donors there are.
    """
    cutoff = years_before(today, years)
    recent_pledge = Pledge.objects.filter(
        Q(pledged_on__gt=cutoff) | Q(status__in=Pledge.OPEN_STATUSES),
        email__iexact=OuterRef("donor"),
    )
    recent_payment = Payment.objects.filter(received_on__gt=cutoff).filter(
        Q(donor_email__iexact=OuterRef("donor")) | Q(pledge__email__iexact=OuterRef("donor"))
    )
    from_pledges = (
        Pledge.objects.exclude(email="")
        .annotate(donor=Lower("email"))
        .filter(~Exists(recent_pledge), ~Exists(recent_payment))
        .values_list("donor", flat=True)
    )
    from_payments = (
        Payment.objects.exclude(donor_email="")
        .annotate(donor=Lower("donor_email"))
        .filter(~Exists(recent_pledge), ~Exists(recent_payment))
        .values_list("donor", flat=True)
    )
    return sorted(set(from_pledges) | set(from_payments))
